// RandomSearch: uniform random valid codes, the simplest baseline.
#pragma once

#include <cstdint>

#include "search/algorithm.h"
#include "search/code_space.h"

namespace triseg::search {

struct MethodEntry;

/// Draws every candidate independently and uniformly (per layer, in the order t1, t2, v1, v2,
/// each uniform over its range given the earlier picks). Candidate i uses Rng(seed, i), so
/// the sequence depends only on the seed, and the state is one counter.
class RandomSearch final : public Algorithm {
public:
    /// @throws ConfigError when `space` is invalid or generation < 1.
    RandomSearch(CodeSpace space, uint64_t seed, int64_t generation);

    std::vector<CodeSet> ask() override;
    void tell(const std::vector<CodeSet>& candidates, const std::vector<Fitness>& scores) override;
    void save(Checkpoint& checkpoint) const override;
    void load(const Checkpoint& checkpoint) override;
    std::string name() const override { return "random"; }

    /// Candidate number i of this seed.
    CodeSet candidate(int64_t i) const;

private:
    CodeSpace space_;
    uint64_t seed_;
    int64_t generation_;
    int64_t next_ = 0;  ///< candidates told so far
    int64_t asked_ = 0; ///< size of the pending ask()
};

/// The registry entry "random" (no options section).
MethodEntry random_method();

} // namespace triseg::search
