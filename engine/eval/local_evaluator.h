// LocalEvaluator: scores every candidate in this process.
#pragma once

#include "engine/core/evaluator.h"
#include "engine/eval/candidate_scorer.h"

namespace triseg::engine {

/// Scores all work units here with `threads` OpenMP threads (images in parallel).
class LocalEvaluator final : public Evaluator {
public:
    /// `net` and the sets must outlive the evaluator. `prefix_cache_bytes`: the cap of the
    /// reward set's PrefixCache (0: no prefix cache).
    LocalEvaluator(const Int8Network& net,
                   const ScoringSet& reward,
                   const ScoringSet& holdout,
                   int64_t shard_images,
                   double temperature,
                   int threads,
                   int64_t prefix_cache_bytes = 0);

    std::vector<Fitness> evaluate(const std::vector<CodeSet>& candidates,
                                  ScoringRole role = ScoringRole::Reward) override;
    int64_t images(ScoringRole role) const override;
    void set_anchor(const std::optional<CodeSet>& anchor) override;
    /// Temperatures at which each reward-set Fitness also has its KD loss (Fitness::kd_at;
    /// CandidateScorer::set_extra_temperatures).
    void set_reward_temperatures(std::vector<double> temperatures) {
        reward_.set_extra_temperatures(std::move(temperatures));
    }
    int64_t anchor_macs() const override;
    int64_t full_forward_macs(ScoringRole role) const override;

private:
    CandidateScorer reward_;
    CandidateScorer holdout_;
    int threads_;
    PrefixCache cache_;
};

} // namespace triseg::engine
