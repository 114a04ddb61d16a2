// The search's reward set and held-out subset: which images, in which order, and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "common/error.h"
#include "common/rng.h"
#include "common/rng_streams.h"
#include "engine/eval/scoring_sets.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

using test::expect_error;

ScoringSetsOptions
options(int64_t reward, ImageSplit rs, int64_t eval, ImageSplit es, uint64_t seed) {
    ScoringSetsOptions o;
    o.reward_images = reward;
    o.reward_split = rs;
    o.eval_images = eval;
    o.eval_split = es;
    o.seed = seed;
    return o;
}

std::vector<int64_t> iota(int64_t first, int64_t n) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), first);
    return v;
}

TEST(ScoringSets, OneSplitGivesDisjointSetsFromOnePermutation) {
    const auto t = ImageSplit::Train;
    const auto im = choose_scoring_images(options(30, t, 50, t, 7), 100, 40);
    ASSERT_EQ(im.reward.size(), 30u);
    ASSERT_EQ(im.holdout.size(), 50u);
    std::set<int64_t> all(im.reward.begin(), im.reward.end());
    all.insert(im.holdout.begin(), im.holdout.end());
    EXPECT_EQ(all.size(), 80u); // disjoint, no repeats
    EXPECT_LT(*all.rbegin(), 100);
    // The reward set is the head of the permutation, the held-out subset what follows.
    auto perm = iota(0, 100);
    Rng(7, rng_streams::kScoringImages).shuffle(perm);
    EXPECT_EQ(im.reward, std::vector<int64_t>(perm.begin(), perm.begin() + 30));
    EXPECT_EQ(im.holdout, std::vector<int64_t>(perm.begin() + 30, perm.begin() + 80));
    EXPECT_NE(im.reward, iota(0, 30)); // shuffled
    EXPECT_EQ(im.reward_source,
              "train split, 30 images at positions 0..29 of a permutation seeded with "
              "runtime.seed 7");
    EXPECT_EQ(im.holdout_source,
              "train split, 50 images at positions 30..79 of a permutation seeded with "
              "runtime.seed 7");
}

TEST(ScoringSets, TheTestSplitIsUsedInFileOrder) {
    const auto tr = ImageSplit::Train;
    const auto te = ImageSplit::Test;
    auto im = choose_scoring_images(options(10, te, 20, te, 3), 100, 40);
    EXPECT_EQ(im.reward, iota(0, 10));
    EXPECT_EQ(im.holdout, iota(10, 20));
    EXPECT_EQ(im.reward_source, "test split, 10 images at positions 0..9 in file order");
    EXPECT_EQ(im.holdout_source, "test split, 20 images at positions 10..29 in file order");
    // Different splits: the held-out subset starts at the beginning of its own split.
    im = choose_scoring_images(options(10, tr, 20, te, 3), 100, 40);
    EXPECT_EQ(im.holdout, iota(0, 20));
    EXPECT_EQ(im.holdout_source, "test split, 20 images at positions 0..19 in file order");
    im = choose_scoring_images(options(10, te, 20, tr, 3), 100, 40);
    EXPECT_EQ(im.reward, iota(0, 10));
    auto perm = iota(0, 100);
    Rng(3, rng_streams::kScoringImages).shuffle(perm);
    EXPECT_EQ(im.holdout, std::vector<int64_t>(perm.begin(), perm.begin() + 20));
}

TEST(ScoringSets, ThePermutationDependsOnTheSeedOnly) {
    const auto t = ImageSplit::Train;
    const auto a = choose_scoring_images(options(20, t, 10, t, 11), 200, 40);
    const auto b = choose_scoring_images(options(5, t, 25, t, 11), 200, 7);
    // Other counts, same seed: the same permutation, cut elsewhere.
    std::vector<int64_t> pa = a.reward;
    pa.insert(pa.end(), a.holdout.begin(), a.holdout.end());
    std::vector<int64_t> pb = b.reward;
    pb.insert(pb.end(), b.holdout.begin(), b.holdout.end());
    EXPECT_EQ(pa, pb);
    EXPECT_EQ(choose_scoring_images(options(20, t, 10, t, 11), 200, 40).reward, a.reward);
    EXPECT_NE(choose_scoring_images(options(20, t, 10, t, 12), 200, 40).reward, a.reward);
}

TEST(ScoringSets, TooFewImagesNameTheKeyAndTheCounts) {
    const auto tr = ImageSplit::Train;
    const auto te = ImageSplit::Test;
    expect_error<ConfigError>(
        [&] { choose_scoring_images(options(100, tr, 50, tr, 0), 120, 40); },
        {"`search.eval_images` = 50 needs 150 images of the train split, which has 120 (the "
         "reward set takes the first 100)"});
    expect_error<ConfigError>(
        [&] { choose_scoring_images(options(41, te, 5, tr, 0), 120, 40); },
        {"`search.reward_images` = 41 needs 41 images of the test split, which has 40"});
    expect_error<ConfigError>(
        [&] { choose_scoring_images(options(10, tr, 41, te, 0), 120, 40); },
        {"`search.eval_images` = 41 needs 41 images of the test split, which has 40"});
    // Exactly enough is fine.
    EXPECT_NO_THROW(choose_scoring_images(options(100, tr, 20, tr, 0), 120, 40));
}

TEST(ScoringSets, OptionsOutOfRangeNameTheirKey) {
    const auto t = ImageSplit::Train;
    expect_error<ConfigError>([&] { options(0, t, 5, t, 0).validate(); },
                              {"search.reward_images", "got 0"});
    expect_error<ConfigError>([&] { options(5, t, 0, t, 0).validate(); },
                              {"search.eval_images", "got 0"});
    expect_error<ConfigError>([&] { choose_scoring_images(options(5, t, -1, t, 0), 100, 10); },
                              {"search.eval_images"});
}

} // namespace
} // namespace triseg::engine
