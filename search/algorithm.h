// search::Algorithm: the ask/tell interface every search method implements.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/code_set.h"
#include "engine/core/fitness.h"

namespace triseg::search {

using engine::CodeSet;
using engine::Fitness;
using engine::LayerCodes;

/// An algorithm's saved state: named byte strings (a plain value; the driver stores it).
struct Checkpoint {
    std::map<std::string, std::string> entries;

    bool operator==(const Checkpoint& o) const { return entries == o.entries; }
};

/// One line of an algorithm's own log (a PPO update: losses, entropy), by name.
struct LogRecord {
    std::string kind; ///< "update", ...
    std::map<std::string, double> values;
};

/// A search method as an ask/tell object on plain values. It knows nothing of MPI, files or
/// the network; the driver owns the loop (as libcmaes `optimize()` does):
///
///     auto algo = make_algorithm("ppo", options, {space, seed, generation}); // search/registry.h
///     while (!budget_spent && !algo->finished()) {
///         std::vector<CodeSet> candidates = algo->ask();
///         std::vector<Fitness> scores = evaluator.evaluate(candidates);
///         algo->tell(candidates, scores);          // may tell only a prefix, see tell()
///         if (time_to_checkpoint) { Checkpoint c; algo->save(c); write(c); }
///     }
///
/// Determinism: the same options and seed, and the same fitness values, give the same
/// sequence of candidates on every machine (portable random draws keyed by seed and
/// candidate number); save, load and continue equals an uninterrupted run.
class Algorithm {
public:
    virtual ~Algorithm() = default;

    /// The next generation of candidates (at least one), each valid for the search space.
    virtual std::vector<CodeSet> ask() = 0;

    /// Scores of the first k candidates of the last ask(), k <= asked, in order. Candidates
    /// beyond k are dropped (the driver does this when the budget ends mid-generation).
    /// @throws std::logic_error on a mismatch with the last ask().
    virtual void tell(const std::vector<CodeSet>& candidates,
                      const std::vector<Fitness>& scores) = 0;

    /// The algorithm's own current answer, when it has one (PPO: the greedy codes of the
    /// policy); the driver evaluates it on the held-out set.
    virtual std::optional<CodeSet> proposal() const { return std::nullopt; }

    /// A multi-objective method's current non-dominated set (nsga2: the accuracy-coverage
    /// front); empty for single-objective methods. The driver scores it at the end of the
    /// search and writes front.json.
    virtual std::vector<CodeSet> front() const { return {}; }
    /// The codes the next ask()'s candidates mostly share a prefix with (layer-wise search: the
    /// current best), or nullopt. The driver hands it to the evaluator's prefix cache before
    /// evaluating the generation, so a candidate equal to it in layers 0..k-1 costs the MACs of
    /// blocks k.. only (Evaluator::set_anchor). Called after ask().
    virtual std::optional<CodeSet> anchor() const { return std::nullopt; }
    /// True when the algorithm has nothing more to propose (lloyd, after its one candidate); the
    /// driver then ends the search as if the budget were spent. Iterative methods never finish.
    virtual bool finished() const { return false; }

    /// Log records produced since the last call (then cleared).
    virtual std::vector<LogRecord> take_log() { return {}; }

    /// Writes the complete state (between a tell() and the next ask()). A run resumed from
    /// a state saved after a whole generation repeats the uninterrupted run exactly.
    virtual void save(Checkpoint& checkpoint) const = 0;
    /// Restores a state written by save() of the same algorithm and options.
    /// @throws InputError when the checkpoint is not this algorithm's or is damaged.
    virtual void load(const Checkpoint& checkpoint) = 0;

    /// "ppo", "random", ...
    virtual std::string name() const = 0;
};

} // namespace triseg::search
