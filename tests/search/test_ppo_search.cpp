// PpoSearch: the four standard algorithm tests, plus masks and updates.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "search/ppo_search.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

using namespace triseg::search::testing;

CodeSpace space() {
    return CodeSpace{13, 32};
}

std::unique_ptr<Algorithm> ppo(uint64_t seed, int64_t generation = 4, PpoOptions o = {}) {
    return std::make_unique<PpoSearch>(space(), seed, generation, o);
}

/// Constructing PPO with `o` throws a ConfigError whose message names `key`.
void expect_key(const PpoOptions& o, const std::string& key) {
    try {
        PpoSearch p(space(), 0, 4, o);
        FAIL() << key;
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
}

TEST(PpoSearch, BadOptionsThrowNamingTheKey) {
    PpoOptions o;
    o.lr = 0;
    expect_key(o, "ppo.lr");
    o = {};
    o.gamma = 1.5;
    expect_key(o, "ppo.gamma");
    o = {};
    o.eps_clip = 0;
    expect_key(o, "ppo.eps_clip");
    o = {};
    o.k_epochs = 0;
    expect_key(o, "ppo.k_epochs");
    o = {};
    o.value_coef = -1;
    expect_key(o, "ppo.value_coef");
    o = {};
    o.entropy_coef = -1;
    expect_key(o, "ppo.entropy_coef");
    o = {};
    o.update_transitions = 1;
    expect_key(o, "ppo.update_transitions");
    o = {};
    o.embedding_dim = 0;
    expect_key(o, "ppo.embedding_dim");
    o = {};
    o.hidden = -1;
    expect_key(o, "ppo.hidden");
    EXPECT_THROW(PpoSearch(space(), 0, 0, {}), ConfigError);
}

TEST(PpoSearch, SameSeedGivesIdenticalHistoryAndValidCodes) {
    const SensitivityObjective f(space(), 1);
    expect_deterministic([] { return ppo(5); }, [] { return ppo(6); }, f, 60);
    auto a = ppo(5);
    const auto h = run_history(*a, f, 60);
    expect_valid(h, space());
    const auto greedy = a->proposal();
    ASSERT_TRUE(greedy.has_value());
    expect_valid(History{{*greedy}, {}}, space());
}

TEST(PpoSearch, SaveLoadContinueEqualsAnUninterruptedRun) {
    const SensitivityObjective f(space(), 1);
    // 8 episodes = 104 transitions: two updates done, 4 transitions in the buffer, Adam has
    // state. The driver checkpoints after whole generations (here 4 episodes): the policy
    // that samples a generation depends on where generations start.
    expect_resume_equal([] { return ppo(5); }, f, 8, 9);
}

TEST(PpoSearch, UpdatesEveryUpdateTransitionsAndLogsThem) {
    const SensitivityObjective f(space(), 1);
    PpoSearch a(space(), 1, 4, {});
    run_history(a, f, 8); // 104 transitions -> 2 updates of 50
    EXPECT_EQ(a.updates(), 2);
    const auto log = a.take_log();
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[0].kind, "update");
    EXPECT_EQ(log[1].values.at("update"), 2.0);
    EXPECT_GT(log[0].values.at("entropy"), 0.0);
    EXPECT_TRUE(a.take_log().empty());
}

TEST(PpoSearch, LearnsATwoLayerToyObjective) {
    // A learning algorithm must improve its *average* candidate, which random search cannot.
    const CodeSpace two{2, 32};
    const SensitivityObjective f(two, 4);
    PpoOptions o;
    o.lr = 3e-3; // the toy has fewer layers than the model; a larger step keeps the test short
    PpoSearch a(two, 9, 8, o);
    const auto h = run_history(a, f, 1600);
    const double early = mean_loss(h, 0, 200);
    const double late = mean_loss(h, 1400, 1600);
    EXPECT_LT(late, 0.5 * early) << "early " << early << " late " << late;
    EXPECT_LT(f(*a.proposal()).kd_loss, 0.5 * early);
}

