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

/// Length and finiteness of a vector handed to decode or decode_relative.
void check_vector(const std::vector<double>& x, int64_t dimension, const char* what) {
    TRISEG_CHECK(static_cast<int64_t>(x.size()) == dimension, InputError,
                 "CodeSpace::" << what << ": the vector has " << x.size()
                               << " values; the space needs " << dimension << " (4 per layer)");
    for (size_t i = 0; i < x.size(); ++i) {
        TRISEG_CHECK(std::isfinite(x[i]), InputError,
                     "CodeSpace::" << what << ": value " << i << " (layer " << i / 4 << ") is "
                                   << x[i] << "; codes need finite numbers");
    }
}

/// r.lo + min(n - 1, floor(clamp(u, 0, 1) * n)) for a range of n >= 1 values.
int32_t relative_pick(double u, CodeRange r) {
    const int32_t n = r.size();
    const double cell = std::floor(std::clamp(u, 0.0, 1.0) * double(n));
    return r.lo + std::min(n - 1, static_cast<int32_t>(cell));
}

/// The middle of the cell of `code` in r: (code - r.lo + 0.5) / n.
double relative_position(int32_t code, CodeRange r) {
    return (double(code - r.lo) + 0.5) / double(r.size());
}
} // namespace

namespace {
/// One layer picked in sampling order t1, t2, v1, v2, each by `pick(value, range)` from the
/// range the earlier picks leave: decode (nearest) and decode_relative (relative cell) differ
/// only in `pick`.
template <typename Pick>
engine::LayerCodes pick_layer(const CodeSpace& space, const double* x, Pick pick) {
    engine::LayerCodes c;
    c.tmax = space.tmax;
    c.t1 = pick(x[0], space.t1());
    c.t2 = pick(x[1], space.t2(c.t1));
    c.v1 = pick(x[2], space.v1(c.t1, c.t2));
    c.v2 = pick(x[3], space.v2(c.t2));
    return c;
}

template <typename Pick>
engine::CodeSet
pick_codes(const CodeSpace& space, const std::vector<double>& x, const char* what, Pick pick) {
    check_vector(x, space.dimension(), what);
    engine::CodeSet out;
    for (int64_t l = 0; l < space.layers; ++l) {
        out.layers.push_back(pick_layer(space, x.data() + 4 * l, pick));
    }
    return out;
}
} // namespace

engine::CodeSet CodeSpace::decode(const std::vector<double>& x) const {
    return pick_codes(*this, x, "decode", nearest);
}

engine::CodeSet CodeSpace::decode_relative(const std::vector<double>& x) const {
    return pick_codes(*this, x, "decode_relative", relative_pick);
}

std::vector<double> CodeSpace::encode_relative(const engine::CodeSet& codes) const {
    TRISEG_CHECK(static_cast<int64_t>(codes.layers.size()) == layers, InputError,
                 "CodeSpace::encode_relative: the code set has "
                     << codes.layers.size() << " layers; the space has " << layers);
    std::vector<double> x;
    x.reserve(static_cast<size_t>(dimension()));
    for (size_t l = 0; l < codes.layers.size(); ++l) {
        const auto& c = codes.layers[l];
        const bool inside = c.tmax == tmax && t1().contains(c.t1) && t2(c.t1).contains(c.t2) &&
                            v1(c.t1, c.t2).contains(c.v1) && v2(c.t2).contains(c.v2);
        TRISEG_CHECK(inside, InputError,
                     "CodeSpace::encode_relative: layer "
                         << l << " (" << engine::to_string(c)
                         << ") is outside the search space of tmax " << tmax);
        x.insert(x.end(),
                 {relative_position(c.t1, t1()), relative_position(c.t2, t2(c.t1)),
                  relative_position(c.v1, v1(c.t1, c.t2)), relative_position(c.v2, v2(c.t2))});
    }
    return x;
}

engine::CodeSet CodeSpace::repair(const engine::CodeSet& codes) const {
    return decode(encode(codes));
}

} // namespace triseg::search
