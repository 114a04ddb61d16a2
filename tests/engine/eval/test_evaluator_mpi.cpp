// Evaluators under real mpirun: the distributed result equals the local one bit for bit on
// 1, 2, 3 and 4 ranks, and agrees with evaluate_codes.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "common/rng.h"
#include "engine/dist/mpi_cluster.h"
#include "engine/eval/distributed_evaluator.h"
#include "engine/eval/local_evaluator.h"
#include "engine/eval/scoring_set.h"
#include "engine/int8/codes_report.h"
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

    Setup() {
        Rng rng(5);
        Int8Inputs all;
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

} // namespace
} // namespace triseg::engine
