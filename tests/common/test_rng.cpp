// Rng: portability (golden values), range, and shuffle correctness.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "common/rng.h"

namespace triseg {
namespace {

TEST(Rng, SameSeedAndStreamGiveSameSequence) {
    Rng a(42, 7);
    Rng b(42, 7);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(a.next_u64(), b.next_u64());
    }
}

TEST(Rng, StreamsDiffer) {
    Rng a(42, 0);
    Rng b(42, 1);
    EXPECT_NE(a.next_u64(), b.next_u64());
}

TEST(Rng, GoldenValuesArePlatformIndependent) {
    // Recorded once; must never change, or seeded runs stop being reproducible.
    Rng r(0, 0);
    const uint64_t first = r.next_u64();
    const uint64_t second = r.next_u64();
    EXPECT_EQ(first, 0x83318A9282400131ULL) << std::hex << first;
    EXPECT_EQ(second, 0xD247D3921DF91BD3ULL) << std::hex << second;
}

TEST(Rng, UniformBelowStaysInRangeAndCoversIt) {
    Rng r(3);
    std::vector<int> hits(7, 0);
    for (int i = 0; i < 7000; ++i) {
        const auto v = r.uniform_below(7);
        ASSERT_LT(v, 7u);
        ++hits[v];
    }
    for (int h : hits) {
        EXPECT_GT(h, 800); // expected 1000 each
    }
}

TEST(Rng, Uniform01InUnitInterval) {
    Rng r(5);
    for (int i = 0; i < 1000; ++i) {
        const double u = r.uniform01();
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
    }
}

TEST(Rng, ShuffleIsAPermutation) {
    std::vector<int> v(257);
    std::iota(v.begin(), v.end(), 0);
    Rng r(11);
    r.shuffle(v);
    std::vector<int> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 257; ++i) {
        ASSERT_EQ(sorted[i], i);
    }
    int fixed = 0;
    for (int i = 0; i < 257; ++i) {
        fixed += v[i] == i;
    }
    EXPECT_LT(fixed, 20);
}

} // namespace
} // namespace triseg
