// The exact paired sign-flip test on hand-counted cases.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "cli/sign_flip_test.h"
#include "common/error.h"
#include "tests/io/temp_dir.h"

namespace triseg::cli {
namespace {

using test::expect_error;

TEST(SignFlipTest, HandCountedPValues) {
    // Sums of +-1 +-2 +-3: 6, 4, 2, 0, 0, -2, -4, -6; |sum| >= 6 twice: 2 / 8.
    EXPECT_EQ(sign_flip_p_value({1.0, 2.0, 3.0}), 0.25);
    EXPECT_EQ(sign_flip_p_value({-1.0, -2.0, -3.0}), 0.25); // two-sided
    // Only all + and all - reach |3 + 1 + 1 + 1| = 6: 2 / 16.
    EXPECT_EQ(sign_flip_p_value({3.0, 1.0, 1.0, 1.0}), 0.125);
    // Four differences of size 1: |sum| takes 4, 2, 0 with counts 2, 8, 6; observed 2: 10 / 16.
    EXPECT_EQ(sign_flip_p_value({1.0, 1.0, 1.0, -1.0}), 0.625);
    // No difference at all: every pattern ties with the observed 0.
    EXPECT_EQ(sign_flip_p_value({0.0, 0.0, 0.0}), 1.0);
    // One pair: both patterns are as extreme.
    EXPECT_EQ(sign_flip_p_value({0.7}), 1.0);
}

TEST(SignFlipTest, SumsEqualButForRoundingAreTies) {
    // As integers (tenths) 4, 2, -3, 1: |sum| >= 4 in 10 of 16 patterns. In doubles some of
    // those sums come out a rounding error below the observed one; they still count.
    EXPECT_EQ(sign_flip_p_value({0.4, 0.2, -0.3, 0.1}), 0.625);
}

TEST(SignFlipTest, ManyPairsAndBadSizes) {
    // 12 equal positive differences: only all + and all - reach 12: 2 / 4096.
    EXPECT_EQ(sign_flip_p_value(std::vector<double>(12, 0.01)), 2.0 / 4096.0);
    EXPECT_EQ(sign_flip_p_value(std::vector<double>(kMaxSignFlipPairs, 1.0)),
              2.0 / static_cast<double>(uint64_t{1} << kMaxSignFlipPairs));
    expect_error<InputError>([] { sign_flip_p_value({}); }, {"1 to 20 pairs, got 0"});
    expect_error<InputError>(
        [] { sign_flip_p_value(std::vector<double>(kMaxSignFlipPairs + 1, 1.0)); }, {"got 21"});
}

} // namespace
} // namespace triseg::cli
