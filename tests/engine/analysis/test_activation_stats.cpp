// Histogram statistics (percentiles, value moments, table effects) against brute force, and
// the heuristic codes: always valid, following the histogram.
#include "engine/analysis/activation_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

/// Relative tolerance of moments computed from a histogram vs directly from the values.
constexpr double kMomentTolerance = 1e-9;

CodeHistogram histogram_of(const std::vector<uint8_t>& codes) {
    CodeHistogram h{};
    for (uint8_t c : codes) {
        ++h[c];
    }
    return h;
}

TEST(ActivationStats, PercentilesAreTheSmallestCodeReachingTheShare) {
    // 10 codes: 0 x4, 3 x3, 200 x2, 255 x1.
    const std::vector<uint8_t> codes = {0, 0, 0, 0, 3, 3, 3, 200, 200, 255};
    const CodeHistogram h = histogram_of(codes);
    EXPECT_EQ(histogram_percentile(h, 1), 0);
    EXPECT_EQ(histogram_percentile(h, 40), 0); // exactly 4 of 10
    EXPECT_EQ(histogram_percentile(h, 40.1), 3);
    EXPECT_EQ(histogram_percentile(h, 70), 3);
    EXPECT_EQ(histogram_percentile(h, 90), 200);
    EXPECT_EQ(histogram_percentile(h, 99.9), 255);
    EXPECT_EQ(histogram_percentile(h, 100), 255);
    EXPECT_EQ(histogram_percentile(CodeHistogram{}, 50), 0);
    EXPECT_DOUBLE_EQ(fraction_at_most(h, 3), 0.7);
    EXPECT_DOUBLE_EQ(fraction_at_most(h, 255), 1.0);
    EXPECT_DOUBLE_EQ(fraction_at_most(CodeHistogram{}, 32), 0.0);
    EXPECT_EQ(default_percentile_levels().front(), 1);
    EXPECT_EQ(default_percentile_levels().back(), 99.9);
}

TEST(ActivationStats, ValueStatsMatchBruteForce) {
    Rng rng(5);
    const auto codes = test::random_codes(1001, rng);
    const float scale = 0.037f;
    const int32_t zp = 17;
    double sum = 0;
    double lo = 1e9;
    double hi = -1e9;
    int64_t zeros = 0;
    for (uint8_t c : codes) {
        const double v = static_cast<double>(scale) * (c - zp);
        sum += v;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        zeros += c == zp;
    }
    const double mean = sum / codes.size();
    double var = 0;
    for (uint8_t c : codes) {
        const double d = static_cast<double>(scale) * (c - zp) - mean;
        var += d * d;
    }
    const auto s = code_value_stats(histogram_of(codes), scale, zp);
    EXPECT_EQ(s.count, 1001);
    EXPECT_NEAR(s.mean, mean, kMomentTolerance * std::abs(mean) + 1e-12);
    EXPECT_NEAR(s.std, std::sqrt(var / codes.size()), kMomentTolerance * s.std);
    EXPECT_DOUBLE_EQ(s.min, lo);
    EXPECT_DOUBLE_EQ(s.max, hi);
    EXPECT_DOUBLE_EQ(s.zero_fraction, static_cast<double>(zeros) / 1001);
}

TEST(ActivationStats, WeightStatsUseTheRealWeights) {
    models::Int8ConvLayer l;
    l.in_channels = 1;
    l.out_channels = 2;
    l.weight.assign(18, 0);
    l.weight[0] = 127;  // channel 0: 127 * 0.5
    l.weight[9] = -100; // channel 1: -100 * 0.25
    l.weight_scale = {0.5f, 0.25f};
    const auto s = weight_stats(l);
    EXPECT_EQ(s.count, 18);
    EXPECT_DOUBLE_EQ(s.max, 63.5);
    EXPECT_DOUBLE_EQ(s.min, -25.0);
    EXPECT_DOUBLE_EQ(s.zero_fraction, 16.0 / 18);
    EXPECT_NEAR(s.mean, (63.5 - 25.0) / 18, 1e-12);
}

