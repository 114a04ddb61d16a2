// CodeSpace: ranges equal the rules of engine::validate_codes, sampling covers them.
#include <gtest/gtest.h>

#include <set>

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

} // namespace
} // namespace triseg::search
