// LayerwiseSearch: the four standard algorithm tests, one layer per step, anchors, prefixes.
#include <gtest/gtest.h>

#include "common/error.h"
#include "search/layerwise_search.h"
#include "search/registry.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

using namespace triseg::search::testing;

CodeSpace space() {
    return CodeSpace{13, 32};
}

std::unique_ptr<LayerwiseSearch> make(uint64_t seed, LayerwiseOptions o = {}) {
    return std::make_unique<LayerwiseSearch>(space(), seed, 4, o, std::nullopt);
}

/// Layers where a and b differ.
std::vector<size_t> differing_layers(const CodeSet& a, const CodeSet& b) {
    std::vector<size_t> out;
    for (size_t l = 0; l < a.layers.size(); ++l) {
        if (a.layers[l] != b.layers[l]) {
            out.push_back(l);
        }
    }
    return out;
}

TEST(LayerwiseSearch, BadOptionsThrow) {
    const auto bad = [](auto change) {
        LayerwiseOptions o;
        change(o);
        return o;
    };
    EXPECT_THROW(LayerwiseSearch(space(), 0, 4, bad([](auto& o) { o.candidates = 0; }), {}),
                 ConfigError);
    EXPECT_THROW(LayerwiseSearch(space(), 0, 4, bad([](auto& o) { o.random_candidates = 9; }), {}),
                 ConfigError);
    EXPECT_THROW(LayerwiseSearch(space(), 0, 4, bad([](auto& o) { o.radius = 0; }), {}),
                 ConfigError);
    EXPECT_THROW(LayerwiseSearch(space(), 0, 0, {}, {}), ConfigError);
    EXPECT_THROW(LayerwiseSearch(CodeSpace{13, 8}, 0, 4, {}, {}), ConfigError);
    CodeSet short_init;
    short_init.layers.assign(12, engine::evenly_spaced_codes(32));
    EXPECT_THROW(LayerwiseSearch(space(), 0, 4, {}, short_init), ConfigError);
    CodeSet outside;
    outside.layers.assign(13, engine::evenly_spaced_codes(64)); // tmax 64 in a tmax-32 space
    EXPECT_THROW(LayerwiseSearch(space(), 0, 4, {}, outside), ConfigError);
}

TEST(LayerwiseSearch, StartsFromInitOrEvenlySpacedCodes) {
    EXPECT_EQ(make(0)->current().layers,
              std::vector<LayerCodes>(13, engine::evenly_spaced_codes(32)));
    const SensitivityObjective f(space(), 4);
    LayerwiseSearch a(space(), 0, 4, {}, f.optimum());
    EXPECT_TRUE(a.current() == f.optimum());
    const auto first = a.ask();
    EXPECT_TRUE(first.at(0) == f.optimum()); // the start codes are scored first
    a.tell(first, f(first));
    EXPECT_TRUE(a.current() == f.optimum()); // nothing beats the optimum
    EXPECT_EQ(*a.current_kd(), 0.0);
}

TEST(LayerwiseSearch, SameSeedGivesIdenticalHistory) {
    const SensitivityObjective f(space(), 1);
    expect_deterministic([] { return make(7); }, [] { return make(8); }, f, 120);
    auto a = make(7);
    expect_valid(run_history(*a, f, 400), space());
}

TEST(LayerwiseSearch, SaveLoadMidSweepEqualsAnUninterruptedRun) {
    const SensitivityObjective f(space(), 1);
    // 9 (start + 8) then 8 per step: 49 episodes = 5 steps, in the middle of the first sweep.
    expect_resume_equal([] { return make(7); }, f, 49, 100);
    LayerwiseOptions deep;
    deep.deep_first = true;
    deep.candidates = 5;
    // 6 + 5 * 30 = 156: step 31, in the middle of the third sweep.
    expect_resume_equal([deep] { return make(3, deep); }, f, 156, 60);
}

