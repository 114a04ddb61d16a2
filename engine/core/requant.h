// Fixed-point requantization: the one rounding rule of triseg's integer network.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/error.h"

namespace triseg::engine {

/// A positive real multiplier M represented as multiplier * 2^-shift with
/// multiplier in [2^30, 2^31) and shift in [1, 62].
struct FixedPointMultiplier {
    int32_t multiplier = 0;
    int32_t shift = 0;

    bool operator==(const FixedPointMultiplier& o) const {
        return multiplier == o.multiplier && shift == o.shift;
    }
};

/// Nearest FixedPointMultiplier to `m` (computed in double; frexp and the rounding of
/// frac*2^31 are exact IEEE operations, so every platform gets the same integers).
/// @throws InputError unless 2^-31 <= m < 2^30.
inline FixedPointMultiplier quantize_multiplier(double m) {
    TRISEG_CHECK(std::isfinite(m) && m >= std::ldexp(1.0, -31) && m < std::ldexp(1.0, 30),
                 InputError,
                 "requantization multiplier " << m << " is outside [2^-31, 2^30); the layer's "
                                              << "scales are degenerate");
    int exponent = 0;
    const double frac = std::frexp(m, &exponent); // m = frac * 2^exponent, frac in [0.5, 1)
    auto q = static_cast<int64_t>(std::llround(frac * 2147483648.0));
    if (q == (int64_t{1} << 31)) {
        if (exponent < 30) {
            q /= 2; // 2^31 * 2^(e-31) == 2^30 * 2^(e+1-31)
            ++exponent;
        } else {
            q -= 1; // just below 2^30: the nearest representable multiplier with shift 1
        }
    }
    FixedPointMultiplier out;
    out.multiplier = static_cast<int32_t>(q);
    out.shift = 31 - exponent;
    TRISEG_CHECK(out.shift >= 1 && out.shift <= 62, InputError,
                 "requantization multiplier " << m << " needs shift " << out.shift
                                              << ", outside [1, 62]");
    return out;
}

/// The two multipliers of an add, m_a = s_a / s_out and m_b = s_b / s_out, over one shift:
/// shift and the larger multiplier are quantize_multiplier(max(m_a, m_b)); the smaller is
/// llround(m * 2^shift) (in [0, 2^31)). docs/int8-model.md gives the add's arithmetic.
struct AddMultipliers {
    int32_t a = 0;
    int32_t b = 0;
    int32_t shift = 0;
};

/// @throws InputError unless 2^-31 <= max(m_a, m_b) < 2^30 and both are >= 0.
inline AddMultipliers quantize_add_multipliers(double ma, double mb) {
    TRISEG_CHECK(ma >= 0.0 && mb >= 0.0, InputError,
                 "add multipliers " << ma << " and " << mb << " must be >= 0");
    const FixedPointMultiplier big = quantize_multiplier(ma > mb ? ma : mb);
    const auto other = [&big](double m) {
        const auto q = std::llround(std::ldexp(m, big.shift));
        return static_cast<int32_t>(q > 2147483647LL ? 2147483647LL : q);
    };
    AddMultipliers out;
    out.shift = big.shift;
    out.a = ma > mb ? big.multiplier : other(ma);
    out.b = ma > mb ? other(mb) : big.multiplier;
    return out;
}

/// round(x * M) with ties rounded up (toward +infinity), exactly, in 64-bit integers:
///     (x * multiplier + 2^(shift-1)) >> shift        (arithmetic shift = floor)
inline int64_t apply_multiplier(int32_t x, FixedPointMultiplier m) {
    const int64_t p = static_cast<int64_t>(x) * m.multiplier;
    return (p + (int64_t{1} << (m.shift - 1))) >> m.shift;
}

/// The block epilogue: uint8 code of an int32 accumulator (bias already added) followed by
/// ReLU, i.e. clamp(zero_point + round(acc * M), zero_point, 255).
inline uint8_t requantize_relu(int32_t acc, FixedPointMultiplier m, int32_t zero_point) {
    int64_t y = zero_point + apply_multiplier(acc, m);
    y = y < zero_point ? zero_point : y;
    return static_cast<uint8_t>(y > 255 ? 255 : y);
}

/// The graph ops' epilogue (add, average pools): zp + ((v * m + 2^(s-1)) >> s) in int64,
/// clamped to [lo, hi].
inline uint8_t
requantize_clamped(int64_t v, int32_t m, int32_t s, int32_t zp, int32_t lo, int32_t hi) {
    int64_t y = zp + ((v * m + (int64_t{1} << (s - 1))) >> s);
    y = y < lo ? lo : y;
    return static_cast<uint8_t>(y > hi ? hi : y);
}

} // namespace triseg::engine
