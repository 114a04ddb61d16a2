// CodeSpace: ranges equal the rules of engine::validate_codes, sampling covers them.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "common/error.h"
#include "engine/core/code_set.h"
#include "search/code_space.h"

namespace triseg::search {
namespace {

int64_t brute_force_count(int32_t tmax) {
    int64_t n = 0;
    // Every code is at most tmax (v2 <= tmax), so 0 .. tmax+1 covers all and one beyond.
    for (int a = 0; a <= tmax + 1; ++a) {
        for (int b = 0; b <= tmax + 1; ++b) {
            for (int c = 0; c <= tmax + 1; ++c) {
                for (int d = 0; d <= tmax + 1; ++d) {
                    n += engine::codes_valid({a, c, b, d, tmax}); // t1 v1 t2 v2 tmax
                }
            }
        }
    }
    return n;
}

TEST(CodeSpace, RangesAcceptExactlyTheCodesValidateAccepts) {
    for (int32_t tmax : {12, 32}) {
        CodeSpace s;
        s.tmax = tmax;
        EXPECT_EQ(s.count(), brute_force_count(tmax)) << "tmax " << tmax;
    }
}

TEST(CodeSpace, SamplesAreValidAndReachTheEdgesOfEveryRange) {
    CodeSpace s;
    Rng rng(3);
    std::set<int32_t> t1;
    std::set<int32_t> v2;
    for (int i = 0; i < 20000; ++i) {
        const auto c = s.sample(rng);
        ASSERT_TRUE(engine::codes_valid(c)) << engine::to_string(c);
        t1.insert(c.t1);
        v2.insert(c.v2);
    }
    EXPECT_EQ(*t1.begin(), 2);
    EXPECT_EQ(*t1.rbegin(), 10);
    EXPECT_EQ(*v2.rbegin(), 32);
}

TEST(CodeSpace, InvalidSpacesThrow) {
    CodeSpace s;
    s.tmax = 11;
    EXPECT_THROW(s.validate(), ConfigError);
    s.tmax = 32;
    s.layers = 0;
    EXPECT_THROW(s.validate(), ConfigError);
}

// ---------------------------------------------------------------------------------------------
// Real-vector encoding and repair

/// Every valid LayerCodes of one layer (brute force over all four codes).
std::vector<engine::LayerCodes> all_valid(int32_t tmax) {
    std::vector<engine::LayerCodes> out;
    for (int a = 0; a <= tmax + 1; ++a) {
        for (int b = 0; b <= tmax + 1; ++b) {
            for (int c = 0; c <= tmax + 1; ++c) {
                for (int d = 0; d <= tmax + 1; ++d) {
                    const engine::LayerCodes codes{a, c, b, d, tmax}; // t1 v1 t2 v2 tmax
                    if (engine::codes_valid(codes)) {
                        out.push_back(codes);
                    }
                }
            }
        }
    }
    return out;
}

/// Throws (failing the test) unless every layer passes engine::validate_codes.
void expect_accepted(const CodeSpace& s, const engine::CodeSet& c) {
    ASSERT_EQ(static_cast<int64_t>(c.layers.size()), s.layers);
    for (const auto& l : c.layers) {
        EXPECT_NO_THROW(engine::validate_codes(l, "layer")) << engine::to_string(l);
        EXPECT_EQ(l.tmax, s.tmax);
    }
}

TEST(CodeSpace, DimensionAndBoundsHoldEveryValidCode) {
    for (int32_t tmax : {12, 20}) {
        const CodeSpace s{3, tmax};
        EXPECT_EQ(s.dimension(), 12);
        const auto lo = s.lower_bounds();
        const auto hi = s.upper_bounds();
        ASSERT_EQ(static_cast<int64_t>(lo.size()), s.dimension());
        ASSERT_EQ(static_cast<int64_t>(hi.size()), s.dimension());
        // The bounds are tight: each is reached by some valid code, none is passed.
        std::vector<double> min(4, 1e9);
        std::vector<double> max(4, -1e9);
        for (const auto& c : all_valid(tmax)) {
            const auto x = CodeSpace{1, tmax}.encode(engine::CodeSet{{c}});
            for (size_t k = 0; k < 4; ++k) {
                min[k] = std::min(min[k], x[k]);
                max[k] = std::max(max[k], x[k]);
            }
        }
        for (size_t i = 0; i < lo.size(); ++i) {
            EXPECT_EQ(lo[i], min[i % 4]) << "coordinate " << i << ", tmax " << tmax;
            EXPECT_EQ(hi[i], max[i % 4]) << "coordinate " << i << ", tmax " << tmax;
        }
    }
}

TEST(CodeSpace, DecodeOfEncodeIsIdentityForEveryValidCode) {
    for (int32_t tmax : {12, 20}) {
        const CodeSpace s{1, tmax};
        const auto valid = all_valid(tmax);
        ASSERT_EQ(static_cast<int64_t>(valid.size()), s.count());
        for (const auto& c : valid) {
            const engine::CodeSet codes{{c}};
            const auto x = s.encode(codes);
            ASSERT_EQ(
                x, (std::vector<double>{double(c.t1), double(c.t2), double(c.v1), double(c.v2)}));
            ASSERT_EQ(s.decode(x), codes) << engine::to_string(c);
            ASSERT_EQ(s.repair(codes), codes) << engine::to_string(c);
        }
    }
}

TEST(CodeSpace, DecodeRoundsToTheNearestCodeInsideTheRanges) {
    const CodeSpace s{1, 32};
    // t1 4.4 -> 4; t2 9.6 -> 10; v1 5.5 -> 6 (halves away from zero); v2 31.2 -> 31.
    EXPECT_EQ(s.decode({4.4, 9.6, 5.5, 31.2}), (engine::CodeSet{{{4, 6, 10, 31, 32}}}));
    // t2 below t1 + 4 is raised to t1 + 4; v1 then in [t1 + 1, t2 - 1]; v2 above tmax lowered.
    EXPECT_EQ(s.decode({8, 3, 100, 99}), (engine::CodeSet{{{8, 11, 12, 32, 32}}}));
}

TEST(CodeSpace, DecodeOfAnyVectorInBoundsIsValid) {
    for (int32_t tmax : {12, 32, 255}) {
        const CodeSpace s{5, tmax};
        const auto lo = s.lower_bounds();
        const auto hi = s.upper_bounds();
        Rng rng(17, static_cast<uint64_t>(tmax));
        for (int i = 0; i < 2000; ++i) {
            std::vector<double> x(lo.size());
            for (size_t k = 0; k < x.size(); ++k) {
                x[k] = lo[k] + (hi[k] - lo[k]) * rng.uniform01();
            }
            expect_accepted(s, s.decode(x));
        }
        // Every corner of one layer's box (16), repeated over the layers; and far outside.
        for (int corner = 0; corner < 16; ++corner) {
            std::vector<double> x(lo.size());
            for (size_t k = 0; k < x.size(); ++k) {
                x[k] = (corner >> (k % 4)) & 1 ? hi[k] : lo[k];
            }
            expect_accepted(s, s.decode(x));
        }
        expect_accepted(s, s.decode(std::vector<double>(lo.size(), -1e300)));
        expect_accepted(s, s.decode(std::vector<double>(lo.size(), 1e300)));
    }
}

TEST(CodeSpace, RepairMakesInvalidCodesValidAndKeepsValidOnes) {
    const CodeSpace s{2, 32};
    Rng rng(5);
    for (int i = 0; i < 1000; ++i) {
        engine::CodeSet c{{s.sample(rng), s.sample(rng)}};
        ASSERT_EQ(s.repair(c), c);
        c.layers[0].t2 = c.layers[0].t1; // break the gap rule
        c.layers[1].v2 = 300;
        expect_accepted(s, s.repair(c));
    }
}

TEST(CodeSpace, DecodeRejectsNonFiniteValuesAndWrongLengths) {
    const CodeSpace s{2, 32};
    const double bad[] = {std::nan(""), std::numeric_limits<double>::infinity(),
                          -std::numeric_limits<double>::infinity()};
    for (double v : bad) {
        std::vector<double> x(8, 5.0);
        x[6] = v;
        try {
            s.decode(x);
            ADD_FAILURE() << "no exception for " << v;
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find("value 6 (layer 1)"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_THROW(s.decode(std::vector<double>(7, 5.0)), InputError);
    EXPECT_THROW(s.encode(engine::CodeSet{}), InputError);
}

// The relative real encoding (sga, cmaes, de, pso_gen).

TEST(CodeSpaceRelative, EveryVectorDecodesToValidCodes) {
    for (int32_t tmax : {12, 13, 32, 255}) {
        const CodeSpace s{5, tmax};
        Rng rng(23, static_cast<uint64_t>(tmax));
        for (int i = 0; i < 2000; ++i) {
            std::vector<double> x(static_cast<size_t>(s.dimension()));
            for (auto& v : x) {
                v = rng.uniform01();
            }
            expect_accepted(s, s.decode_relative(x));
        }
        // Every corner of [0, 1]^4 per layer, the largest double below 1, and far outside.
        for (int corner = 0; corner < 16; ++corner) {
            std::vector<double> x(static_cast<size_t>(s.dimension()));
            for (size_t k = 0; k < x.size(); ++k) {
                x[k] = (corner >> (k % 4)) & 1 ? 1.0 : 0.0;
            }
            expect_accepted(s, s.decode_relative(x));
        }
        const std::vector<double> edges = {std::nextafter(1.0, 0.0), 1e-300, -1e300, 1e300};
        for (double v : edges) {
            expect_accepted(s, s.decode_relative(std::vector<double>(20, v)));
        }
    }
}

TEST(CodeSpaceRelative, EndsOfTheUnitBoxPickTheEndsOfEachRange) {
    const CodeSpace s{1, 32};
    // 0 picks each range's lowest code in sampling order, 1 its highest.
    EXPECT_EQ(s.decode_relative({0, 0, 0, 0}), (engine::CodeSet{{{2, 3, 6, 7, 32}}}));
    EXPECT_EQ(s.decode_relative({1, 1, 1, 1}), (engine::CodeSet{{{10, 27, 28, 32, 32}}}));
    // t1 has 9 values (2..10): u = 0.5 is cell 4 -> t1 = 6; t2 in [10, 28] (19): 0.5 -> 19.
    EXPECT_EQ(s.decode_relative({0.5, 0.5, 0, 1}).layers[0].t1, 6);
    EXPECT_EQ(s.decode_relative({0.5, 0.5, 0, 1}).layers[0].t2, 19);
}

TEST(CodeSpaceRelative, EncodeThenDecodeIsIdentityForEveryValidCode) {
    for (int32_t tmax : {12, 20, 32}) {
        const CodeSpace s{1, tmax};
        const auto valid = all_valid(tmax);
        ASSERT_EQ(static_cast<int64_t>(valid.size()), s.count());
        std::set<std::vector<double>> seen;
        for (const auto& c : valid) {
            const engine::CodeSet codes{{c}};
            const auto x = s.encode_relative(codes);
            for (double v : x) {
                ASSERT_GT(v, 0.0);
                ASSERT_LT(v, 1.0);
            }
            ASSERT_EQ(s.decode_relative(x), codes) << engine::to_string(c);
            seen.insert(x);
        }
        EXPECT_EQ(seen.size(), valid.size()); // distinct codes, distinct vectors
    }
}

TEST(CodeSpaceRelative, RejectsCodesOutsideTheSpaceNonFiniteValuesAndWrongLengths) {
    const CodeSpace s{2, 32};
    const engine::LayerCodes ok{4, 6, 10, 31, 32};
    EXPECT_THROW(s.encode_relative(engine::CodeSet{{ok}}), InputError);
    EXPECT_THROW(s.encode_relative(engine::CodeSet{{ok, {4, 6, 10, 31, 40}}}), InputError);
    EXPECT_THROW(s.encode_relative(engine::CodeSet{{ok, {1, 6, 10, 31, 32}}}), InputError);
    EXPECT_THROW(s.decode_relative(std::vector<double>(7, 0.5)), InputError);
    std::vector<double> x(8, 0.5);
    x[5] = std::nan("");
    try {
        s.decode_relative(x);
        ADD_FAILURE() << "no exception for NaN";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("value 5 (layer 1)"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace triseg::search
