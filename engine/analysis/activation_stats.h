// Statistics of uint8 codes from 256-bin histograms (percentiles, real-valued moments, what a
// table does), weight statistics, and the histogram-based heuristic codes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/code_set.h"
#include "engine/int8/int8_network.h"
#include "models/spec/int8_model.h"

namespace triseg::engine {

/// The percentile levels collect-percentiles writes (percent).
const std::vector<double>& default_percentile_levels();

/// The smallest code c with (codes <= c) >= level/100 of all codes; 0 for an empty histogram.
int32_t histogram_percentile(const CodeHistogram& histogram, double level);

/// Fraction of codes <= tmax (0 for an empty histogram).
double fraction_at_most(const CodeHistogram& histogram, int32_t tmax);

/// Mean, standard deviation (population), extremes and fraction of exact zeros of values.
struct ValueStats {
    int64_t count = 0;
    double mean = 0.0;
    double std = 0.0;
    double min = 0.0;
    double max = 0.0;
    double zero_fraction = 0.0;
};

/// Statistics of the real values scale * (code - zero_point) that `histogram` counts
/// (exact: sums in long double over the 256 bins). Zeros are codes == zero_point.
ValueStats code_value_stats(const CodeHistogram& histogram, float scale, int32_t zero_point);

/// Statistics of a conv layer's real weights weight_scale[oc] * weight (zeros: weight == 0);
/// any kernel size and groups: each output channel owns weight.size() / out_channels weights.
ValueStats weight_stats(const models::Int8ConvLayer& layer);

/// What a table does to codes counted by `before`.
struct TableEffect {
    CodeHistogram after{}; ///< histogram of table[c]
    double changed = 0.0;  ///< fraction with table[c] != c
    double zeroed = 0.0;   ///< fraction with c != 0 and table[c] == 0
    double mse = 0.0;      ///< mean of (table[c] - c)^2, in code units
};

TableEffect table_effect(const CodeHistogram& before, const CodeTable& table);

/// Codes that follow a layer's histogram for a given tmax: t1 and t2 split the codes in
/// [1, tmax] into three parts of equal mass, v1 and v2 are the mean codes of (t1, t2] and
/// (t2, tmax] (rounded), each clamped to the search space's rules (validate_codes holds).
/// With no codes in [1, tmax], evenly_spaced_codes(tmax).
/// @throws InputError when tmax is outside [12, 255].
LayerCodes heuristic_codes(const CodeHistogram& histogram, int32_t tmax);

} // namespace triseg::engine