TEST(ActivationStats, WeightStatsScaleEachChannelOfAnyKernel) {
    // A 1x1 conv of 3 input channels (or a depthwise 3x3 would have 9): each output channel
    // owns weight.size() / out_channels weights, whatever the kernel and groups.
    models::Int8ConvLayer l;
    l.in_channels = 3;
    l.out_channels = 2;
    l.weight = {10, 0, 0, 0, 0, -20};
    l.weight_scale = {0.5f, 0.25f};
    const auto s = weight_stats(l);
    EXPECT_EQ(s.count, 6);
    EXPECT_DOUBLE_EQ(s.max, 5.0);
    EXPECT_DOUBLE_EQ(s.min, -5.0);
    EXPECT_DOUBLE_EQ(s.zero_fraction, 4.0 / 6);
}

TEST(ActivationStats, TableEffectMatchesApplyingTheTable) {
    Rng rng(6);
    const auto codes = test::random_codes(4096, rng);
    const LayerCodes k = test::make_codes(4, 10, 16, 24, 32);
    const CodeTable t = make_table(k, "x");
    std::vector<uint8_t> after;
    int64_t changed = 0;
    int64_t zeroed = 0;
    double sq = 0;
    for (uint8_t c : codes) {
        after.push_back(t[c]);
        changed += t[c] != c;
        zeroed += c != 0 && t[c] == 0;
        sq += (t[c] - c) * (t[c] - c);
    }
    const auto e = table_effect(histogram_of(codes), t);
    EXPECT_EQ(e.after, histogram_of(after));
    EXPECT_DOUBLE_EQ(e.changed, changed / 4096.0);
    EXPECT_DOUBLE_EQ(e.zeroed, zeroed / 4096.0);
    EXPECT_NEAR(e.mse, sq / 4096.0, 1e-9);
    const auto id = table_effect(histogram_of(codes), identity_table());
    EXPECT_EQ(id.changed, 0.0);
    EXPECT_EQ(id.mse, 0.0);
}

TEST(ActivationStats, HeuristicCodesAreValidForAnyHistogram) {
    Rng rng(7);
    for (int trial = 0; trial < 300; ++trial) {
        CodeHistogram h{};
        const int mode = trial % 4;
        for (int c = 0; c < 256; ++c) {
            if (mode == 0) {
                h[c] = static_cast<int64_t>(rng.uniform_below(100));
            } else if (mode == 1) {
                h[c] = c == static_cast<int>(trial % 256) ? 1000 : 0; // one spike
            } else if (mode == 2) {
                h[c] = c < 3 ? 500 : 0; // everything at the bottom
            }
        }
        const auto tmax = static_cast<int32_t>(12 + rng.uniform_below(244));
        const LayerCodes k = heuristic_codes(h, tmax);
        EXPECT_TRUE(codes_valid(k)) << to_string(k) << " trial " << trial;
        EXPECT_EQ(k.tmax, tmax);
    }
    EXPECT_EQ(heuristic_codes(CodeHistogram{}, 32), evenly_spaced_codes(32));
    test::expect_error<InputError>([] { (void)heuristic_codes(CodeHistogram{}, 11); },
                                   {"tmax", "11"});
}

TEST(ActivationStats, HeuristicCodesFollowTheMass) {
    // Uniform mass on [1, 30]: thirds end at 10 and 20, segment means 15.5 and 25.5.
    CodeHistogram h{};
    for (int c = 1; c <= 30; ++c) {
        h[c] = 100;
    }
    const LayerCodes k = heuristic_codes(h, 30);
    EXPECT_EQ(k.t1, 10);
    EXPECT_EQ(k.t2, 20);
    EXPECT_EQ(k.v1, 16);
    EXPECT_EQ(k.v2, 26);
}

} // namespace
} // namespace triseg::engine
