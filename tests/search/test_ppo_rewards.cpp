// PPO's rewards from the points' feature distances: ppo.layer_reward (per-layer reward) and
// ppo.align (feature alignment) with ppo.align_points, on the toy objective whose per-layer
// costs stand in for the distances; their options, their effect and exact resumes.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/error.h"
#include "search/ppo_search.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

using namespace triseg::search::testing;

const CodeSpace kSpace{6, 32};

std::unique_ptr<Algorithm> ppo(uint64_t seed, const PpoOptions& o, const PpoInputs& in = {}) {
    return std::make_unique<PpoSearch>(kSpace, seed, 4, o, std::nullopt, nullptr, in);
}

PpoOptions small() {
    PpoOptions o;
    o.update_transitions = 18; // an update every three episodes
    return o;
}

SensitivityObjective with_costs() {
    SensitivityObjective f(kSpace, 7);
    f.set_point_costs(true);
    return f;
}

PpoInputs named() {
    PpoInputs in;
    in.layer_names = {"conv1",          "layer1.0.conv1", "layer1.0.out",
                      "layer2.0.conv1", "layer2.0.out",   "fc_in"};
    return in;
}

TEST(PpoRewards, BadOptionsAreConfigErrorsNamingTheKeyOrThePoint) {
    auto expect_error = [](PpoOptions o, const PpoInputs& in, const std::string& needle) {
        try {
            PpoSearch p(kSpace, 0, 4, o, std::nullopt, nullptr, in);
            FAIL() << needle;
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    PpoOptions o;
    o.layer_reward = -0.5;
    expect_error(o, {}, "ppo.layer_reward");
    o = {};
    o.align = -1.0;
    expect_error(o, {}, "ppo.align");
    o = {};
    o.align_points = "conv1";
    expect_error(o, named(), "`ppo.align` is 0");
    o.align = 1.0;
    o.align_points = "conv1, layer3.0.out";
    expect_error(o, named(), "'layer3.0.out', which is not a point");
    o.align_points = "conv1,conv1";
    expect_error(o, named(), "'conv1' twice");
    o.align_points = "conv1,";
    expect_error(o, named(), "''");
}

TEST(PpoRewards, AlignPointsAreTheNamedPointsOrEveryPoint) {
    PpoOptions o;
    o.align = 1.0;
    EXPECT_EQ(ppo_align_points(o, named().layer_names, 6),
              (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
    o.align_points = " layer2.0.out,conv1 ";
    EXPECT_EQ(ppo_align_points(o, named().layer_names, 6), (std::vector<int32_t>{4, 0}));
}

TEST(PpoRewards, ScoresWithoutPointDistancesAreAnErrorWhenAnOptionNeedsThem) {
    PpoOptions o = small();
    o.layer_reward = 1.0;
    auto a = ppo(1, o);
    const SensitivityObjective plain(kSpace, 7);
    const auto c = a->ask();
    EXPECT_THROW(a->tell(c, plain(c)), ConfigError);
}

TEST(PpoRewards, AlignmentOnEveryPointKeepsTheRankingOfTheKdReward) {
    // The toy's KD is the sum of its layer costs, so with the costs as point distances the
    // aligned reward is -(1 + align) KD: the same ranks, the same ranked search.
    const auto f = with_costs();
    PpoOptions ranked = small();
    ranked.reward = "ranked";
    PpoOptions aligned = ranked;
    aligned.align = 1.0;
    auto a = ppo(3, ranked);
    auto b = ppo(3, aligned);
    const auto ha = run_history(*a, f, 24);
    EXPECT_TRUE(ha == run_history(*b, f, 24));
    // On a subset of the points the ranking, and so the search, changes.
    PpoOptions part = aligned;
    part.align = 50.0;
    part.align_points = "layer1.0.out,layer2.0.out";
    auto c = ppo(3, part, named());
    EXPECT_FALSE(ha == run_history(*c, f, 24));
}

TEST(PpoRewards, EachOptionChangesTheSearchAndResumesExactly) {
    const auto f = with_costs();
    auto base = ppo(5, small());
    const auto plain = run_history(*base, f, 24);
    PpoOptions layer = small();
    layer.layer_reward = 2.0;
    PpoOptions align = small();
    align.align = 0.5;
    align.align_points = "conv1,layer2.0.conv1";
    PpoOptions both = layer;
    both.align = 0.5;
    for (const auto& o : {layer, align, both}) {
        SCOPED_TRACE("layer_reward " + std::to_string(o.layer_reward) + ", align " +
                     std::to_string(o.align));
        auto a = ppo(5, o, named());
        EXPECT_FALSE(plain == run_history(*a, f, 24));
        // 8 episodes (two generations) = 48 transitions: two updates, 12 in the buffer.
        expect_resume_equal([&] { return ppo(5, o, named()); }, f, 8, 12);
    }
}

TEST(PpoRewards, TheLayerRewardLearnsTheToyFasterThanTheSharedReward) {
    // Per-layer credit: each layer's transition sees its own cost. Mean KD of the last 100 of
    // 600 episodes, 3 seeds each; the shared reward only sees the sum.
    const auto f = with_costs();
    double shared = 0.0;
    double own = 0.0;
    for (uint64_t seed : {11, 12, 13}) {
        PpoOptions o;
        o.lr = 3e-3;
        auto a = ppo(seed, o);
        const auto ha = run_history(*a, f, 600);
        shared += mean_loss(ha, 500, 600);
        o.layer_reward = 1.0;
        auto b = ppo(seed, o);
        const auto hb = run_history(*b, f, 600);
        own += mean_loss(hb, 500, 600);
    }
    EXPECT_LT(own, shared);
    std::printf("mean KD of the last 100 episodes, 3 seeds: shared %.4f, per-layer %.4f\n",
                shared / 3, own / 3);
}

} // namespace
} // namespace triseg::search
