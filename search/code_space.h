// CodeSpace: the valid tri-segment codes of each layer, for sampling and masking.
#pragma once

#include <cstdint>

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
};

} // namespace triseg::search
