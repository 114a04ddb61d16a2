// Tri-segment codes: every rule of the search space and of a valid map at its boundaries, the
// table on edge codes (0, t1, t2, tmax, 255) and on maps outside the search space (the
// original's supervised result), evenly spaced codes, formatting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/core/code_set.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

using test::expect_error;

LayerCodes codes(int32_t t1, int32_t v1, int32_t t2, int32_t v2, int32_t tmax) {
    return test::make_codes(t1, v1, t2, v2, tmax);
}

/// The rules as written in code_set.h, spelled out independently of the implementation.
bool rules_hold(const LayerCodes& c) {
    return c.tmax >= 12 && c.tmax <= 255 && c.t1 >= 2 && c.t1 <= std::min(10, c.tmax - 8) &&
           c.t2 >= c.t1 + 4 && c.t2 <= c.tmax - 4 && c.v1 >= c.t1 + 1 && c.v1 <= c.t2 - 1 &&
           c.v2 >= c.t2 + 1 && c.v2 <= c.tmax;
}

/// The valid-map rule as written in code_set.h, spelled out independently.
bool map_rule_holds(const LayerCodes& c) {
    return 0 <= c.t1 && c.t1 <= c.t2 && c.t2 <= c.tmax && c.tmax <= 255 && c.v1 >= 0 &&
           c.v1 <= 255 && c.v2 >= 0 && c.v2 <= 255;
}

/// The table as written in code_set.h, one code at a time.
uint8_t table_rule(const LayerCodes& c, int code) {
    if (code == 0 || code <= c.t1) {
        return 0;
    }
    if (code <= c.t2) {
        return static_cast<uint8_t>(c.v1);
    }
    if (code <= c.tmax) {
        return static_cast<uint8_t>(c.v2);
    }
    return static_cast<uint8_t>(code);
}

TEST(CodeSet, BoundaryCodesAreValid) {
    for (const LayerCodes& c : {codes(2, 3, 6, 7, 12),         // every lower bound, tmax = 12
                                codes(4, 7, 8, 12, 12),        // t1 = tmax-8, v2 = tmax
                                codes(10, 11, 14, 15, 255),    // t1 = 10 (min(10, 247))
                                codes(10, 250, 251, 255, 255), // t2 = tmax-4, v1 = t2-1
                                codes(2, 3, 251, 252, 255)}) { // widest middle segment
        EXPECT_TRUE(codes_valid(c)) << to_string(c);
        EXPECT_NO_THROW(validate_codes(c, "conv1_1")) << to_string(c);
    }
}

TEST(CodeSet, EachRuleRejectsOneStepOutside) {
    struct Case {
        LayerCodes codes;
        std::string rule;
    };
    const std::vector<Case> cases = {
        {codes(2, 3, 6, 7, 11), "tmax must be in [12, 255], got 11"},
        {codes(2, 3, 6, 7, 256), "tmax must be in [12, 255], got 256"},
        {codes(2, 3, 6, 7, 0), "tmax must be in [12, 255], got 0"},
        {codes(1, 3, 6, 7, 12), "t1 must be in [2, min(10, tmax-8)] = [2, 4], got 1"},
        {codes(5, 6, 9, 10, 12), "t1 must be in [2, min(10, tmax-8)] = [2, 4], got 5"},
        {codes(11, 12, 16, 17, 255), "= [2, 10], got 11"},
        {codes(2, 3, 5, 7, 12), "t2 must be in [t1+4, tmax-4] = [6, 8], got 5"},
        {codes(2, 3, 9, 10, 12), "t2 must be in [t1+4, tmax-4] = [6, 8], got 9"},
        {codes(10, 11, 252, 253, 255), "= [14, 251], got 252"},
        {codes(2, 2, 6, 7, 12), "v1 must be in [t1+1, t2-1] = [3, 5], got 2"},
        {codes(2, 6, 6, 7, 12), "v1 must be in [t1+1, t2-1] = [3, 5], got 6"},
        {codes(2, 0, 6, 7, 12), "got 0"},
        {codes(2, 3, 6, 6, 12), "v2 must be in [t2+1, tmax] = [7, 12], got 6"},
        {codes(2, 3, 6, 13, 12), "v2 must be in [t2+1, tmax] = [7, 12], got 13"},
        {codes(10, 11, 250, 255, 254), "v2 must be in [t2+1, tmax] = [251, 254], got 255"},
    };
    for (const auto& c : cases) {
        EXPECT_FALSE(codes_valid(c.codes)) << to_string(c.codes);
        expect_error<InputError>([&] { validate_codes(c.codes, "conv4_2"); },
                                 {"conv4_2", to_string(c.codes), c.rule});
    }
}

