// CodeSpace ranges and uniform sampling.
#include "search/code_space.h"

#include <algorithm>
#include <cmath>

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

int64_t CodeSpace::dimension() const {
    return 4 * layers;
}

std::vector<double> CodeSpace::lower_bounds() const {
    const int32_t a = t1().lo;
    std::vector<double> out;
    for (int64_t l = 0; l < layers; ++l) {
        out.insert(out.end(), {double(a), double(a + 4), double(a + 1), double(a + 5)});
    }
    return out;
}

std::vector<double> CodeSpace::upper_bounds() const {
    std::vector<double> out;
    for (int64_t l = 0; l < layers; ++l) {
        out.insert(out.end(), {double(t1().hi), double(tmax - 4), double(tmax - 5), double(tmax)});
    }
    return out;
}

std::vector<double> CodeSpace::encode(const engine::CodeSet& codes) const {
    TRISEG_CHECK(static_cast<int64_t>(codes.layers.size()) == layers, InputError,
                 "CodeSpace::encode: the code set has " << codes.layers.size()
                                                        << " layers; the space has " << layers);
    std::vector<double> x;
    x.reserve(static_cast<size_t>(dimension()));
    for (const auto& c : codes.layers) {
        x.insert(x.end(), {double(c.t1), double(c.t2), double(c.v1), double(c.v2)});
    }
    return x;
}

namespace {
/// round(clamp(x, r)); r is never empty for a valid space and earlier picks inside their ranges.
int32_t nearest(double x, CodeRange r) {
    return static_cast<int32_t>(std::round(std::clamp(x, double(r.lo), double(r.hi))));
}
} // namespace

engine::CodeSet CodeSpace::decode(const std::vector<double>& x) const {
    TRISEG_CHECK(static_cast<int64_t>(x.size()) == dimension(), InputError,
                 "CodeSpace::decode: the vector has " << x.size() << " values; the space needs "
                                                      << dimension() << " (4 per layer)");
    for (size_t i = 0; i < x.size(); ++i) {
        TRISEG_CHECK(std::isfinite(x[i]), InputError,
                     "CodeSpace::decode: value " << i << " (layer " << i / 4 << ") is " << x[i]
                                                 << "; codes need finite numbers");
    }
    engine::CodeSet out;
    for (int64_t l = 0; l < layers; ++l) {
        const double* v = x.data() + 4 * l;
        engine::LayerCodes c;
        c.tmax = tmax;
        c.t1 = nearest(v[0], t1());
        c.t2 = nearest(v[1], t2(c.t1));
        c.v1 = nearest(v[2], v1(c.t1, c.t2));
        c.v2 = nearest(v[3], v2(c.t2));
        out.layers.push_back(c);
    }
    return out;
}

engine::CodeSet CodeSpace::repair(const engine::CodeSet& codes) const {
    return decode(encode(codes));
}

} // namespace triseg::search
