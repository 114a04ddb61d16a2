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

/// The toy's scores with kd_at for a two-stage curriculum: the first stage's KD is the toy's
/// own, the second's another function of the codes.
std::vector<Fitness> two_stage_scores(const SensitivityObjective& f,
                                      const std::vector<CodeSet>& c) {
    auto out = f(c);
    for (size_t i = 0; i < out.size(); ++i) {
        out[i].kd_at = {out[i].kd_loss, 0.1 * static_cast<double>(c[i].layers[0].t1)};
    }
    return out;
}

TEST(PpoRewards, TheTemperatureCurriculumRewardsEachEpisodeWithItsStagesKd) {
    const SensitivityObjective f(kSpace, 7);
    PpoOptions plain = small();
    PpoOptions curriculum = small();
    curriculum.temperatures = {4.0, 1.0};
    curriculum.temperature_episodes = 12;
    auto a = ppo(9, plain);
    auto b = ppo(9, curriculum);
    std::vector<CodeSet> seen_a;
    std::vector<CodeSet> seen_b;
    for (int g = 0; g < 8; ++g) { // 32 episodes: 12 in stage 0, 20 in stage 1
        const auto ca = a->ask();
        a->tell(ca, two_stage_scores(f, ca));
        seen_a.insert(seen_a.end(), ca.begin(), ca.end());
        const auto cb = b->ask();
        b->tell(cb, two_stage_scores(f, cb));
        seen_b.insert(seen_b.end(), cb.begin(), cb.end());
    }
    // Stage 0's KD is the plain reward: the same episodes until stage 1's rewards reach an
    // update (the first update after episode 12), then others.
    const std::vector<CodeSet> first_a(seen_a.begin(), seen_a.begin() + 12);
    const std::vector<CodeSet> first_b(seen_b.begin(), seen_b.begin() + 12);
    EXPECT_TRUE(first_a == first_b);
    EXPECT_FALSE(seen_a == seen_b);
    // Without the curriculum's losses in the scores it is an error.
    auto c = ppo(9, curriculum);
    const auto cc = c->ask();
    EXPECT_THROW(c->tell(cc, f(cc)), ConfigError);
}

TEST(PpoRewards, TheTemperatureCurriculumResumesExactlyAcrossAStage) {
    const SensitivityObjective f(kSpace, 7);
    PpoOptions o = small();
    o.temperatures = {4.0, 2.0, 1.0};
    o.temperature_episodes = 6;
    auto run = [&](Algorithm& a, int generations, std::vector<CodeSet>& seen) {
        for (int g = 0; g < generations; ++g) {
            const auto c = a.ask();
            auto s = two_stage_scores(f, c);
            for (size_t i = 0; i < s.size(); ++i) {
                s[i].kd_at.push_back(0.01 * static_cast<double>(c[i].layers[1].v2));
            }
            a.tell(c, s);
            seen.insert(seen.end(), c.begin(), c.end());
        }
    };
    std::vector<CodeSet> whole;
    auto a = ppo(4, o);
    run(*a, 6, whole);
    std::vector<CodeSet> parts;
    auto b = ppo(4, o);
    run(*b, 2, parts); // 8 episodes: stage 1 began at episode 6
    Checkpoint saved;
    b->save(saved);
    auto resumed = ppo(4, o);
    resumed->load(saved);
    run(*resumed, 4, parts);
    EXPECT_TRUE(parts == whole);
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