TEST(PpoSearch, LoadRefusesACheckpointOfTheOlderLibTorchNetwork) {
    PpoSearch a(space(), 1, 4, {});
    Checkpoint c;
    a.save(c);
    EXPECT_EQ(c.entries.at("ppo/format"), "triseg-ppo/3");
    // What a triseg with the LibTorch network wrote.
    Checkpoint old;
    old.entries = {{"ppo/format", "triseg-ppo/1"},
                   {"ppo/shape", c.entries.at("ppo/shape")},
                   {"ppo/episodes", "8"},
                   {"ppo/updates", "2"},
                   {"ppo/network.pt", "PK..."},
                   {"ppo/adam.pt", "PK..."},
                   {"ppo/buffer", c.entries.at("ppo/buffer")}};
    try {
        a.load(old);
        FAIL() << "a triseg-ppo/1 checkpoint was accepted";
    } catch (const InputError& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("older triseg"), std::string::npos) << m;
        EXPECT_NE(m.find("--force"), std::string::npos) << m;
    }
}

TEST(PpoSearch, SavesPlainArraysAndRejectsDamagedOnes) {
    const SensitivityObjective f(space(), 1);
    PpoSearch a(space(), 1, 4, {});
    run_history(a, f, 8);
    Checkpoint c;
    a.save(c);
    // Parameters and both Adam moments: one double per parameter.
    const size_t bytes = c.entries.at("ppo/parameters").size();
    EXPECT_EQ(bytes % sizeof(double), 0u);
    EXPECT_EQ(c.entries.at("ppo/adam_m").size(), bytes);
    EXPECT_EQ(c.entries.at("ppo/adam_v").size(), bytes);
    EXPECT_EQ(c.entries.at("ppo/adam_steps"), "8"); // 2 updates x 4 epochs
    auto damaged = c;
    damaged.entries["ppo/adam_v"].pop_back();
    EXPECT_THROW(a.load(damaged), InputError);
    damaged = c;
    damaged.entries["ppo/adam_steps"] = "7";
    EXPECT_THROW(a.load(damaged), InputError);
    damaged = c;
    damaged.entries["ppo/updates"] = "x";
    EXPECT_THROW(a.load(damaged), InputError);
    // A buffered transition whose codes the masks forbid (t1 = 0).
    damaged = c;
    damaged.entries["ppo/buffer"][8 + 4] = 0;
    EXPECT_THROW(a.load(damaged), InputError);
    PpoSearch b(space(), 1, 4, {});
    b.load(c);
    Checkpoint again;
    b.save(again);
    EXPECT_TRUE(again == c);
}

TEST(PpoSearch, LoadRejectsNonFiniteParametersAndImpossibleCounters) {
    const SensitivityObjective f(space(), 1);
    PpoSearch a(space(), 1, 4, {});
    run_history(a, f, 8);
    Checkpoint c;
    a.save(c);
    for (const char* key : {"ppo/parameters", "ppo/adam_m", "ppo/adam_v"}) {
        for (double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
            auto damaged = c;
            std::memcpy(damaged.entries[key].data() + 3 * sizeof(double), &bad, sizeof(double));
            try {
                a.load(damaged);
                ADD_FAILURE() << key << " holding " << bad << " was accepted";
            } catch (const InputError& e) {
                EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
            }
        }
    }
    // Counters: a float, a negative count, trailing text.
    for (const char* text : {"1e30", "-29", "8x", "", "9223372036854775807"}) {
        auto damaged = c;
        damaged.entries["ppo/episodes"] = text;
        EXPECT_THROW(a.load(damaged), InputError) << "ppo/episodes '" << text << "'";
    }
}

TEST(PpoSearch, LoadRejectsForeignOrDamagedState) {
    PpoSearch a(space(), 1, 4, {});
    Checkpoint c;
    c.entries["random/next"] = "3";
    EXPECT_THROW(a.load(c), InputError);
    a.save(c);
    c.entries["ppo/buffer"] = "xy";
    EXPECT_THROW(a.load(c), InputError);
    PpoOptions wider;
    wider.hidden = 32;
    PpoSearch b(space(), 1, 4, wider);
    Checkpoint good;
    a.save(good);
    EXPECT_THROW(b.load(good), InputError);
}

} // namespace
} // namespace triseg::search

