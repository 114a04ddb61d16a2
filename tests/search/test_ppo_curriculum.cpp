// PPO's layer curriculum (ppo.curriculum): the stages' layers, the candidates it gives (the
// identity for the layers not yet approximated, search-space codes for the others), its
// options' errors, and exact resumes across a stage (MLP and GRU policies).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "search/ppo_curriculum.h"
#include "search/ppo_search.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

using namespace triseg::search::testing;

const CodeSpace kSpace{6, 32};
const std::vector<int32_t> kOrder = {3, 0, 5, 1, 2, 4}; // most sensitive first

PpoOptions curriculum() {
    PpoOptions o;
    o.update_transitions = 30;         // after 12 episodes, 12 transitions wait in the buffer
    o.curriculum = "sensitivity.json"; // the file is read by the CLI; here only "on"
    o.curriculum_layers = {1, 3};
    o.curriculum_episodes = 8;
    return o;
}

PpoInputs ordered() {
    PpoInputs in;
    in.curriculum_order = kOrder;
    return in;
}

std::vector<bool> mask(std::initializer_list<int> on) {
    std::vector<bool> m(6, false);
    for (int l : on) {
        m[static_cast<size_t>(l)] = true;
    }
    return m;
}

TEST(PpoCurriculum, EachStageApproximatesItsMostSensitiveLayers) {
    const PpoOptions o = curriculum();
    for (int64_t e = 0; e < 8; ++e) {
        EXPECT_EQ(ppo_active_layers(o, kOrder, 6, e), mask({3})) << e;
    }
    for (int64_t e = 8; e < 16; ++e) {
        EXPECT_EQ(ppo_active_layers(o, kOrder, 6, e), mask({3, 0, 5})) << e;
    }
    for (int64_t e : {16, 17, 1000}) {
        EXPECT_EQ(ppo_active_layers(o, kOrder, 6, e), mask({0, 1, 2, 3, 4, 5})) << e;
    }
    EXPECT_EQ(ppo_active_layers(PpoOptions{}, {}, 6, 0), mask({0, 1, 2, 3, 4, 5}));
}

TEST(PpoCurriculum, CandidatesLeaveTheLaterLayersExactUntilTheirStage) {
    const SensitivityObjective f(kSpace, 7);
    PpoSearch p(kSpace, 5, 4, curriculum(), std::nullopt, nullptr, ordered());
    for (int g = 0; g < 6; ++g) { // 24 episodes: 8 per stage
        const auto c = p.ask();
        for (size_t i = 0; i < c.size(); ++i) {
            const int64_t episode = g * 4 + static_cast<int64_t>(i);
            const auto active = ppo_active_layers(curriculum(), kOrder, 6, episode);
            for (size_t l = 0; l < 6; ++l) {
                if (active[l]) {
                    EXPECT_TRUE(engine::codes_valid(c[i].layers[l])) << episode << " " << l;
                } else {
                    EXPECT_EQ(c[i].layers[l], LayerCodes{}) << episode << " " << l;
                }
            }
        }
        p.tell(c, f(c));
    }
    // The greedy proposal approximates every layer.
    const auto proposal = p.proposal();
    ASSERT_TRUE(proposal);
    for (const auto& l : proposal->layers) {
        EXPECT_TRUE(engine::codes_valid(l));
    }
}

TEST(PpoCurriculum, BadOptionsAreConfigErrorsNamingTheKey) {
    auto expect_error = [](PpoOptions o, const std::vector<int32_t>& order,
                           const std::string& needle) {
        try {
            PpoInputs in;
            in.curriculum_order = order;
            PpoSearch p(kSpace, 0, 4, o, std::nullopt, nullptr, in);
            FAIL() << needle;
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    PpoOptions o = curriculum();
    o.curriculum_layers = {};
    expect_error(o, kOrder, "`ppo.curriculum_layers` is empty");
    o.curriculum_layers = {3, 2};
    expect_error(o, kOrder, "`ppo.curriculum_layers` must increase");
    o.curriculum_layers = {1.5};
    expect_error(o, kOrder, "whole number");
    o.curriculum_layers = {0};
    expect_error(o, kOrder, "`ppo.curriculum_layers`");
    o.curriculum_layers = {1, 6};
    expect_error(o, kOrder, "the model has 6 layers");
    o = curriculum();
    o.curriculum_episodes = 0;
    expect_error(o, kOrder, "`ppo.curriculum_episodes`");
    expect_error(curriculum(), {3, 0, 5}, "ranks 3 layers; the model has 6");
    expect_error(curriculum(), {3, 0, 5, 1, 2, 3}, "does not rank every layer once");
}

void expect_exact_resume(const PpoOptions& o) {
    const SensitivityObjective f(kSpace, 7);
    auto run = [&](Algorithm& a, int generations, std::vector<CodeSet>& seen) {
        for (int g = 0; g < generations; ++g) {
            const auto c = a.ask();
            a.tell(c, f(c));
            seen.insert(seen.end(), c.begin(), c.end());
        }
    };
    std::vector<CodeSet> whole;
    PpoSearch a(kSpace, 4, 4, o, std::nullopt, nullptr, ordered());
    run(a, 8, whole);
    std::vector<CodeSet> parts;
    PpoSearch b(kSpace, 4, 4, o, std::nullopt, nullptr, ordered());
    run(b, 3, parts); // 12 episodes: in stage 1, with inactive transitions in the buffer
    Checkpoint saved;
    b.save(saved);
    ASSERT_EQ(saved.entries.count("ppo/active"), 1u);
    EXPECT_NE(saved.entries["ppo/active"].find('0'), std::string::npos);
    PpoSearch resumed(kSpace, 4, 4, o, std::nullopt, nullptr, ordered());
    resumed.load(saved);
    run(resumed, 5, parts);
    EXPECT_TRUE(parts == whole);
    EXPECT_GT(a.updates(), 0);

    // A damaged flag list is an input error.
    Checkpoint damaged = saved;
    damaged.entries["ppo/active"] += "1";
    PpoSearch c(kSpace, 4, 4, o, std::nullopt, nullptr, ordered());
    EXPECT_THROW(c.load(damaged), InputError);
    damaged.entries["ppo/active"] = std::string(saved.entries["ppo/active"].size(), '2');
    EXPECT_THROW(c.load(damaged), InputError);
}

TEST(PpoCurriculum, ResumesExactlyAcrossAStage) {
    expect_exact_resume(curriculum());
}

TEST(PpoCurriculum, ARecurrentPolicyResumesExactlyAcrossAStage) {
    PpoOptions o = curriculum();
    o.policy = "gru";
    o.embedding_dim = 8;
    o.hidden = 8;
    expect_exact_resume(o);
}

TEST(PpoCurriculum, OffWritesNoFlags) {
    const SensitivityObjective f(kSpace, 7);
    PpoOptions o;
    o.update_transitions = 18;
    PpoSearch p(kSpace, 4, 4, o);
    const auto c = p.ask();
    p.tell(c, f(c));
    Checkpoint saved;
    p.save(saved);
    EXPECT_EQ(saved.entries.count("ppo/active"), 0u);
}

} // namespace
} // namespace triseg::search
