// CodeSpace ranges and uniform sampling.
#include "search/code_space.h"

#include <algorithm>

#include "common/error.h"

namespace triseg::search {

void CodeSpace::validate() const {
    TRISEG_CHECK(layers >= 1, ConfigError, "the search space needs at least one layer");
    TRISEG_CHECK(tmax >= 12 && tmax <= 255, ConfigError,
                 "approx.tmax must be in [12, 255], got " << tmax);
}

CodeRange CodeSpace::t1() const {
    return {2, std::min(10, tmax - 8)};
}
CodeRange CodeSpace::t2(int32_t t1) const {
    return {t1 + 4, tmax - 4};
}
CodeRange CodeSpace::v1(int32_t t1, int32_t t2) const {
    return {t1 + 1, t2 - 1};
}
CodeRange CodeSpace::v2(int32_t t2) const {
    return {t2 + 1, tmax};
}

namespace {
int32_t pick(Rng& rng, CodeRange r) {
    return r.lo + static_cast<int32_t>(rng.uniform_below(static_cast<uint64_t>(r.size())));
}
} // namespace

engine::LayerCodes CodeSpace::sample(Rng& rng) const {
    engine::LayerCodes c;
    c.tmax = tmax;
    c.t1 = pick(rng, t1());
    c.t2 = pick(rng, t2(c.t1));
    c.v1 = pick(rng, v1(c.t1, c.t2));
    c.v2 = pick(rng, v2(c.t2));
    return c;
}

int64_t CodeSpace::count() const {
    int64_t n = 0;
    const auto r1 = t1();
    for (int32_t a = r1.lo; a <= r1.hi; ++a) {
        const auto r2 = t2(a);
        for (int32_t b = r2.lo; b <= r2.hi; ++b) {
            n += static_cast<int64_t>(v1(a, b).size()) * v2(b).size();
        }
    }
    return n;
}

} // namespace triseg::search
