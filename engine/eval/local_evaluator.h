// LocalEvaluator: scores every candidate in this process.
#pragma once

#include "engine/core/evaluator.h"
#include "engine/eval/candidate_scorer.h"

namespace triseg::engine {

/// Scores all work units here with `threads` OpenMP threads (images in parallel).
class LocalEvaluator final : public Evaluator {
public:
    /// `net` and the sets must outlive the evaluator.
    LocalEvaluator(const Int8Network& net,
                   const ScoringSet& reward,
                   const ScoringSet& holdout,
                   int64_t shard_images,
                   double temperature,
                   int threads);

    std::vector<Fitness> evaluate(const std::vector<CodeSet>& candidates,
                                  ScoringRole role = ScoringRole::Reward) override;
    int64_t images(ScoringRole role) const override;

private:
    CandidateScorer reward_;
    CandidateScorer holdout_;
    int threads_;
};

} // namespace triseg::engine
