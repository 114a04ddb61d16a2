// Reward set and held-out subset construction.
#include "engine/eval/scoring_sets.h"

#include "common/error.h"
#include "common/option_checks.h"
#include "common/rng.h"
#include "common/rng_streams.h"
#include "engine/int8/int8_inputs.h"

namespace triseg::engine {

namespace {

constexpr const char* kRewardKey = "search.reward_images";
constexpr const char* kEvalKey = "search.eval_images";

/// The order images of `split` are taken in.
std::vector<int64_t> split_order(ImageSplit split, int64_t count, uint64_t seed) {
    std::vector<int64_t> idx(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        idx[static_cast<size_t>(i)] = i;
    }
    if (split == ImageSplit::Train) { // the training set is ordered by nothing useful
        Rng(seed, rng_streams::kScoringImages).shuffle(idx);
    }
    return idx;
}

/// Positions skip .. skip+n-1 of the split's order. @throws ConfigError when it is too short.
std::vector<int64_t> take(ImageSplit split,
                          int64_t count,
                          uint64_t seed,
                          int64_t skip,
                          int64_t n,
                          const std::string& key) {
    const auto idx = split_order(split, count, seed);
    TRISEG_CHECK(skip + n <= static_cast<int64_t>(idx.size()), ConfigError,
                 "`" << key << "` = " << n << " needs " << skip + n << " images of the "
                     << split_name(split) << " split, which has " << idx.size()
                     << (skip > 0 ? " (the reward set takes the first " + std::to_string(skip) + ")"
                                  : std::string()));
    return {idx.begin() + skip, idx.begin() + skip + n};
}

std::string describe(ImageSplit split, int64_t first, int64_t n, uint64_t seed) {
    return split_name(split) + " split, " + std::to_string(n) + " images at positions " +
           std::to_string(first) + ".." + std::to_string(first + n - 1) +
           (split == ImageSplit::Train
                ? " of a permutation seeded with runtime.seed " + std::to_string(seed)
                : std::string(" in file order"));
}

} // namespace

void ScoringSetsOptions::validate() const {
    detail::check_range<int64_t>(kRewardKey, reward_images, 1, 1000000);
    detail::check_range<int64_t>(kEvalKey, eval_images, 1, 1000000);
}

ScoringImages
choose_scoring_images(const ScoringSetsOptions& opts, int64_t train_count, int64_t test_count) {
    opts.validate();
    auto count = [&](ImageSplit s) { return s == ImageSplit::Train ? train_count : test_count; };
    // Reward images come first from their split's order, held-out images next: disjoint.
    const int64_t skip = opts.eval_split == opts.reward_split ? opts.reward_images : 0;
    ScoringImages out;
    out.reward = take(opts.reward_split, count(opts.reward_split), opts.seed, 0, opts.reward_images,
                      kRewardKey);
    out.holdout =
        take(opts.eval_split, count(opts.eval_split), opts.seed, skip, opts.eval_images, kEvalKey);
    out.reward_source = describe(opts.reward_split, 0, opts.reward_images, opts.seed);
    out.holdout_source = describe(opts.eval_split, skip, opts.eval_images, opts.seed);
    return out;
}

ScoringSets make_scoring_sets(const Int8Network& net,
                              const io::DatasetSplits& data,
                              const io::BatchLoaderOptions& loader,
                              const ScoringSetsOptions& opts,
                              int threads) {
    const auto images = choose_scoring_images(opts, data.train.count, data.test.count);
    auto inputs = [&](ImageSplit split, const std::vector<int64_t>& chosen, const char* key) {
        const auto& set = split == ImageSplit::Train ? data.train : data.test;
        return quantize_dataset(net, set.subset(chosen, std::string("[") + key + "]"), loader);
    };
    ScoringSets out;
    out.reward = make_scoring_set(net, inputs(opts.reward_split, images.reward, kRewardKey),
                                  "reward", images.reward_source, threads, opts.reward_points);
    out.holdout = make_scoring_set(net, inputs(opts.eval_split, images.holdout, kEvalKey),
                                   "holdout", images.holdout_source, threads);
    return out;
}

} // namespace triseg::engine
