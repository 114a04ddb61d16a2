// AllocationSpace: per-layer coverage allocation. One tmax per layer is the decision; the
// codes inside each layer are the Lloyd-Max codes for that tmax, precomputed once.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/code_set.h"
#include "search/lloyd_search.h"

namespace triseg::search {

/// How many uniform-tmax Lloyd-Max points (the same tmax at every layer, AllocationSpace::spread)
/// a searching method's first population starts from: nsga2 in the codes space and every pagmo
/// method in the allocation space.
constexpr int64_t kUniformStarts = 7;

/// The `search.space: allocation` formulation. As in bit-width allocation for mixed-precision
/// quantization, the variable of layer l is how much of it to approximate: its tmax, an integer
/// in [tmax_min, tmax_max]. Its codes are lloyd_codes(histogram l, tmax), the least squared
/// code error for that tmax on the reward images (search/lloyd_search.h), computed for every
/// (layer, tmax) in the constructor. A candidate is therefore a vector of L integers instead of
/// 4 L codes, and every candidate is locally optimal inside each layer.
class AllocationSpace {
public:
    /// @throws ConfigError when 12 <= tmax_min <= tmax_max <= 255 does not hold;
    ///         InputError as lloyd_code_set (no histograms, an empty or negative one).
    AllocationSpace(int32_t tmax_min, int32_t tmax_max, const std::vector<CodeCounts>& histograms);

    int64_t layers() const { return static_cast<int64_t>(histograms_.size()); }
    int32_t tmax_min() const { return tmax_min_; }
    int32_t tmax_max() const { return tmax_max_; }
    /// Number of tmax values per layer: tmax_max - tmax_min + 1.
    int32_t choices() const { return tmax_max_ - tmax_min_ + 1; }

    /// The Lloyd-Max codes of `layer` at `tmax` (clamped into the range).
    const engine::LayerCodes& codes(int64_t layer, int32_t tmax) const;
    /// The code set of one tmax per layer (each clamped into the range).
    /// @throws InputError when the length is not layers().
    engine::CodeSet decode(const std::vector<int32_t>& tmax) const;
    /// Each layer's tmax, clamped into the range (an inverse of decode on its image).
    /// @throws InputError on another layer count.
    std::vector<int32_t> tmax_of(const engine::CodeSet& codes) const;

    /// The same tmax at every layer.
    engine::CodeSet uniform(int32_t tmax) const;
    /// Per layer, the smallest tmax in the range at which at least the share `p` (in (0, 1])
    /// of the layer's reward-image codes is <= tmax (tmax_max when none is): the per-layer
    /// tmax of a coverage quantile.
    std::vector<int32_t> quantile_tmax(double p) const;
    /// `n` tmax values spread evenly over the range, both ends included (rounded to the nearest
    /// integer, halves up; fewer when the range holds fewer than n values), ascending.
    std::vector<int32_t> spread(int64_t n) const;

    /// The share of layer l's reward-image codes that are <= tmax.
    double covered_share(int64_t layer, int32_t tmax) const;

private:
    int32_t tmax_min_;
    int32_t tmax_max_;
    std::vector<CodeCounts> histograms_;
    std::vector<std::vector<engine::LayerCodes>> table_; ///< [layer][tmax - tmax_min]
};

} // namespace triseg::search
