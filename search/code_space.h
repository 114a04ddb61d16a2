// CodeSpace: the valid tri-segment codes of each layer, for sampling and masking.
#pragma once

#include <cstdint>
#include <vector>

#include "common/rng.h"
#include "engine/core/code_set.h"

namespace triseg::search {

/// Inclusive integer range [lo, hi]; empty when lo > hi.
struct CodeRange {
    int32_t lo = 0;
    int32_t hi = -1;
    bool contains(int32_t v) const { return v >= lo && v <= hi; }
    int32_t size() const { return hi >= lo ? hi - lo + 1 : 0; }
};

/// The original's rules, in sampling order t1, t2, v1, v2, for a fixed tmax:
///   t1 in [2, min(10, tmax-8)], t2 in [t1+4, tmax-4], v1 in [t1+1, t2-1], v2 in [t2+1, tmax].
/// Every pick from these ranges gives codes that engine::validate_codes accepts.
struct CodeSpace {
    int64_t layers = 13;
    int32_t tmax = 32;

    /// @throws ConfigError when layers < 1 or tmax is outside [12, 255].
    void validate() const;

    CodeRange t1() const;
    CodeRange t2(int32_t t1) const;
    CodeRange v1(int32_t t1, int32_t t2) const;
    CodeRange v2(int32_t t2) const;

    /// Uniform draws in sampling order.
    engine::LayerCodes sample(Rng& rng) const;
    /// Number of valid LayerCodes for one layer.
    int64_t count() const;

    // Real-vector view, for methods that search in a box (evolutionary methods, pagmo2).
    // Coordinate 4*l + k of layer l holds, for k = 0..3: t1, t2, v1, v2 (sampling order).

    /// Length of the real vector: 4 * layers.
    int64_t dimension() const;
    /// Per coordinate, the smallest and largest value any valid code set takes there (the union
    /// of each range over all earlier picks): t1 in t1(), t2 in [t1().lo + 4, tmax - 4],
    /// v1 in [t1().lo + 1, tmax - 5], v2 in [t1().lo + 5, tmax].
    std::vector<double> lower_bounds() const;
    std::vector<double> upper_bounds() const;
    /// The codes as a real vector (exact integers); `codes` must have `layers` layers.
    /// @throws InputError on another layer count.
    std::vector<double> encode(const engine::CodeSet& codes) const;
    /// The nearest valid codes of a real vector: per layer, in sampling order t1, t2, v1, v2,
    /// each coordinate is clamped into its range given the earlier (already repaired) picks and
    /// rounded to the nearest integer (halves away from zero). decode(encode(c)) == c for valid c.
    /// @throws InputError when the length is not dimension() or a value is NaN or infinite.
    engine::CodeSet decode(const std::vector<double>& x) const;
    /// The nearest valid codes by the same rule as decode(); valid codes come back unchanged.
    /// @throws InputError when the layer count differs from `layers`.
    engine::CodeSet repair(const engine::CodeSet& codes) const;

    // Relative real encoding (the real-valued evolutionary methods): 4 numbers in [0, 1] per
    // layer, u = (u_t1, u_t2, u_v1, u_v2), decoded in sampling order, each one picking a
    // position inside the range the earlier picks leave: for a range r of n values,
    // code = r.lo + min(n - 1, floor(u * n)). Every vector decodes to valid codes; the inverse
    // gives each code the middle of its cell, (index + 0.5) / n.

    /// The codes as a relative vector (4 per layer, each in (0, 1)); `codes` must be valid for
    /// this space. decode_relative(encode_relative(c)) == c.
    /// @throws InputError on another layer count or codes outside the space.
    std::vector<double> encode_relative(const engine::CodeSet& codes) const;
    /// The codes of a relative vector; values are clamped into [0, 1] first.
    /// @throws InputError when the length is not dimension() or a value is NaN or infinite.
    engine::CodeSet decode_relative(const std::vector<double>& x) const;
};

} // namespace triseg::search
