// Fronts: the non-dominated set, the hypervolume in a reference box (hand-computed cases,
// clipping, empty and dominated points) and the mean front over seeds.
#include <gtest/gtest.h>

#include <vector>

#include "cli/front_metrics.h"
#include "common/error.h"
#include "tests/io/temp_dir.h"

namespace triseg::cli {
namespace {

using test::expect_error;

/// A box whose corners and areas are exact in binary, so the hand-computed areas below are
/// exact too: coverage [0, 1] x drop [0, 4], area 4.
constexpr ReferenceBox kUnitBox{0.0, 1.0, 0.0, 4.0};
/// The default box's edges (0.85, 0.99) are not exact in binary: its results are compared to
/// the hand computation within rounding of a few operations on numbers below 10.
constexpr double kDecimalTolerance = 1e-12;

TEST(FrontMetrics, NonDominatedKeepsEachBestPointOnceSortedByCoverage) {
    const std::vector<FrontPoint> points = {{0.9, 1.0},  {0.95, 2.0}, {0.9, 1.5},  {0.8, 0.5},
                                            {0.95, 2.0}, {0.85, 0.5}, {0.95, 2.5}, {0.7, 3.0}};
    const std::vector<FrontPoint> want = {{0.85, 0.5}, {0.9, 1.0}, {0.95, 2.0}};
    EXPECT_EQ(non_dominated(points), want);
    EXPECT_TRUE(non_dominated({}).empty());
    EXPECT_EQ(non_dominated({{0.9, 1.0}}), (std::vector<FrontPoint>{{0.9, 1.0}}));
}

TEST(FrontMetrics, HypervolumeOfOneTwoAndThreePointsByHand) {
    // [0, 0.5] x [1, 4] = 1.5 of 4.
    EXPECT_EQ(hypervolume({{0.5, 1.0}}, kUnitBox), 0.375);
    // Plus [0, 0.75] x [2, 4] = 1.5, overlapping [0, 0.5] x [2, 4] = 1: 2 of 4.
    EXPECT_EQ(hypervolume({{0.5, 1.0}, {0.75, 2.0}}, kUnitBox), 0.5);
    // Plus [0, 0.25] x [0.5, 4]: strips 0.25 * 3.5 + 0.25 * 3 + 0.25 * 2 = 2.125 of 4.
    EXPECT_EQ(hypervolume({{0.75, 2.0}, {0.25, 0.5}, {0.5, 1.0}}, kUnitBox), 0.53125);
    // The default box: [0.85, 0.92] x [1, 5] = 0.28 of 0.14 * 5 = 0.7.
    EXPECT_NEAR(hypervolume({{0.92, 1.0}}, ReferenceBox{}), 0.4, kDecimalTolerance);
    // [0.85, 0.92] x [1, 5] and [0.85, 0.96] x [3, 5]: 0.28 + 0.04 * 2 = 0.36 of 0.7.
    EXPECT_NEAR(hypervolume({{0.92, 1.0}, {0.96, 3.0}}, ReferenceBox{}), 0.36 / 0.7,
                kDecimalTolerance);
}

TEST(FrontMetrics, DominatedAndRepeatedPointsAddNothing) {
    const std::vector<FrontPoint> front = {{0.75, 2.0}, {0.25, 0.5}, {0.5, 1.0}};
    const std::vector<FrontPoint> more = {{0.75, 2.0}, {0.25, 0.5}, {0.5, 1.0},  {0.25, 1.0},
                                          {0.5, 3.0},  {0.1, 3.9},  {0.75, 2.0}, {0.6, 2.0}};
    EXPECT_EQ(hypervolume(more, kUnitBox), hypervolume(front, kUnitBox));
    EXPECT_EQ(hypervolume(non_dominated(more), kUnitBox), hypervolume(front, kUnitBox));
}

TEST(FrontMetrics, PointsOutsideTheBoxAreClippedToIt) {
    EXPECT_EQ(hypervolume({{1.5, -2.0}}, kUnitBox), 1.0); // beyond the best corner: the box
    EXPECT_EQ(hypervolume({{0.5, 6.0}}, kUnitBox), 0.0);  // drop above the box
    EXPECT_EQ(hypervolume({{-0.5, 1.0}}, kUnitBox), 0.0); // coverage below the box
    EXPECT_EQ(hypervolume({{0.5, -1.0}}, kUnitBox), 0.5); // a negative drop counts as 0
    EXPECT_EQ(hypervolume({{1.0, 2.0}, {2.0, 3.0}}, kUnitBox), 0.5);
    EXPECT_EQ(hypervolume({{1.0, -1.0}}, ReferenceBox{}), 1.0);
    EXPECT_EQ(hypervolume({{0.80, 0.0}, {0.95, 6.0}}, ReferenceBox{}), 0.0);
}

TEST(FrontMetrics, AnEmptyFrontIsZeroAndAnEmptyBoxIsAnError) {
    EXPECT_EQ(hypervolume({}, ReferenceBox{}), 0.0);
    expect_error<InputError>(
        [] {
            hypervolume({{0.9, 1.0}}, ReferenceBox{0.9, 0.9, 0.0, 5.0});
        },
        {"covered_min < covered_max", "[0.9, 0.9]"});
    expect_error<InputError>(
        [] {
            hypervolume({}, ReferenceBox{0.8, 0.9, 5.0, 1.0});
        },
        {"drop_min < drop_max"});
}

TEST(FrontMetrics, MeanFrontByHand) {
    // Seed a reaches coverage 0.75, seed b 1.0: the mean front stops at 0.75.
    const std::vector<FrontPoint> a = {{0.5, 1.0}, {0.75, 2.0}};
    const std::vector<FrontPoint> b = {{0.25, 0.5}, {0.5, 3.0}, {1.0, 4.0}};
    // x = 0.25: a's best at >= 0.25 is 1, b's 0.5; x = 0.5: 1 and 3; x = 0.75: 2 and 4.
    const std::vector<FrontPoint> want = {{0.25, 0.75}, {0.5, 2.0}, {0.75, 3.0}};
    EXPECT_EQ(mean_front({a, b}), want);
    EXPECT_EQ(mean_front({a}), a);
    EXPECT_TRUE(mean_front({}).empty());
    EXPECT_TRUE(mean_front({a, {}}).empty());
}

} // namespace
} // namespace triseg::cli