TEST(CodeSet, CodesValidAgreesWithTheRulesExhaustivelyNearTheSmallestTmax) {
    int64_t valid = 0;
    for (int32_t tmax = 10; tmax <= 19; ++tmax) {
        for (int32_t t1 = 0; t1 <= 20; ++t1) {
            for (int32_t t2 = 0; t2 <= 20; ++t2) {
                for (int32_t v1 = 0; v1 <= 20; ++v1) {
                    for (int32_t v2 = 0; v2 <= 20; ++v2) {
                        const LayerCodes c = codes(t1, v1, t2, v2, tmax);
                        ASSERT_EQ(codes_valid(c), rules_hold(c)) << to_string(c);
                        valid += rules_hold(c);
                    }
                }
            }
        }
    }
    EXPECT_GT(valid, 0);
}

TEST(CodeSet, CodesValidAgreesWithTheRulesOnRandomCodes) {
    Rng rng(3);
    int64_t valid = 0;
    for (int i = 0; i < 200000; ++i) {
        // Draw near the valid region so that both outcomes are common.
        const auto tmax = static_cast<int32_t>(test::uniform_int(rng, 11, 260));
        const auto t1 = static_cast<int32_t>(test::uniform_int(rng, 0, 11));
        const auto t2 = static_cast<int32_t>(test::uniform_int(rng, t1, tmax));
        const auto v1 = static_cast<int32_t>(test::uniform_int(rng, t1, t2));
        const auto v2 = static_cast<int32_t>(test::uniform_int(rng, t2, tmax + 1));
        const LayerCodes c = codes(t1, v1, t2, v2, tmax);
        ASSERT_EQ(codes_valid(c), rules_hold(c)) << to_string(c);
        valid += rules_hold(c);
    }
    EXPECT_GT(valid, 1000);
    EXPECT_LT(valid, 199000);
}

TEST(CodeSet, TableOnEdgeCodes) {
    const LayerCodes c = codes(4, 13, 23, 31, 32);
    const CodeTable t = make_table(c, "conv1_1");
    EXPECT_EQ(t[0], 0);
    EXPECT_EQ(t[1], 0);
    EXPECT_EQ(t[4], 0);   // t1
    EXPECT_EQ(t[5], 13);  // t1 + 1
    EXPECT_EQ(t[13], 13); // v1 itself
    EXPECT_EQ(t[23], 13); // t2
    EXPECT_EQ(t[24], 31); // t2 + 1
    EXPECT_EQ(t[32], 31); // tmax
    EXPECT_EQ(t[33], 33); // above tmax: unchanged
    EXPECT_EQ(t[254], 254);
    EXPECT_EQ(t[255], 255);

    const CodeTable full = make_table(codes(10, 11, 251, 255, 255), "conv1_1");
    EXPECT_EQ(full[10], 0);
    EXPECT_EQ(full[11], 11);
    EXPECT_EQ(full[251], 11);
    EXPECT_EQ(full[252], 255);
    EXPECT_EQ(full[255], 255); // tmax = 255 maps to v2
    const CodeTable small = make_table(codes(2, 3, 6, 7, 12), "conv1_1");
    EXPECT_EQ(small[2], 0);
    EXPECT_EQ(small[3], 3);
    EXPECT_EQ(small[6], 3);
    EXPECT_EQ(small[7], 7);
    EXPECT_EQ(small[12], 7);
    EXPECT_EQ(small[13], 13);
}

TEST(CodeSet, TableFollowsTheRuleForEveryCode) {
    Rng rng(4);
    for (int trial = 0; trial < 500; ++trial) {
        const LayerCodes c = test::random_valid_codes(rng);
        const CodeTable t = make_table(c, "conv2_1");
        for (int code = 0; code < 256; ++code) {
            ASSERT_EQ(t[code], table_rule(c, code)) << to_string(c) << " code " << code;
        }
        // Monotone, and zero stays zero: the table never reorders activations.
        for (int code = 1; code < 256; ++code) {
            ASSERT_LE(t[code - 1], t[code]) << to_string(c);
        }
    }
}

TEST(CodeSet, MakeTableRejectsInvalidMapsNamingTheLayer) {
    expect_error<InputError>([] { make_table(codes(7, 3, 6, 7, 12), "conv3_2"); },
                             {"conv3_2", "t1=7 v1=3 t2=6 v2=7 tmax=12",
                              "not a valid tri-segment map", "t2 must be >= t1 = 7, got 6"});
    expect_error<InputError>([] { make_table(codes(2, 3, 6, 7, 256), "conv5_3"); },
                             {"conv5_3", "tmax must be <= 255, got 256"});
}

