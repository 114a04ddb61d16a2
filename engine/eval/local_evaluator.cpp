// LocalEvaluator.
#include "engine/eval/local_evaluator.h"

namespace triseg::engine {

LocalEvaluator::LocalEvaluator(const Int8Network& net,
                               const ScoringSet& reward,
                               const ScoringSet& holdout,
                               int64_t shard_images,
                               double temperature,
                               int threads)
    : reward_(net, reward, shard_images, temperature),
      holdout_(net, holdout, shard_images, temperature), threads_(threads) {}

std::vector<Fitness> LocalEvaluator::evaluate(const std::vector<CodeSet>& candidates,
                                              ScoringRole role) {
    const auto& scorer = role == ScoringRole::Reward ? reward_ : holdout_;
    const int64_t units = static_cast<int64_t>(candidates.size()) * scorer.shards();
    return scorer.reduce(scorer.score_units(candidates, 0, units, threads_),
                         static_cast<int64_t>(candidates.size()));
}

int64_t LocalEvaluator::images(ScoringRole role) const {
    return (role == ScoringRole::Reward ? reward_ : holdout_).set().count();
}

} // namespace triseg::engine
