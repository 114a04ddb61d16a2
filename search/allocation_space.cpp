// AllocationSpace: the Lloyd-Max table over (layer, tmax) and the vectors that index it.
#include "search/allocation_space.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/option_checks.h"
#include "search/code_space.h"

namespace triseg::search {

AllocationSpace::AllocationSpace(int32_t tmax_min,
                                 int32_t tmax_max,
                                 const std::vector<CodeCounts>& histograms)
    : tmax_min_(tmax_min), tmax_max_(tmax_max), histograms_(histograms) {
    detail::check_range<int64_t>("search.tmax_min", tmax_min, 12, 255);
    detail::check_range<int64_t>("search.tmax_max", tmax_max, tmax_min, 255);
    const auto layer_count = static_cast<int64_t>(histograms.size());
    TRISEG_CHECK(layer_count > 0, InputError,
                 "the allocation space needs the code histograms of the reward images, and none "
                 "were computed");
    // lloyd_code_set checks every histogram (non-negative, not empty) once.
    for (int32_t t = tmax_min; t <= tmax_max; ++t) {
        const CodeSet set = lloyd_code_set(CodeSpace{layer_count, t}, histograms);
        table_.resize(set.layers.size());
        for (size_t l = 0; l < set.layers.size(); ++l) {
            table_[l].push_back(set.layers[l]);
        }
    }
}

const engine::LayerCodes& AllocationSpace::codes(int64_t layer, int32_t tmax) const {
    const int32_t t = std::clamp(tmax, tmax_min_, tmax_max_);
    return table_.at(static_cast<size_t>(layer)).at(static_cast<size_t>(t - tmax_min_));
}

engine::CodeSet AllocationSpace::decode(const std::vector<int32_t>& tmax) const {
    TRISEG_CHECK(static_cast<int64_t>(tmax.size()) == layers(), InputError,
                 "an allocation of " << tmax.size() << " layers; the model has " << layers());
    engine::CodeSet out;
    for (size_t l = 0; l < tmax.size(); ++l) {
        out.layers.push_back(codes(static_cast<int64_t>(l), tmax[l]));
    }
    return out;
}

std::vector<int32_t> AllocationSpace::tmax_of(const engine::CodeSet& codes) const {
    TRISEG_CHECK(static_cast<int64_t>(codes.layers.size()) == layers(), InputError,
                 "codes of " << codes.layers.size() << " layers; the model has " << layers());
    std::vector<int32_t> out;
    for (const auto& c : codes.layers) {
        out.push_back(std::clamp(c.tmax, tmax_min_, tmax_max_));
    }
    return out;
}

engine::CodeSet AllocationSpace::uniform(int32_t tmax) const {
    return decode(std::vector<int32_t>(static_cast<size_t>(layers()), tmax));
}

double AllocationSpace::covered_share(int64_t layer, int32_t tmax) const {
    const CodeCounts& h = histograms_.at(static_cast<size_t>(layer));
    int64_t total = 0;
    int64_t below = 0;
    for (int32_t c = 0; c < 256; ++c) {
        total += h[static_cast<size_t>(c)];
        below += c <= tmax ? h[static_cast<size_t>(c)] : 0;
    }
    return total > 0 ? static_cast<double>(below) / static_cast<double>(total) : 0.0;
}

std::vector<int32_t> AllocationSpace::quantile_tmax(double p) const {
    TRISEG_CHECK(p > 0.0 && p <= 1.0, InputError,
                 "a coverage quantile must be in (0, 1], got " << p);
    std::vector<int32_t> out;
    for (int64_t l = 0; l < layers(); ++l) {
        int32_t t = tmax_min_;
        while (t < tmax_max_ && covered_share(l, t) < p) {
            ++t;
        }
        out.push_back(t);
    }
    return out;
}

std::vector<int32_t> AllocationSpace::spread(int64_t n) const {
    std::vector<int32_t> out;
    if (n <= 0) {
        return out;
    }
    if (n == 1) {
        return {tmax_min_};
    }
    for (int64_t i = 0; i < n; ++i) {
        const double t = tmax_min_ + static_cast<double>(tmax_max_ - tmax_min_) *
                                         static_cast<double>(i) / static_cast<double>(n - 1);
        const auto v = static_cast<int32_t>(std::floor(t + 0.5));
        if (out.empty() || out.back() != v) {
            out.push_back(v);
        }
    }
    return out;
}

} // namespace triseg::search