TEST(CodeSet, MessagesSayWhoseCodesTheyAreInPlainWords) {
    const LayerCodes bad = codes(2, 2, 6, 7, 12); // v1 must exceed t1
    expect_error<InputError>([&] { validate_codes(bad, "conv2_1", "a candidate's"); },
                             {"a candidate's codes of layer conv2_1 (" + to_string(bad) + ")"});
    expect_error<InputError>([&] { validate_codes(bad, "", "the heuristic"); },
                             {"the heuristic codes (" + to_string(bad) + ")"});
    LayerCodes broken = bad;
    broken.t2 = 1; // t2 < t1: not a map
    expect_error<InputError>([&] { (void)make_table(broken, ""); },
                             {"codes (" + to_string(broken) + ") are not a valid"});
}

TEST(CodeSet, MapBoundariesAreValid) {
    for (const LayerCodes& c : {codes(2, 2, 5, 5, 12),      // the original's supervised result
                                codes(0, 0, 0, 0, 0),       // tmax = 0: the identity table
                                codes(0, 255, 0, 255, 0),   // values at the top
                                codes(3, 9, 3, 1, 9),       // t1 = t2, values off their segments
                                codes(3, 0, 9, 0, 9),       // t2 = tmax, zero values
                                codes(255, 7, 255, 7, 255), // everything at 255
                                codes(0, 1, 254, 255, 255)}) {
        EXPECT_TRUE(map_valid(c)) << to_string(c);
        EXPECT_NO_THROW(validate_map(c, "conv1_1")) << to_string(c);
        EXPECT_NO_THROW(make_table(c, "conv1_1")) << to_string(c);
    }
    // The original's result lies outside the search space (t1 = v1, t2 = v2, t2 < t1 + 4).
    EXPECT_FALSE(codes_valid(codes(2, 2, 5, 5, 12)));
}

TEST(CodeSet, EachMapRuleRejectsOneStepOutside) {
    struct Case {
        LayerCodes codes;
        std::string rule;
    };
    const std::vector<Case> cases = {
        {codes(-1, 3, 6, 7, 12), "t1 must be >= 0, got -1"},
        {codes(6, 3, 5, 7, 12), "t2 must be >= t1 = 6, got 5"},
        {codes(2, 3, 6, 7, 5), "tmax must be >= t2 = 6, got 5"},
        {codes(2, 3, 6, 7, 256), "tmax must be <= 255, got 256"},
        {codes(2, -1, 6, 7, 12), "v1 must be a code in [0, 255], got -1"},
        {codes(2, 256, 6, 7, 12), "v1 must be a code in [0, 255], got 256"},
        {codes(2, 3, 6, -1, 12), "v2 must be a code in [0, 255], got -1"},
        {codes(2, 3, 6, 256, 12), "v2 must be a code in [0, 255], got 256"},
    };
    for (const auto& c : cases) {
        EXPECT_FALSE(map_valid(c.codes)) << to_string(c.codes);
        expect_error<InputError>(
            [&] { validate_map(c.codes, "conv4_2"); },
            {"conv4_2", to_string(c.codes), "not a valid tri-segment map", c.rule});
    }
}

TEST(CodeSet, MapValidAgreesWithTheRuleAndContainsTheSearchSpace) {
    int64_t maps = 0;
    int64_t space = 0;
    for (int32_t tmax = -1; tmax <= 14; ++tmax) {
        for (int32_t t1 = -1; t1 <= 14; ++t1) {
            for (int32_t t2 = -1; t2 <= 14; ++t2) {
                for (int32_t v : {-1, 0, 1, 7, 13, 255, 256}) {
                    for (int32_t v2 : {-1, 0, 9, 12, 255, 256}) {
                        const LayerCodes c = codes(t1, v, t2, v2, tmax);
                        ASSERT_EQ(map_valid(c), map_rule_holds(c)) << to_string(c);
                        maps += map_valid(c);
                        if (codes_valid(c)) {
                            ASSERT_TRUE(map_valid(c)) << to_string(c);
                            ++space;
                        }
                    }
                }
            }
        }
    }
    for (const int32_t tmax : {254, 255, 256}) {
        ASSERT_EQ(map_valid(codes(3, 4, 9, 10, tmax)), tmax <= 255);
    }
    EXPECT_GT(maps, space);
    EXPECT_GT(space, 0);
}

