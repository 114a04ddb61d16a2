// The allocation space: its table is lloyd_codes at each (layer, tmax); decode and tmax_of are
// inverses on the range; quantiles and spreads as documented; bad ranges are refused.
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/rng.h"
#include "search/allocation_space.h"
#include "search/code_space.h"
#include "search/lloyd_search.h"
#include "search/pareto.h"

namespace triseg::search {
namespace {

std::vector<CodeCounts> random_histograms(int layers, uint64_t seed) {
    Rng rng(seed);
    std::vector<CodeCounts> out(static_cast<size_t>(layers));
    for (auto& h : out) {
        h.fill(0);
        for (int i = 0; i < 4000; ++i) {
            // Many small codes and a tail, like a ReLU output.
            const auto c = static_cast<size_t>(rng.uniform_below(rng.uniform_below(2) ? 20 : 256));
            ++h[c];
        }
    }
    return out;
}

TEST(AllocationSpace, TheTableIsLloydMaxAtEachLayerAndTmax) {
    const auto hs = random_histograms(3, 7);
    const AllocationSpace a(16, 40, hs);
    EXPECT_EQ(a.layers(), 3);
    EXPECT_EQ(a.choices(), 25);
    for (int64_t l = 0; l < 3; ++l) {
        for (int32_t t = 16; t <= 40; ++t) {
            EXPECT_EQ(a.codes(l, t), lloyd_codes(hs[static_cast<size_t>(l)], CodeSpace{1, t}));
        }
    }
    // Out-of-range tmax values are clamped.
    EXPECT_EQ(a.codes(0, 3), a.codes(0, 16));
    EXPECT_EQ(a.codes(0, 200), a.codes(0, 40));
}

TEST(AllocationSpace, DecodeAndTmaxOfAreInverses) {
    const AllocationSpace a(12, 64, random_histograms(4, 1));
    const std::vector<int32_t> tmax = {12, 30, 64, 47};
    const auto codes = a.decode(tmax);
    ASSERT_EQ(codes.layers.size(), 4u);
    for (size_t l = 0; l < 4; ++l) {
        EXPECT_EQ(codes.layers[l].tmax, tmax[l]);
        EXPECT_TRUE(engine::codes_valid(codes.layers[l]));
    }
    EXPECT_EQ(a.tmax_of(codes), tmax);
    EXPECT_THROW(a.decode({12, 13}), InputError);
    EXPECT_EQ(a.uniform(20), a.decode({20, 20, 20, 20}));
}

TEST(AllocationSpace, QuantileTmaxIsTheSmallestTmaxReachingTheShare) {
    CodeCounts h{};
    h[0] = 50;
    h[20] = 30; // 80% at <= 20
    h[30] = 15; // 95% at <= 30
    h[100] = 5;
    const AllocationSpace a(16, 64, {h});
    EXPECT_EQ(a.quantile_tmax(0.5), std::vector<int32_t>{16});
    EXPECT_EQ(a.quantile_tmax(0.8), std::vector<int32_t>{20});
    EXPECT_EQ(a.quantile_tmax(0.81), std::vector<int32_t>{30});
    EXPECT_EQ(a.quantile_tmax(0.95), std::vector<int32_t>{30});
    EXPECT_EQ(a.quantile_tmax(0.99), std::vector<int32_t>{64}); // never reached: tmax_max
    EXPECT_DOUBLE_EQ(a.covered_share(0, 25), 0.8);
    EXPECT_THROW(a.quantile_tmax(0.0), InputError);
}

TEST(AllocationSpace, SpreadCoversTheRangeEvenly) {
    const AllocationSpace a(16, 64, random_histograms(1, 2));
    EXPECT_EQ(a.spread(7), (std::vector<int32_t>{16, 24, 32, 40, 48, 56, 64}));
    EXPECT_EQ(a.spread(2), (std::vector<int32_t>{16, 64}));
    EXPECT_EQ(a.spread(1), (std::vector<int32_t>{16}));
    EXPECT_TRUE(a.spread(0).empty());
    const AllocationSpace narrow(20, 22, random_histograms(1, 2));
    EXPECT_EQ(narrow.spread(7), (std::vector<int32_t>{20, 21, 22})); // no repeats
}

TEST(AllocationSpace, BadRangesAndHistogramsAreRefused) {
    const auto hs = random_histograms(2, 3);
    EXPECT_THROW(AllocationSpace(11, 40, hs), ConfigError);
    EXPECT_THROW(AllocationSpace(40, 39, hs), ConfigError);
    EXPECT_THROW(AllocationSpace(16, 256, hs), ConfigError);
    EXPECT_THROW(AllocationSpace(16, 40, {}), InputError);
    CodeCounts empty{};
    EXPECT_THROW(AllocationSpace(16, 40, {empty}), InputError);
}

TEST(Pareto, KeepsTheNonDominatedSortedByKdLoss) {
    auto f = [](double kd, double covered) {
        engine::Fitness x;
        x.kd_loss = kd;
        x.covered = covered;
        return x;
    };
    const std::vector<engine::Fitness> scores = {
        f(0.3, 0.95), // 0: front
        f(0.1, 0.90), // 1: front
        f(0.3, 0.94), // 2: dominated by 0
        f(0.5, 0.99), // 3: front
        f(0.1, 0.90), // 4: twin of 1, dropped
        f(0.6, 0.98), // 5: dominated by 3
    };
    EXPECT_EQ(non_dominated(scores), (std::vector<size_t>{1, 0, 3}));
    EXPECT_TRUE(non_dominated({}).empty());
}

} // namespace
} // namespace triseg::search
