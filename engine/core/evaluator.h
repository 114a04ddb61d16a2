// Evaluator: batch scoring of candidate code sets (pagmo-style batch fitness).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/code_set.h"
#include "engine/core/fitness.h"

namespace triseg::engine {

/// Which set of images to score on.
enum class ScoringRole {
    Reward, ///< the reward set the search optimizes on
    Holdout ///< the held-out evaluation subset for periodic checks and the final selection
};

/// Scores batches of candidates. Implementations: LocalEvaluator (this process) and
/// DistributedEvaluator (every rank of a Cluster). Results do not depend on the
/// implementation, the number of ranks or threads: they are bit-identical.
class Evaluator {
public:
    virtual ~Evaluator() = default;

    /// One Fitness per candidate, in order.
    /// @throws InputError for a candidate with invalid codes or the wrong number of layers.
    virtual std::vector<Fitness> evaluate(const std::vector<CodeSet>& candidates,
                                          ScoringRole role = ScoringRole::Reward) = 0;

    /// Images in the set of `role`.
    virtual int64_t images(ScoringRole role) const = 0;
};

} // namespace triseg::engine