namespace triseg::search {
namespace {

/// Init codes unlike what a fresh policy proposes: a different valid set per layer.
CodeSet init_codes() {
    CodeSet c;
    for (int32_t l = 0; l < 13; ++l) {
        const int32_t t1 = 2 + l % 9;
        const int32_t t2 = t1 + 4 + (3 * l) % 10;
        c.layers.push_back({t1, t1 + 1 + l % (t2 - t1 - 1), t2, t2 + 1 + (5 * l) % (32 - t2), 32});
    }
    return c;
}

TEST(PpoWarmStart, TheGreedyProposalIsTheInitCodesAndEpisodesSampleAroundThem) {
    const CodeSet init = init_codes();
    for (const auto& l : init.layers) {
        ASSERT_TRUE(engine::codes_valid(l)) << engine::to_string(l);
    }
    PpoSearch cold(space(), 3, 16, {});
    ASSERT_NE(*cold.proposal(), init);
    PpoSearch warm(space(), 3, 16, {}, init);
    EXPECT_EQ(*warm.proposal(), init);
    const auto log = warm.take_log();
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].kind, "init");
    EXPECT_GE(log[0].values.at("min_prob"), PpoOptions{}.init_prob);
    EXPECT_GT(log[0].values.at("steps"), 0.0);
    EXPECT_LT(log[0].values.at("steps"), static_cast<double>(PpoOptions{}.init_steps));
    // Every head gives its init code probability >= 0.5, so in 16 episodes x 13 layers most
    // picks equal the init code (a uniform pick would hit about 1 in 9 or fewer).
    auto share = [&](PpoSearch& p) {
        int64_t hits = 0;
        int64_t picks = 0;
        for (const auto& c : p.ask()) {
            for (size_t l = 0; l < c.layers.size(); ++l) {
                const auto& a = c.layers[l];
                const auto& b = init.layers[l];
                hits += (a.t1 == b.t1) + (a.t2 == b.t2) + (a.v1 == b.v1) + (a.v2 == b.v2);
                picks += 4;
            }
        }
        return static_cast<double>(hits) / static_cast<double>(picks);
    };
    EXPECT_GT(share(warm), 0.5);
    EXPECT_LT(share(cold), 0.2);
}

TEST(PpoWarmStart, IsDeterministicAndResumable) {
    const CodeSet init = init_codes();
    auto make = [&] { return std::make_unique<PpoSearch>(space(), 5, 3, PpoOptions{}, init); };
    const SensitivityObjective f(space(), 1);
    auto a = make();
    auto b = make();
    EXPECT_TRUE(run_history(*a, f, 30) == run_history(*b, f, 30));
    expect_resume_equal(make, f, 9, 21);
}

TEST(PpoWarmStart, WithoutInitOrWithZeroStepsNothingChanges) {
    PpoOptions off;
    off.init_steps = 0;
    const SensitivityObjective f(space(), 1);
    PpoSearch plain(space(), 4, 4, {});
    PpoSearch zero(space(), 4, 4, off, init_codes());
    EXPECT_TRUE(run_history(plain, f, 60) == run_history(zero, f, 60));
    EXPECT_TRUE(zero.take_log().size() == plain.take_log().size());
}

TEST(PpoWarmStart, BadInitCodesOrOptionsAreErrors) {
    CodeSet wrong = init_codes();
    wrong.layers.pop_back();
    EXPECT_THROW(PpoSearch(space(), 0, 4, {}, wrong), InputError);
    CodeSet outside = init_codes();
    outside.layers[2].t1 = 11; // t1 must be <= min(10, tmax - 8)
    EXPECT_THROW(PpoSearch(space(), 0, 4, {}, outside), InputError);
    CodeSet other_tmax = init_codes();
    other_tmax.layers[0].tmax = 31;
    EXPECT_THROW(PpoSearch(space(), 0, 4, {}, other_tmax), InputError);
    PpoOptions o;
    o.init_steps = -1;
    expect_key(o, "ppo.init_steps");
    o = {};
    o.init_lr = 0;
    expect_key(o, "ppo.init_lr");
    o = {};
    o.init_prob = 1.5;
    expect_key(o, "ppo.init_prob");
}

} // namespace
} // namespace triseg::search
