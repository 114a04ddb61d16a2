// Lloyd-Max codes: the exact optimum of the squared code error (against brute force over every
// valid code set), always inside the search space; the method's ask/tell/finished contract.
#include <gtest/gtest.h>

#include <stdexcept>

#include "common/error.h"
#include "common/rng.h"
#include "engine/core/code_set.h"
#include "search/lloyd_search.h"
#include "search/registry.h"
#include "tests/io/temp_dir.h"

namespace triseg::search {
namespace {

using engine::LayerCodes;

/// The least code_error over every valid code set of `space` (nested in t1, t2, v1, v2 order,
/// strict improvement only: the lexicographically smallest optimum).
LayerCodes brute_force(const CodeCounts& h, const CodeSpace& space) {
    LayerCodes best;
    int64_t best_error = -1;
    for (int32_t t1 = space.t1().lo; t1 <= space.t1().hi; ++t1) {
        for (int32_t t2 = space.t2(t1).lo; t2 <= space.t2(t1).hi; ++t2) {
            for (int32_t v1 = space.v1(t1, t2).lo; v1 <= space.v1(t1, t2).hi; ++v1) {
                for (int32_t v2 = space.v2(t2).lo; v2 <= space.v2(t2).hi; ++v2) {
                    const LayerCodes c{t1, v1, t2, v2, space.tmax};
                    const int64_t e = code_error(h, c);
                    if (best_error < 0 || e < best_error) {
                        best_error = e;
                        best = c;
                    }
                }
            }
        }
    }
    return best;
}

void expect_in_space(const LayerCodes& c, const CodeSpace& s) {
    EXPECT_EQ(c.tmax, s.tmax);
    EXPECT_TRUE(s.t1().contains(c.t1)) << engine::to_string(c);
    EXPECT_TRUE(s.t2(c.t1).contains(c.t2)) << engine::to_string(c);
    EXPECT_TRUE(s.v1(c.t1, c.t2).contains(c.v1)) << engine::to_string(c);
    EXPECT_TRUE(s.v2(c.t2).contains(c.v2)) << engine::to_string(c);
    EXPECT_TRUE(engine::codes_valid(c)) << engine::to_string(c);
}

/// Hand-made and random histograms of several shapes.
std::vector<CodeCounts> histograms(uint64_t seed) {
    std::vector<CodeCounts> out;
    Rng rng(seed);
    CodeCounts spike{};
    spike[7] = 100; // one code: some codes reproduce it exactly
    out.push_back(spike);
    CodeCounts two{};
    two[3] = 5;
    two[15] = 9;
    two[40] = 1000; // above every small tmax: costs nothing
    out.push_back(two);
    CodeCounts decay{}; // ReLU-like: many zeros, a falling tail
    for (int c = 0; c < 256; ++c) {
        decay[static_cast<size_t>(c)] = c == 0 ? 100000 : 20000 / (c + 2);
    }
    out.push_back(decay);
    CodeCounts flat{};
    flat.fill(3);
    out.push_back(flat);
    for (int k = 0; k < 6; ++k) { // random, some sparse
        CodeCounts r{};
        for (auto& n : r) {
            n = rng.uniform_below(3) == 0 ? 0 : static_cast<int64_t>(rng.uniform_below(1000000));
        }
        out.push_back(r);
    }
    return out;
}

TEST(Lloyd, CodeErrorIsTheSquaredErrorOfTheTable) {
    const auto hs = histograms(1);
    const LayerCodes c{4, 9, 13, 20, 24};
    const auto table = engine::make_table(c, "conv1");
    for (const auto& h : hs) {
        int64_t expected = 0;
        for (int v = 0; v < 256; ++v) {
            const int64_t d = v - table[static_cast<size_t>(v)];
            expected += h[static_cast<size_t>(v)] * d * d;
        }
        EXPECT_EQ(code_error(h, c), expected);
    }
}

TEST(Lloyd, EqualsTheBruteForceOptimumOverEveryValidCodeSet) {
    for (int32_t tmax : {12, 13, 16, 21}) { // small: brute force is cheap
        const CodeSpace space{1, tmax};
        for (const auto& h : histograms(static_cast<uint64_t>(tmax))) {
            const LayerCodes got = lloyd_codes(h, space);
            const LayerCodes want = brute_force(h, space);
            expect_in_space(got, space);
            EXPECT_EQ(code_error(h, got), code_error(h, want)) << "tmax " << tmax;
            EXPECT_EQ(got, want) << engine::to_string(got) << " vs " << engine::to_string(want);
        }
    }
}

TEST(Lloyd, ASpikeIsReproducedExactly) {
    CodeCounts h{};
    h[9] = 50;
    h[20] = 30;
    const LayerCodes c = lloyd_codes(h, CodeSpace{1, 32});
    EXPECT_EQ(code_error(h, c), 0);
    EXPECT_EQ(c.v1, 9);
    EXPECT_EQ(c.v2, 20);
}

TEST(Lloyd, AlwaysObeysTheRulesForLargeTmax) {
    for (int32_t tmax : {32, 64, 255}) {
        const CodeSpace space{1, tmax};
        for (const auto& h : histograms(static_cast<uint64_t>(100 + tmax))) {
            expect_in_space(lloyd_codes(h, space), space);
        }
    }
}

TEST(Lloyd, NoCodesInRangeFallBackToEvenlySpacedAndAnEmptyHistogramIsAnError) {
    const CodeSpace space{2, 32};
    CodeCounts outside{};
    outside[0] = 10;
    outside[200] = 10; // nothing in [1, 32]: every code set costs 0
    EXPECT_EQ(lloyd_codes(outside, space), engine::evenly_spaced_codes(32));
    CodeCounts some{};
    some[5] = 1;
    const auto set = lloyd_code_set(space, {outside, some});
    EXPECT_EQ(set.layers[0], engine::evenly_spaced_codes(32));
    EXPECT_EQ(code_error(some, set.layers[1]), 0);

    test::expect_error<InputError>([&] { lloyd_code_set(space, {}); },
                                   {"lloyd needs the code histograms", "none were computed"});
    test::expect_error<InputError>([&] { lloyd_code_set(space, {some}); },
                                   {"histograms of 1 layers", "space of 2 layers"});
    test::expect_error<InputError>(
        [&] {
            lloyd_code_set(space, {some, CodeCounts{}});
        },
        {"layer 1 counts no codes at all"});
    CodeCounts negative{};
    negative[3] = -1;
    test::expect_error<InputError>(
        [&] {
            lloyd_code_set(space, {some, negative});
        },
        {"negative count -1"});
}

TEST(Lloyd, ProposesItsCodesOnceThenFinishes) {
    const CodeSpace space{3, 32};
    const auto hs = histograms(5);
    const std::vector<CodeCounts> three(hs.begin() + 2, hs.begin() + 5);
    LloydSearch a(space, 4, three);
    EXPECT_FALSE(a.finished());
    ASSERT_TRUE(a.proposal());
    EXPECT_EQ(*a.proposal(), lloyd_code_set(space, three));
    const auto c = a.ask();
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0], a.codes());
    EXPECT_THROW(a.tell(c, {Fitness{}, Fitness{}}), std::logic_error);
    a.tell(c, {Fitness{}});
    EXPECT_TRUE(a.finished());
    Checkpoint saved;
    a.save(saved);
    LloydSearch b(space, 4, three);
    b.load(saved);
    EXPECT_TRUE(b.finished());
    Checkpoint other;
    other.entries["lloyd/told"] = "yes";
    EXPECT_THROW(b.load(other), InputError);
    EXPECT_THROW(b.load(Checkpoint{}), InputError);
    EXPECT_THROW(LloydSearch(space, 0, three), ConfigError);
    const auto& entry = method_entry("lloyd");
    EXPECT_TRUE(entry.needs_code_histograms);
    EXPECT_FALSE(method_entry("ppo").needs_code_histograms);
}

} // namespace
} // namespace triseg::search
