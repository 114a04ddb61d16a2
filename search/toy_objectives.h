// Objectives with a known optimum, for testing and benchmarking search algorithms in seconds.
#pragma once

#include <cstdint>
#include <vector>

#include "search/algorithm.h"
#include "search/code_space.h"

namespace triseg::search {

/// A synthetic per-layer "sensitivity": layer l costs w_l * squared distance of its codes to
/// a target (a valid code of the space), scaled so a random code costs about 1 per layer.
/// kd_loss = sum over layers; the optimum (0) is the target. Accuracy is reported as
/// 100 - kd_loss so that drop-based selection can be exercised too.
class SensitivityObjective {
public:
    /// Targets and weights are drawn from Rng(seed, rng_streams::kToyObjective).
    SensitivityObjective(CodeSpace space, uint64_t seed);

    Fitness operator()(const CodeSet& codes) const;
    std::vector<Fitness> operator()(const std::vector<CodeSet>& codes) const;
    const CodeSet& optimum() const { return target_; }
    /// Whether each Fitness also carries the layers' costs as its point_mse (as a scoring set
    /// with the teacher's point codes gives its points' distances); off by default.
    void set_point_costs(bool on) { point_costs_ = on; }

private:
    CodeSpace space_;
    CodeSet target_;
    std::vector<double> weights_;
    bool point_costs_ = false;
};

} // namespace triseg::search
