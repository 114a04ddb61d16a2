// Histogram statistics and the heuristic codes.
#include "engine/analysis/activation_stats.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace triseg::engine {

const std::vector<double>& default_percentile_levels() {
    static const std::vector<double> levels = {1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9};
    return levels;
}

namespace {

int64_t total_of(const CodeHistogram& h) {
    int64_t t = 0;
    for (int64_t v : h) {
        t += v;
    }
    return t;
}

} // namespace

int32_t histogram_percentile(const CodeHistogram& histogram, double level) {
    const int64_t total = total_of(histogram);
    if (total == 0) {
        return 0;
    }
    // cum >= level/100 * total, compared exactly in long double (total < 2^63).
    const long double need = static_cast<long double>(level) / 100.0L * total;
    int64_t cum = 0;
    for (int c = 0; c < 256; ++c) {
        cum += histogram[c];
        if (histogram[c] > 0 && static_cast<long double>(cum) >= need) {
            return c;
        }
    }
    return 255;
}

double fraction_at_most(const CodeHistogram& histogram, int32_t tmax) {
    const int64_t total = total_of(histogram);
    int64_t low = 0;
    for (int c = 0; c <= std::min(tmax, 255); ++c) {
        low += histogram[c];
    }
    return total ? static_cast<double>(low) / static_cast<double>(total) : 0.0;
}

ValueStats code_value_stats(const CodeHistogram& histogram, float scale, int32_t zero_point) {
    ValueStats s;
    s.count = total_of(histogram);
    if (s.count == 0) {
        return s;
    }
    long double sum = 0;
    long double sq = 0;
    int lo = -1;
    int hi = -1;
    for (int c = 0; c < 256; ++c) {
        if (histogram[c] == 0) {
            continue;
        }
        lo = lo < 0 ? c : lo;
        hi = c;
        const long double d = c - zero_point;
        sum += d * histogram[c];
        sq += d * d * histogram[c];
    }
    const long double n = s.count;
    const long double mean = sum / n;
    s.mean = static_cast<double>(mean * scale);
    s.std = static_cast<double>(std::sqrt(std::max<long double>(0, sq / n - mean * mean)) * scale);
    s.min = static_cast<double>(scale) * (lo - zero_point);
    s.max = static_cast<double>(scale) * (hi - zero_point);
    s.zero_fraction =
        zero_point >= 0 && zero_point <= 255 ? static_cast<double>(histogram[zero_point]) / n : 0;
    return s;
}

ValueStats weight_stats(const models::Int8ConvLayer& layer) {
    ValueStats s;
    const size_t per_channel =
        layer.weight_scale.empty() ? 0 : layer.weight.size() / layer.weight_scale.size();
    s.count = static_cast<int64_t>(layer.weight.size());
    if (s.count == 0 || per_channel == 0) {
        return s;
    }
    long double sum = 0;
    long double sq = 0;
    int64_t zeros = 0;
    s.min = INFINITY;
    s.max = -INFINITY;
    for (size_t i = 0; i < layer.weight.size(); ++i) {
        const double w = static_cast<double>(layer.weight_scale[i / per_channel]) * layer.weight[i];
        sum += w;
        sq += static_cast<long double>(w) * w;
        zeros += layer.weight[i] == 0;
        s.min = std::min(s.min, w);
        s.max = std::max(s.max, w);
    }
    const long double n = s.count;
    s.mean = static_cast<double>(sum / n);
    s.std =
        static_cast<double>(std::sqrt(std::max<long double>(0, sq / n - (sum / n) * (sum / n))));
    s.zero_fraction = static_cast<double>(zeros) / static_cast<double>(s.count);
    return s;
}

TableEffect table_effect(const CodeHistogram& before, const CodeTable& table) {
    TableEffect e;
    const int64_t total = total_of(before);
    int64_t changed = 0;
    int64_t zeroed = 0;
    long double sq = 0;
    for (int c = 0; c < 256; ++c) {
        const int64_t h = before[c];
        e.after[table[c]] += h;
        changed += table[c] != c ? h : 0;
        zeroed += c != 0 && table[c] == 0 ? h : 0;
        const long double d = static_cast<int>(table[c]) - c;
        sq += d * d * h;
    }
    if (total > 0) {
        e.changed = static_cast<double>(changed) / static_cast<double>(total);
        e.zeroed = static_cast<double>(zeroed) / static_cast<double>(total);
        e.mse = static_cast<double>(sq / total);
    }
    return e;
}

namespace {

/// Mean code of (lo, hi] under the histogram, rounded; `fallback` when that range is empty.
int32_t mean_code(const CodeHistogram& h, int32_t lo, int32_t hi, int32_t fallback) {
    long double sum = 0;
    int64_t n = 0;
    for (int32_t c = lo + 1; c <= hi; ++c) {
        sum += static_cast<long double>(c) * h[static_cast<size_t>(c)];
        n += h[static_cast<size_t>(c)];
    }
    return n ? static_cast<int32_t>(std::lround(static_cast<double>(sum / n))) : fallback;
}

} // namespace

LayerCodes heuristic_codes(const CodeHistogram& histogram, int32_t tmax) {
    TRISEG_CHECK(tmax >= 12 && tmax <= 255, InputError,
                 "heuristic codes need tmax in [12, 255], got " << tmax);
    int64_t mass = 0;
    for (int32_t c = 1; c <= tmax; ++c) {
        mass += histogram[static_cast<size_t>(c)];
    }
    if (mass == 0) {
        return evenly_spaced_codes(tmax);
    }
    // The codes where the cumulative mass of [1, tmax] first reaches 1/3 and 2/3.
    auto cut = [&](int64_t num) {
        int64_t cum = 0;
        for (int32_t c = 1; c <= tmax; ++c) {
            cum += histogram[static_cast<size_t>(c)];
            if (cum * 3 >= mass * num) {
                return c;
            }
        }
        return tmax;
    };
    LayerCodes k;
    k.tmax = tmax;
    k.t1 = std::clamp(cut(1), 2, std::min(10, tmax - 8));
    k.t2 = std::clamp(cut(2), k.t1 + 4, tmax - 4);
    k.v1 = std::clamp(mean_code(histogram, k.t1, k.t2, (k.t1 + k.t2) / 2), k.t1 + 1, k.t2 - 1);
    k.v2 = std::clamp(mean_code(histogram, k.t2, tmax, (k.t2 + tmax + 1) / 2), k.t2 + 1, tmax);
    validate_codes(k, "", "the heuristic");
    return k;
}

} // namespace triseg::engine
