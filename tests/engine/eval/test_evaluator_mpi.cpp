// Evaluators under real mpirun: the distributed result equals the local one bit for bit on
// 1, 2, 3 and 4 ranks, and agrees with evaluate_codes; racing equals a serial reference; the
// prefix cache replays from the first changed layer on VGG chains and on graphs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "common/rng.h"
#include "engine/dist/mpi_cluster.h"
#include "engine/eval/distributed_evaluator.h"
#include "engine/eval/local_evaluator.h"
#include "engine/eval/prefix_cache.h"
#include "engine/eval/scoring_set.h"
#include "engine/int8/codes_report.h"
#include "tests/engine/int8/graph_fixture.h"
#include "tests/engine/int8/int8_fixture.h"

namespace triseg::engine {
namespace {

constexpr double kKdTolerance = 1e-12; // same sums, grouped by shard instead of one run
constexpr int64_t kShard = 32;

MpiCluster& world() {
    static MpiCluster cluster;
    return cluster;
}

struct Setup {
    Int8Network net{test::random_int8_model(0.125, 11)};
    ScoringSet reward;
    ScoringSet holdout;
    std::vector<CodeSet> candidates;
    Int8Inputs all; ///< the reward set is images 0..69 of it, the held-out set the rest

    Setup() {
        Rng rng(5);
        all.count = 110;
        all.image_codes = net.input_size();
        all.codes = test::random_codes(all.count * all.image_codes, rng);
        for (int64_t i = 0; i < all.count; ++i) {
            all.labels.push_back(static_cast<int64_t>(rng.uniform_below(10)));
        }
        std::vector<int64_t> first;
        std::vector<int64_t> rest;
        for (int64_t i = 0; i < all.count; ++i) {
            (i < 70 ? first : rest).push_back(i); // 70 = 2 shards of 32 and one of 6
        }
        reward = make_scoring_set(net, select_images(all, first), "reward", "test", 1);
        holdout = make_scoring_set(net, select_images(all, rest), "holdout", "test", 1);
        for (int c = 0; c < 5; ++c) {
            CodeSet s;
            for (int64_t l = 0; l < net.num_layers(); ++l) {
                s.layers.push_back(test::random_valid_codes(rng));
            }
            candidates.push_back(s);
        }
    }
};

Setup& setup() {
    static Setup s;
    return s;
}

TEST(DistributedEvaluator, EqualsTheLocalEvaluatorBitForBitOnAnyRankCount) {
    auto& c = world();
    auto& s = setup();
    DistributedEvaluator dist(c, s.net, s.reward, s.holdout, kShard, 2.0, 1, "test");
    if (!c.is_root()) {
        dist.serve();
        return;
    }
    LocalEvaluator local(s.net, s.reward, s.holdout, kShard, 2.0, 2);
    for (auto role : {ScoringRole::Reward, ScoringRole::Holdout}) {
        for (size_t n : {size_t{1}, size_t{3}, size_t{5}}) {
            const std::vector<CodeSet> batch(s.candidates.begin(), s.candidates.begin() + n);
            const auto got = dist.evaluate(batch, role);
            const auto want = local.evaluate(batch, role);
            ASSERT_EQ(got.size(), n);
            for (size_t i = 0; i < n; ++i) {
                EXPECT_TRUE(got[i] == want[i])
                    << "candidate " << i << " kd " << got[i].kd_loss << " vs " << want[i].kd_loss;
            }
        }
    }
    dist.stop();
}

// With the teacher's point codes in the reward set, every Fitness has its points' mean squared
// distances: the same bits on any rank count, and the values of one compared forward here.
TEST(DistributedEvaluator, PointDistancesDoNotDependOnTheRankCount) {
    auto& c = world();
    auto& s = setup();
    std::vector<int64_t> first;
    for (int64_t i = 0; i < 70; ++i) {
        first.push_back(i);
    }
    const ScoringSet reward =
        make_scoring_set(s.net, select_images(s.all, first), "reward", "test", 1, true);
    ASSERT_EQ(reward.teacher_points.size(), static_cast<size_t>(s.net.num_layers()));
    EXPECT_EQ(reward.teacher_logits, s.reward.teacher_logits);
    DistributedEvaluator dist(c, s.net, reward, s.holdout, kShard, 2.0, 1, "test");
    if (!c.is_root()) {
        dist.serve();
        return;
    }
    LocalEvaluator local(s.net, reward, s.holdout, kShard, 2.0, 2);
    const auto got = dist.evaluate(s.candidates);
    const auto want = local.evaluate(s.candidates);
    const auto plain =
        LocalEvaluator(s.net, s.reward, s.holdout, kShard, 2.0, 1).evaluate(s.candidates);
    std::vector<const uint8_t*> reference;
    for (const auto& t : reward.teacher_points) {
        reference.push_back(t.data());
    }
    for (size_t i = 0; i < s.candidates.size(); ++i) {
        SCOPED_TRACE("candidate " + std::to_string(i));
        EXPECT_TRUE(got[i] == want[i]);
        // The rest of the Fitness is the one without the comparison.
        Fitness without = got[i];
        without.point_mse.clear();
        EXPECT_TRUE(without == plain[i]);
        std::vector<float> logits(static_cast<size_t>(70 * s.net.num_classes()));
        std::vector<int64_t> sq_error;
        s.net.forward_compared(reward.inputs.codes.data(), 70, logits.data(),
                               s.candidates[i].layers, nullptr, reference, sq_error, 1);
        ASSERT_EQ(got[i].point_mse.size(), sq_error.size());
        for (size_t p = 0; p < sq_error.size(); ++p) {
            const auto b = static_cast<int64_t>(p);
            const double scale = s.net.block_tensor(b).quant.scale;
            EXPECT_EQ(got[i].point_mse[p],
                      scale * scale * static_cast<double>(sq_error[p]) /
                          static_cast<double>(70 * s.net.block_output_size(b)));
            EXPECT_GT(got[i].point_mse[p], 0.0) << "point " << p;
        }
    }
    dist.stop();
}

// Extra temperatures: each reward Fitness also has the KD loss at each of them, the same bits
// on any rank count and as a scorer whose own temperature it is.
TEST(DistributedEvaluator, KdAtExtraTemperaturesIsTheKdOfThatTemperature) {
    auto& c = world();
    auto& s = setup();
    DistributedEvaluator dist(c, s.net, s.reward, s.holdout, kShard, 2.0, 1, "test");
    dist.set_reward_temperatures({4.0, 1.0});
    if (!c.is_root()) {
        dist.serve();
        return;
    }
    const auto got = dist.evaluate(s.candidates);
    const auto holdout = dist.evaluate(s.candidates, ScoringRole::Holdout);
    const auto plain =
        LocalEvaluator(s.net, s.reward, s.holdout, kShard, 2.0, 1).evaluate(s.candidates);
    const auto at4 =
        LocalEvaluator(s.net, s.reward, s.holdout, kShard, 4.0, 2).evaluate(s.candidates);
    const auto at1 =
        LocalEvaluator(s.net, s.reward, s.holdout, kShard, 1.0, 3).evaluate(s.candidates);
    for (size_t i = 0; i < s.candidates.size(); ++i) {
        SCOPED_TRACE("candidate " + std::to_string(i));
        ASSERT_EQ(got[i].kd_at.size(), 2u);
        EXPECT_EQ(got[i].kd_at[0], at4[i].kd_loss);
        EXPECT_EQ(got[i].kd_at[1], at1[i].kd_loss);
        EXPECT_NE(got[i].kd_at[0], got[i].kd_at[1]);
        Fitness without = got[i];
        without.kd_at.clear();
        EXPECT_TRUE(without == plain[i]);
        EXPECT_TRUE(holdout[i].kd_at.empty()); // the held-out set keeps its own temperature
    }
    dist.stop();
}

TEST(DistributedEvaluator, BadCodesAreAnErrorOnRootBeforeAnyRankIsInvolved) {
    auto& c = world();
    auto& s = setup();
    DistributedEvaluator dist(c, s.net, s.reward, s.holdout, kShard, 2.0, 1, "test");
    if (!c.is_root()) {
        dist.serve();
        return;
    }
    auto bad = s.candidates[0];
    bad.layers[2].v1 = bad.layers[2].t1; // v1 must exceed t1
    EXPECT_THROW(dist.evaluate({bad}), InputError);
    auto short_set = s.candidates[0];
    short_set.layers.pop_back();
    EXPECT_THROW(dist.evaluate({short_set}), InputError);
    // The other ranks are still serving: a good batch still works.
    EXPECT_EQ(dist.evaluate({s.candidates[1]}).size(), 1u);
    dist.stop();
}

TEST(DistributedEvaluator, BadCodesNameWhoseCodesAndTheModelsLayer) {
    auto& c = world();
    auto& s = setup();
    DistributedEvaluator dist(c, s.net, s.reward, s.holdout, kShard, 2.0, 1, "test");
    if (!c.is_root()) {
        dist.serve();
        return;
    }
    const std::string layer = s.net.model().convs[2].name;
    auto bad = s.candidates[0];
    bad.layers[2].v1 = bad.layers[2].t1; // v1 must exceed t1
    const auto message = [](const auto& fn) {
        try {
            fn();
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no InputError");
    };
    const std::string got = message([&] { dist.evaluate({bad}); });
    EXPECT_EQ(got.rfind("a candidate's codes of layer " + layer + " (", 0), 0u) << got;
    const std::string anchor = message([&] { dist.set_anchor(bad); });
    EXPECT_EQ(anchor.rfind("the anchor's codes of layer " + layer + " (", 0), 0u) << anchor;
    dist.stop();
}

TEST(LocalEvaluator, AgreesWithEvaluateCodesAndDoesNotDependOnThreads) {
    auto& s = setup();
    LocalEvaluator one(s.net, s.reward, s.holdout, kShard, 2.0, 1);
    LocalEvaluator three(s.net, s.reward, s.holdout, kShard, 2.0, 3);
    const auto a = one.evaluate(s.candidates);
    EXPECT_TRUE(a == three.evaluate(s.candidates));
    const auto names = test::layer_names(s.net.model());
    for (size_t i = 0; i < s.candidates.size(); ++i) {
        const auto r = evaluate_codes(s.net, s.reward.inputs, names, s.candidates[i], 2.0, 1);
        EXPECT_NEAR(a[i].kd_loss, r.kd_loss(), kKdTolerance);
        EXPECT_EQ(a[i].acc_student, r.acc_student());
        EXPECT_EQ(a[i].acc_teacher, r.acc_teacher());
        EXPECT_EQ(a[i].agreement, r.stats.agreement());
        EXPECT_EQ(a[i].images, 70);
        int64_t total = 0;
        double changed = 0.0;
        double covered = 0.0;
        for (const auto& l : r.layers) {
            total += l.total;
            changed += l.changed * static_cast<double>(l.total);
            covered += l.covered * static_cast<double>(l.total);
        }
        EXPECT_NEAR(a[i].coverage, changed / static_cast<double>(total), 1e-12);
        EXPECT_GT(a[i].coverage, 0.0);
        EXPECT_NEAR(a[i].covered, covered / static_cast<double>(total), 1e-12);
        EXPECT_GT(a[i].covered, a[i].coverage); // zeros and unchanged codes <= tmax count too
        EXPECT_LE(a[i].covered, 1.0);
    }
}

// MACs of one image's full forward from the layer shapes, counted independently of
// Int8Network: a 3x3 conv (padding 1) does out*in*9 MACs per output position.
int64_t full_macs_per_image(const Int8Network& net) {
    const auto& m = net.model();
    int64_t side = m.model.image_size;
    int64_t macs = m.classifier.in_features * m.classifier.out_features;
    for (const auto& l : m.convs) {
        macs += l.out_channels * l.in_channels * 9 * side * side;
        side /= l.pool_after ? 2 : 1;
    }
    return macs;
}

// Candidates that share the first k layers with `anchor`, for every k in 0..layers (k ==
// layers: the anchor itself), and the block each one replays from.
std::vector<CodeSet>
prefix_candidates(const CodeSet& anchor, Rng& rng, std::vector<int64_t>& from) {
    std::vector<CodeSet> out;
    const auto layers = anchor.layers.size();
    for (size_t k = 0; k <= layers; ++k) {
        CodeSet c = anchor;
        for (size_t l = k; l < layers; ++l) {
            do {
                c.layers[l] = test::random_valid_codes(rng);
            } while (l == k && c.layers[l] == anchor.layers[l]);
        }
        out.push_back(c);
        from.push_back(k < layers ? static_cast<int64_t>(k) : static_cast<int64_t>(layers) - 1);
    }
    return out;
}

Fitness without_macs(Fitness f) {
    f.macs = 0;
    return f;
}

TEST(Evaluator, CountsTheMacsOfFullForwardsFromTheLayerShapes) {
    auto& s = setup();
    LocalEvaluator local(s.net, s.reward, s.holdout, kShard, 2.0, 2);
    const int64_t per_image = full_macs_per_image(s.net);
    EXPECT_EQ(s.net.forward_macs(), per_image);
    EXPECT_EQ(local.full_forward_macs(ScoringRole::Reward), 70 * per_image);
    EXPECT_EQ(local.anchor_macs(), 0); // no prefix cache
    for (const auto& f : local.evaluate(s.candidates)) {
        EXPECT_EQ(f.macs, 70 * per_image);
    }
    for (const auto& f : local.evaluate(s.candidates, ScoringRole::Holdout)) {
        EXPECT_EQ(f.macs, 40 * per_image);
    }
    int64_t suffix = s.net.classifier_macs();
    for (int64_t b = s.net.num_layers() - 1; b >= 0; --b) {
        EXPECT_EQ(s.net.forward_from_macs(b), suffix) << "block " << b;
        suffix += s.net.conv_macs(b);
    }
    EXPECT_EQ(suffix, per_image);
}

TEST(PrefixCache, ReplayingTheSuffixGivesTheFullForwardsFitnessWithSuffixMacs) {
    auto& s = setup();
    constexpr int64_t kCap = int64_t{1} << 30;
    LocalEvaluator full(s.net, s.reward, s.holdout, kShard, 2.0, 1);
    LocalEvaluator cached(s.net, s.reward, s.holdout, kShard, 2.0, 3, kCap);
    EXPECT_EQ(cached.anchor_macs(), cached.full_forward_macs(ScoringRole::Reward));
    Rng rng(77);
    for (int round = 0; round < 3; ++round) { // three anchors: a new one drops the cache
        const CodeSet anchor = s.candidates[static_cast<size_t>(round)];
        cached.set_anchor(anchor);
        std::vector<int64_t> from;
        auto batch = prefix_candidates(anchor, rng, from);
        batch.push_back(s.candidates[4]); // unrelated: replays from its first differing layer
        from.push_back(0);
        for (size_t l = 0; l < anchor.layers.size(); ++l) {
            if (batch.back().layers[l] != anchor.layers[l]) {
                from.back() = static_cast<int64_t>(l);
                break;
            }
        }
        const auto want = full.evaluate(batch);
        const auto got = cached.evaluate(batch);
        ASSERT_EQ(got.size(), batch.size());
        for (size_t i = 0; i < batch.size(); ++i) {
            EXPECT_TRUE(without_macs(got[i]) == without_macs(want[i]))
                << "round " << round << " candidate " << i << " kd " << got[i].kd_loss << " vs "
                << want[i].kd_loss;
            EXPECT_EQ(got[i].macs, 70 * s.net.forward_from_macs(from[i])) << "candidate " << i;
            EXPECT_LT(got[i].macs, want[i].macs);
        }
        // The held-out set never uses the cache.
        EXPECT_TRUE(cached.evaluate(batch, ScoringRole::Holdout) ==
                    full.evaluate(batch, ScoringRole::Holdout));
    }
    cached.set_anchor(std::nullopt);
    EXPECT_TRUE(cached.evaluate(s.candidates) == full.evaluate(s.candidates));
}

TEST(PrefixCache, IsOffWhenTheSetDoesNotFitItsCap) {
    auto& s = setup();
    PrefixCache probe(s.net, s.reward, kShard, 1);
    EXPECT_FALSE(probe.enabled());
    LocalEvaluator small(s.net, s.reward, s.holdout, kShard, 2.0, 1, probe.block_bytes() - 1);
    LocalEvaluator fits(s.net, s.reward, s.holdout, kShard, 2.0, 1, probe.block_bytes());
    EXPECT_EQ(small.anchor_macs(), 0);
    EXPECT_GT(fits.anchor_macs(), 0);
    small.set_anchor(s.candidates[0]);
    fits.set_anchor(s.candidates[0]);
    const auto a = small.evaluate({s.candidates[0]});
    const auto b = fits.evaluate({s.candidates[0]});
    EXPECT_EQ(a[0].macs, 70 * s.net.forward_macs());
    EXPECT_EQ(b[0].macs, 70 * s.net.classifier_macs());
    EXPECT_TRUE(without_macs(a[0]) == without_macs(b[0]));
}

TEST(PrefixCache, FillsOnlyTheShardsItReplays) {
    auto& s = setup();
    PrefixCache cache(s.net, s.reward, kShard, int64_t{1} << 30);
    CandidateScorer scorer(s.net, s.reward, kShard, 2.0);
    cache.set_anchor(s.candidates[0]);
    EXPECT_EQ(cache.filled_shards(), 0);
    scorer.score_units({s.candidates[0]}, 1, 2, 1, &cache); // shard 1 only
    EXPECT_EQ(cache.filled_shards(), 1);
    scorer.score_units({s.candidates[0]}, 0, 3, 1, &cache);
    EXPECT_EQ(cache.filled_shards(), 3);
    cache.set_anchor(s.candidates[0]); // the same anchor keeps its shards
    EXPECT_EQ(cache.filled_shards(), 3);
    cache.set_anchor(s.candidates[1]);
    EXPECT_EQ(cache.filled_shards(), 0);
}

TEST(DistributedEvaluator, PrefixCacheResultsAndMacsDoNotDependOnTheRankCount) {
    auto& c = world();
    auto& s = setup();
    constexpr int64_t kCap = int64_t{1} << 30;
    DistributedEvaluator dist(c, s.net, s.reward, s.holdout, kShard, 2.0, 1, "test", kCap);
    if (!c.is_root()) {
        dist.serve();
        return;
    }
    LocalEvaluator local(s.net, s.reward, s.holdout, kShard, 2.0, 2, kCap);
    Rng rng(78);
    for (int round = 0; round < 3; ++round) {
        const CodeSet anchor = s.candidates[static_cast<size_t>(round % 2)]; // back and forth
        dist.set_anchor(anchor);
        local.set_anchor(anchor);
        std::vector<int64_t> from;
        const auto batch = prefix_candidates(anchor, rng, from);
        const auto got = dist.evaluate(batch);
        const auto want = local.evaluate(batch);
        ASSERT_EQ(got.size(), batch.size());
        for (size_t i = 0; i < batch.size(); ++i) {
            EXPECT_TRUE(got[i] == want[i]) << "round " << round << " candidate " << i;
        }
        EXPECT_TRUE(dist.evaluate(batch, ScoringRole::Holdout) ==
                    local.evaluate(batch, ScoringRole::Holdout));
    }
    dist.set_anchor(std::nullopt);
    local.set_anchor(std::nullopt);
    EXPECT_TRUE(dist.evaluate(s.candidates) == local.evaluate(s.candidates));
    dist.stop();
}

/// A residual (0) or MobileNetV2-like (1) graph with a reward set of 40 images (shards of 16:
/// 16, 16, 8), a held-out set of 20, and random candidates.
struct GraphSetup {
    static constexpr int64_t kGraphShard = 16;
    Int8Network net;
    ScoringSet reward;
    ScoringSet holdout;
    std::vector<CodeSet> candidates;

    explicit GraphSetup(int which)
        : net(which == 0 ? test::random_resnet_graph(21) : test::random_mobilenet_graph(22)) {
        Rng rng(static_cast<uint64_t>(31 + which));
        Int8Inputs all;
        all.count = 60;
        all.image_codes = net.input_size();
        all.codes = test::random_codes(all.count * all.image_codes, rng);
        for (int64_t i = 0; i < all.count; ++i) {
            all.labels.push_back(static_cast<int64_t>(rng.uniform_below(10)));
        }
        std::vector<int64_t> first;
        std::vector<int64_t> rest;
        for (int64_t i = 0; i < all.count; ++i) {
            (i < 40 ? first : rest).push_back(i);
        }
        reward = make_scoring_set(net, select_images(all, first), "reward", "test", 1);
        holdout = make_scoring_set(net, select_images(all, rest), "holdout", "test", 1);
        for (int c = 0; c < 3; ++c) {
            CodeSet codes;
            for (int64_t l = 0; l < net.num_layers(); ++l) {
                codes.layers.push_back(test::random_valid_codes(rng));
            }
            candidates.push_back(codes);
        }
    }
};

GraphSetup& graph_setup(int which) {
    static GraphSetup resnet(0);
    static GraphSetup mobilenet(1);
    return which == 0 ? resnet : mobilenet;
}

class GraphPrefixCache : public ::testing::TestWithParam<int> {};

TEST_P(GraphPrefixCache, StoresTheOtherLiveTensorsAndCountsThemInItsBytes) {
    auto& s = graph_setup(GetParam());
    int64_t per_image = 0;
    for (int64_t b = 0; b < s.net.num_layers(); ++b) {
        per_image += s.net.block_output_size(b);
    }
    int64_t others = 0;
    for (int32_t t : s.net.live_non_points()) {
        others += s.net.graph().tensors[static_cast<size_t>(t)].size();
    }
    // The MobileNet's block input crosses its expansion and depthwise points; the ResNet's
    // skips are all points.
    EXPECT_EQ(others > 0, GetParam() == 1);
    PrefixCache cache(s.net, s.reward, GraphSetup::kGraphShard, int64_t{1} << 30);
    EXPECT_EQ(cache.block_bytes(), 40 * (per_image + others));
    PrefixCache tight(s.net, s.reward, GraphSetup::kGraphShard, cache.block_bytes() - 1);
    EXPECT_FALSE(tight.enabled());
}

TEST_P(GraphPrefixCache, EveryCandidateScoresAsAFullForwardFromItsFirstChangedLayer) {
    auto& s = graph_setup(GetParam());
    constexpr int64_t kCap = int64_t{1} << 30;
    const int64_t shard = GraphSetup::kGraphShard;
    LocalEvaluator full(s.net, s.reward, s.holdout, shard, 2.0, 1);
    LocalEvaluator cached(s.net, s.reward, s.holdout, shard, 2.0, 3, kCap);
    PrefixCache probe(s.net, s.reward, shard, kCap);
    Rng rng(90 + static_cast<uint64_t>(GetParam()));
    int crossed = 0;
    for (int round = 0; round < 2; ++round) {
        const CodeSet anchor = s.candidates[static_cast<size_t>(round)];
        cached.set_anchor(anchor);
        probe.set_anchor(anchor);
        std::vector<int64_t> from;
        const auto batch = prefix_candidates(anchor, rng, from);
        const auto want = full.evaluate(batch);
        const auto got = cached.evaluate(batch);
        ASSERT_EQ(got.size(), batch.size());
        for (size_t i = 0; i < batch.size(); ++i) {
            EXPECT_EQ(probe.replay_block(batch[i]), from[i]) << "candidate " << i;
            EXPECT_TRUE(without_macs(got[i]) == without_macs(want[i]))
                << "round " << round << " candidate " << i << " kd " << got[i].kd_loss << " vs "
                << want[i].kd_loss;
            EXPECT_EQ(got[i].macs, 40 * s.net.forward_from_macs(from[i])) << "candidate " << i;
            EXPECT_LT(got[i].macs, want[i].macs);
            crossed += s.net.replayable(from[i]) ? 0 : 1;
        }
    }
    EXPECT_GT(crossed, 0) << "some candidates replay from a point a skip crosses";
    cached.set_anchor(std::nullopt);
    EXPECT_TRUE(cached.evaluate(s.candidates) == full.evaluate(s.candidates));
}

TEST_P(GraphPrefixCache, ResultsAndMacsDoNotDependOnTheRankCount) {
    auto& c = world();
    auto& s = graph_setup(GetParam());
    constexpr int64_t kCap = int64_t{1} << 30;
    const int64_t shard = GraphSetup::kGraphShard;
    DistributedEvaluator dist(c, s.net, s.reward, s.holdout, shard, 2.0, 1, "test", kCap);
    if (!c.is_root()) {
        dist.serve();
        return;
    }
    LocalEvaluator local(s.net, s.reward, s.holdout, shard, 2.0, 2, kCap);
    LocalEvaluator plain(s.net, s.reward, s.holdout, shard, 2.0, 1);
    Rng rng(95);
    for (int round = 0; round < 2; ++round) {
        const CodeSet anchor = s.candidates[static_cast<size_t>(round)];
        dist.set_anchor(anchor);
        local.set_anchor(anchor);
        std::vector<int64_t> from;
        const auto batch = prefix_candidates(anchor, rng, from);
        const auto got = dist.evaluate(batch);
        const auto want = local.evaluate(batch);
        const auto off = plain.evaluate(batch);
        ASSERT_EQ(got.size(), batch.size());
        for (size_t i = 0; i < batch.size(); ++i) {
            EXPECT_TRUE(got[i] == want[i]) << "round " << round << " candidate " << i;
            EXPECT_TRUE(without_macs(got[i]) == without_macs(off[i]))
                << "round " << round << " candidate " << i;
        }
    }
    dist.stop();
}

INSTANTIATE_TEST_SUITE_P(ResNetAndMobileNet, GraphPrefixCache, ::testing::Values(0, 1));

// Racing against a reference built here from plain evaluations: each rung's scores are a
// LocalEvaluator's on a reward set of the first rung-boundary images (the same shards, added in
// the same order), and the selection is redone here. 70 reward images = 3 shards of 32.
TEST(DistributedEvaluator, RacingEqualsASerialReferenceOnAnyRankCount) {
    auto& c = world();
    auto& s = setup();
    DistributedEvaluator dist(c, s.net, s.reward, s.holdout, kShard, 2.0, 1, "test");
    if (!c.is_root()) {
        dist.serve();
        return;
    }
    const auto loss = [](const Fitness& f) { return f.kd_loss; };
    for (const int64_t eta : {2, 3}) {
        Racing racing;
        racing.eta = eta;
        racing.first_shards = 1;
        const std::vector<int64_t> rungs = racing.rungs(3);
        ASSERT_EQ(rungs, eta == 2 ? (std::vector<int64_t>{1, 2, 3}) : (std::vector<int64_t>{1, 3}));
        const auto got = dist.evaluate_raced(s.candidates, racing, loss);
        ASSERT_EQ(got.size(), s.candidates.size());

        std::vector<size_t> alive{0, 1, 2, 3, 4};
        std::vector<Fitness> want(alive.size());
        for (const int64_t b : rungs) {
            std::vector<int64_t> images;
            for (int64_t i = 0; i < std::min<int64_t>(70, b * kShard); ++i) {
                images.push_back(i);
            }
            const ScoringSet part =
                make_scoring_set(s.net, select_images(s.all, images), "reward", "test", 1);
            LocalEvaluator local(s.net, part, s.holdout, kShard, 2.0, 2);
            std::vector<CodeSet> batch;
            for (size_t i : alive) {
                batch.push_back(s.candidates[i]);
            }
            const auto scores = local.evaluate(batch);
            for (size_t j = 0; j < alive.size(); ++j) {
                want[alive[j]] = scores[j];
            }
            std::vector<size_t> order(alive.size());
            for (size_t j = 0; j < order.size(); ++j) {
                order[j] = j;
            }
            std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t z) {
                return scores[a].kd_loss < scores[z].kd_loss;
            });
            order.resize(static_cast<size_t>(racing.keep(static_cast<int64_t>(alive.size()))));
            std::sort(order.begin(), order.end());
            std::vector<size_t> next;
            for (size_t j : order) {
                next.push_back(alive[j]);
            }
            alive = next;
        }
        for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_TRUE(got[i] == want[i])
                << "eta " << eta << " candidate " << i << ": kd " << got[i].kd_loss << " on "
                << got[i].images << " images, want " << want[i].kd_loss << " on " << want[i].images;
        }
        // The survivors' scores are exactly those of a plain evaluation on every image.
        const auto full = dist.evaluate(s.candidates);
        int64_t survivors = 0;
        int64_t raced_macs = 0;
        int64_t full_macs = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            raced_macs += got[i].macs;
            full_macs += full[i].macs;
            if (got[i].images == 70) {
                ++survivors;
                EXPECT_TRUE(got[i] == full[i]) << "survivor " << i;
            }
        }
        EXPECT_EQ(survivors, 2); // eta 2: 5 -> 3 -> 2; eta 3: 5 -> 2
        EXPECT_LT(raced_macs, full_macs);
    }
    dist.stop();
}

