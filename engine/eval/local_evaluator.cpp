// LocalEvaluator.
#include "engine/eval/local_evaluator.h"

namespace triseg::engine {

LocalEvaluator::LocalEvaluator(const Int8Network& net,
                               const ScoringSet& reward,
                               const ScoringSet& holdout,
                               int64_t shard_images,
                               double temperature,
                               int threads,
                               int64_t prefix_cache_bytes)
    : reward_(net, reward, shard_images, temperature),
      holdout_(net, holdout, shard_images, temperature), threads_(threads),
      cache_(net, reward, shard_images, prefix_cache_bytes) {}

std::vector<Fitness> LocalEvaluator::evaluate(const std::vector<CodeSet>& candidates,
                                              ScoringRole role) {
    const auto& scorer = role == ScoringRole::Reward ? reward_ : holdout_;
    const int64_t units = static_cast<int64_t>(candidates.size()) * scorer.shards();
    PrefixCache* cache = role == ScoringRole::Reward ? &cache_ : nullptr;
    return scorer.reduce(scorer.score_units(candidates, 0, units, threads_, cache),
                         static_cast<int64_t>(candidates.size()));
}

int64_t LocalEvaluator::images(ScoringRole role) const {
    return (role == ScoringRole::Reward ? reward_ : holdout_).set().count();
}

void LocalEvaluator::set_anchor(const std::optional<CodeSet>& anchor) {
    cache_.set_anchor(anchor);
}

int64_t LocalEvaluator::anchor_macs() const {
    return cache_.enabled() ? full_forward_macs(ScoringRole::Reward) : 0;
}

int64_t LocalEvaluator::full_forward_macs(ScoringRole role) const {
    const auto& scorer = role == ScoringRole::Reward ? reward_ : holdout_;
    return scorer.set().count() * scorer.net().forward_macs();
}

} // namespace triseg::engine