TEST(CodeSet, TableOfTheOriginalsSupervisedResultByHand) {
    // t1 2 v1 2 t2 5 v2 5 tmax 12: 0..2 -> 0, 3..5 -> 2, 6..12 -> 5, 13.. unchanged.
    const CodeTable t = make_table(codes(2, 2, 5, 5, 12), "conv1_1");
    CodeTable want = identity_table();
    want[0] = want[1] = want[2] = 0;
    want[3] = want[4] = want[5] = 2;
    for (int c = 6; c <= 12; ++c) {
        want[static_cast<size_t>(c)] = 5;
    }
    EXPECT_EQ(t, want);
}

TEST(CodeSet, TablesOfEmptySegmentsAndFreeValues) {
    EXPECT_EQ(make_table(codes(0, 0, 0, 0, 0), "x"), identity_table()); // tmax = 0
    const CodeTable same = make_table(codes(4, 200, 4, 3, 9), "x");     // t1 = t2: no v1 segment
    for (int c = 0; c < 256; ++c) {
        const int want = c <= 4 ? 0 : c <= 9 ? 3 : c;
        ASSERT_EQ(same[static_cast<size_t>(c)], want) << c;
    }
    const CodeTable top = make_table(codes(0, 250, 8, 1, 8), "x"); // t2 = tmax: no v2 segment
    for (int c = 0; c < 256; ++c) {
        const int want = c == 0 ? 0 : c <= 8 ? 250 : c;
        ASSERT_EQ(top[static_cast<size_t>(c)], want) << c;
    }
    Rng rng(5);
    for (int trial = 0; trial < 2000; ++trial) {
        const auto tmax = static_cast<int32_t>(test::uniform_int(rng, 0, 255));
        const auto t2 = static_cast<int32_t>(test::uniform_int(rng, 0, tmax));
        const auto t1 = static_cast<int32_t>(test::uniform_int(rng, 0, t2));
        const LayerCodes c = codes(t1, static_cast<int32_t>(test::uniform_int(rng, 0, 255)), t2,
                                   static_cast<int32_t>(test::uniform_int(rng, 0, 255)), tmax);
        const CodeTable t = make_table(c, "x");
        for (int code = 0; code < 256; ++code) {
            ASSERT_EQ(t[code], table_rule(c, code)) << to_string(c) << " code " << code;
        }
    }
}

TEST(CodeSet, IdentityTable) {
    const CodeTable t = identity_table();
    for (int code = 0; code < 256; ++code) {
        EXPECT_EQ(t[code], code);
    }
}

TEST(CodeSet, EvenlySpacedCodesHandValues) {
    EXPECT_EQ(evenly_spaced_codes(12), codes(2, 4, 6, 9, 12));
    EXPECT_EQ(evenly_spaced_codes(13), codes(2, 5, 7, 10, 13));
    EXPECT_EQ(evenly_spaced_codes(32), codes(4, 10, 16, 24, 32));
    EXPECT_EQ(evenly_spaced_codes(60), codes(8, 19, 30, 45, 60));
    EXPECT_EQ(evenly_spaced_codes(255), codes(10, 69, 128, 192, 255));
}

TEST(CodeSet, EvenlySpacedCodesAreValidForEveryTmax) {
    for (int32_t tmax = 12; tmax <= 255; ++tmax) {
        const LayerCodes c = evenly_spaced_codes(tmax);
        EXPECT_TRUE(codes_valid(c)) << tmax << ": " << to_string(c);
        EXPECT_EQ(c.tmax, tmax);
        EXPECT_EQ(c.v1, (c.t1 + 1 + c.t2) / 2);
        EXPECT_EQ(c.v2, (c.t2 + 1 + tmax) / 2);
    }
}

TEST(CodeSet, ToStringAndEquality) {
    const LayerCodes a = codes(4, 13, 23, 31, 32);
    EXPECT_EQ(to_string(a), "t1=4 v1=13 t2=23 v2=31 tmax=32");
    for (int field = 0; field < 5; ++field) {
        LayerCodes b = a;
        int32_t* fields[] = {&b.t1, &b.v1, &b.t2, &b.v2, &b.tmax};
        ++*fields[field];
        EXPECT_NE(a, b) << field;
        EXPECT_FALSE(a == b) << field;
    }
    EXPECT_EQ(a, codes(4, 13, 23, 31, 32));
    CodeSet x{{a, evenly_spaced_codes(40)}};
    CodeSet y = x;
    EXPECT_EQ(x, y);
    y.layers[1].v2 -= 1;
    EXPECT_NE(x, y);
    y.layers.pop_back();
    EXPECT_NE(x, y);
}

} // namespace
} // namespace triseg::engine
