// PagmoSearch: a pagmo2 algorithm behind the ask/tell interface (a replay bridge).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "search/algorithm.h"
#include "search/allocation_space.h"
#include "search/code_space.h"

namespace triseg::search {

struct MethodEntry;
struct PagmoMethodSpec; // search/pagmo_spec.h (includes pagmo)

/// How a pagmo method sees the codes.
enum class PagmoEncoding {
    /// 4 numbers in [0, 1] per layer, decoded in sampling order (CodeSpace::decode_relative).
    Relative,
    /// 4 integers per layer in CodeSpace's union bounds, repaired to the nearest valid codes
    /// (CodeSpace::decode); all dimensions are integer for pagmo (get_nix).
    Integer,
    /// As Integer, with each layer's tmax first: (tmax, t1, t2, v1, v2), tmax in a range; the
    /// layer's codes are repaired in the space of its own tmax.
    IntegerTmax,
};

/// A pagmo2 algorithm (pagmo::sga, cmaes, gaco, ...) as an ask/tell object, without threads:
///
///     boundary = (algorithm, population) after the last whole pagmo generation; log = []
///     ask():  replay: copy the boundary and call evolve(population) for one generation; the
///             problem's fitness / batch_fitness answers from the log in call order, and at
///             the first request the log cannot answer it records the requested vectors and
///             aborts evolve (a private exception). Return those vectors' codes.
///             When evolve returns, its result becomes the boundary and the log is cleared.
///     tell(): append the scores (of a prefix of the asked candidates) to the log.
///
/// Algorithms with a batch evaluator (gaco, pso_gen, nsga2: set_bfe(member_bfe)) ask for a
/// whole generation at once; the others (sga, cmaes, de) for one candidate at a time. The first
/// population is ours: `search.init` codes (when given) as individual 0, the rest drawn with
/// Rng(seed, kPagmoInit), asked as one batch. pagmo's own random draws come from the
/// std::mt19937 inside the algorithm (seeded from Rng(seed, kPagmoSeeds)), which is part of the
/// saved state, so the same seed and fitness values give the same candidates.
/// The fitness is {-reward()} (the KD loss, plus the penalty of a coverage target; minimized),
/// or {kd_loss, -covered} for two objectives.
///
/// Checkpoint entries: `pagmo/method` (the name), `pagmo/boundary` (a Boost.Serialization
/// binary archive of the pagmo::algorithm and pagmo::population at the boundary, RNG state
/// included) and `pagmo/log` (the vectors asked since the boundary and the fitness told).
/// A save between any tell() and the next ask() resumes exactly, mid-generation too.
class PagmoSearch final : public Algorithm {
public:
    /// @throws ConfigError when the space, the options or `generation` (>= 1; unused
    /// otherwise: pagmo's population size decides the batch) are invalid.
    /// With `allocation` the method searches one tmax per layer (search.space: allocation):
    /// relative methods see a position in [0, 1] per layer, integer ones (gaco, nsga2) the
    /// integer tmax in [tmax_min, tmax_max]; the first population is `init` (when given), the
    /// uniform-tmax Lloyd-Max points at 7 tmax values spread over the range, then random
    /// allocations. In the codes space, `starts` follow `init` in the first population
    /// (nsga2: the uniform-tmax Lloyd-Max points), replacing random individuals.
    PagmoSearch(const PagmoMethodSpec& spec,
                CodeSpace space,
                uint64_t seed,
                int64_t generation,
                std::optional<CodeSet> init,
                std::shared_ptr<const AllocationSpace> allocation = nullptr,
                std::vector<CodeSet> starts = {});
    ~PagmoSearch() override;

    std::vector<CodeSet> ask() override;
    void tell(const std::vector<CodeSet>& candidates, const std::vector<Fitness>& scores) override;
    void save(Checkpoint& checkpoint) const override;
    void load(const Checkpoint& checkpoint) override;
    std::string name() const override;

    /// Two objectives: the non-dominated set of the boundary population (distinct codes,
    /// sorted by KD loss); one objective: empty.
    std::vector<CodeSet> front() const override;
    /// The non-dominated set of the current population (one objective: its best), as distinct
    /// codes with their fitness vectors, sorted; empty before the first population. When all
    /// of a generation's fitness values are told, that generation's selection is included.
    std::vector<std::pair<CodeSet, std::vector<double>>> front_points() const;
    /// Whole pagmo generations completed (the first population counts as one).
    int64_t generations() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The registry entries of the pagmo methods.
MethodEntry sga_method();
MethodEntry cmaes_method();
MethodEntry gaco_method();
MethodEntry pso_gen_method();
MethodEntry de_method();
MethodEntry nsga2_method();

} // namespace triseg::search