TEST(LayerwiseSearch, ImprovesOneLayerAtATimeInSweepOrder) {
    constexpr int64_t kSweeps = 20;
    const SensitivityObjective f(space(), 2);
    for (const bool deep_first : {true, false}) {
        LayerwiseOptions o;
        o.deep_first = deep_first;
        auto a = make(5, o);
        double start_kd = 0.0;
        for (int64_t step = 0; step < 13 * kSweeps; ++step) {
            const int64_t layer = a->layer_of(step);
            EXPECT_EQ(layer, deep_first ? 12 - step % 13 : step % 13);
            const CodeSet before = a->current();
            const auto kd_before = a->current_kd();
            ASSERT_TRUE(a->anchor().has_value());
            EXPECT_TRUE(*a->anchor() == before); // layer k's candidates share layers 0..k-1
            const auto c = a->ask();
            EXPECT_EQ(c.size(), step == 0 ? 9u : 8u);
            for (size_t i = step == 0 ? 1 : 0; i < c.size(); ++i) {
                EXPECT_EQ(differing_layers(before, c[i]),
                          std::vector<size_t>{static_cast<size_t>(layer)});
            }
            const auto s = f(c);
            a->tell(c, s);
            if (step == 0) {
                start_kd = s[0].kd_loss;
            }
            double best = kd_before ? *kd_before : s[0].kd_loss;
            for (const auto& x : s) {
                best = std::min(best, x.kd_loss);
            }
            EXPECT_EQ(*a->current_kd(), best); // keeps the best of the step
            EXPECT_EQ(f(a->current()).kd_loss, best);
            const auto moved = differing_layers(before, a->current());
            EXPECT_TRUE(moved.empty() || moved == std::vector<size_t>{static_cast<size_t>(layer)});
            const auto log = a->take_log();
            ASSERT_EQ(log.size(), 1u);
            EXPECT_EQ(log[0].values.at("layer"), static_cast<double>(layer));
        }
        // A separable objective: each step moves one code by at most the radius (2), so it
        // takes sweeps to walk to the optimum (0), but it gets there.
        EXPECT_LT(*a->current_kd(), 0.01 * start_kd) << deep_first << " start " << start_kd;
    }
}

TEST(LayerwiseSearch, ATellOfAPrefixUsesItsScoresAndMovesOn) {
    const SensitivityObjective f(space(), 3);
    auto a = make(1);
    auto c = a->ask();
    c.resize(3); // the start and two candidates
    a->tell(c, f(c));
    EXPECT_EQ(a->step(), 1);
    double best = 1e300;
    for (const auto& x : f(c)) {
        best = std::min(best, x.kd_loss);
    }
    EXPECT_EQ(*a->current_kd(), best);
    const auto next = a->ask();
    EXPECT_EQ(next.size(), 8u); // the start is not scored again
    const std::vector<CodeSet> not_prefix = {next[1]};
    EXPECT_THROW(a->tell(not_prefix, f(not_prefix)), std::logic_error);
    EXPECT_THROW(a->tell(next, f(c)), std::logic_error);
}

TEST(LayerwiseSearch, LoadRejectsAnotherMethodsOrADamagedCheckpoint) {
    auto a = make(1);
    Checkpoint other;
    other.entries["random/next"] = "3";
    EXPECT_THROW(a->load(other), InputError);
    Checkpoint damaged;
    damaged.entries["layerwise/state"] = "3 1 0 13 1 2";
    EXPECT_THROW(a->load(damaged), InputError);
}

TEST(LayerwiseSearch, IsRegisteredWithItsSection) {
    const auto& e = method_entry("layerwise");
    EXPECT_TRUE(e.has_section);
    AlgorithmContext c;
    c.space = space();
    c.seed = 2;
    const auto algo = make_algorithm("layerwise", c);
    EXPECT_EQ(algo->name(), "layerwise");
    EXPECT_EQ(algo->ask().size(), 9u);
}

} // namespace
} // namespace triseg::search