TEST(Racing, RungsAndKeptCounts) {
    Racing r;
    r.eta = 4;
    r.first_shards = 2;
    EXPECT_EQ(r.rungs(64), (std::vector<int64_t>{2, 8, 32, 64}));
    EXPECT_EQ(r.rungs(1), (std::vector<int64_t>{1}));
    EXPECT_EQ(r.rungs(8), (std::vector<int64_t>{2, 8}));
    EXPECT_EQ(r.keep(20), 5);
    EXPECT_EQ(r.keep(3), 1);
    EXPECT_EQ(r.keep(1), 1);
    r.eta = 0;
    EXPECT_THROW(r.rungs(8), ConfigError);
}

TEST(DistributedEvaluator, RequestsCarryTheAnchor) {
    auto& s = setup();
    const auto layers = s.net.num_layers();
    ScoringRole role = ScoringRole::Holdout;
    std::optional<CodeSet> anchor;
    auto got = decode_request(
        encode_request(s.candidates, ScoringRole::Reward, layers, s.candidates[2]), role, &anchor);
    EXPECT_TRUE(got == s.candidates);
    EXPECT_EQ(role, ScoringRole::Reward);
    ASSERT_TRUE(anchor.has_value());
    EXPECT_TRUE(*anchor == s.candidates[2]);
    got = decode_request(encode_request(s.candidates, ScoringRole::Holdout, layers), role, &anchor);
    EXPECT_EQ(role, ScoringRole::Holdout);
    EXPECT_FALSE(anchor.has_value());
    ShardRange shards;
    got = decode_request(
        encode_request(s.candidates, ScoringRole::Reward, layers, std::nullopt, {1, 3}), role,
        &anchor, &shards);
    EXPECT_EQ(shards.begin, 1);
    EXPECT_EQ(shards.end, 3);
    auto bytes = encode_request(s.candidates, ScoringRole::Reward, layers, s.candidates[2]);
    bytes.pop_back();
    EXPECT_THROW(decode_request(bytes, role, &anchor), MpiError);
}

} // namespace
} // namespace triseg::engine
