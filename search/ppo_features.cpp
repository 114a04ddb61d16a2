// PpoFeatures: histogram moments and percentiles, weight norms, standardization.
#include "search/ppo_features.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace triseg::search {

namespace {

/// The unstandardized static features of one layer (ppo_static_features's order but depth).
std::vector<double> raw_features(const PpoLayerFacts& f, size_t index) {
    int64_t total = 0;
    for (int64_t n : f.histogram) {
        total += n;
    }
    TRISEG_CHECK(total > 0, InputError,
                 "the code histogram of layer " << index << " counts nothing; the enhanced PPO "
                                                << "state needs the teacher's codes");
    auto real = [&](int c) { return f.scale * static_cast<double>(c - f.zero_point); };
    const auto n = static_cast<double>(total);
    double mean = 0.0;
    for (int c = 0; c < 256; ++c) {
        mean += static_cast<double>(f.histogram[static_cast<size_t>(c)]) * real(c);
    }
    mean /= n;
    double m2 = 0.0;
    double m3 = 0.0;
    double m4 = 0.0;
    for (int c = 0; c < 256; ++c) {
        const double d = real(c) - mean;
        const double w = static_cast<double>(f.histogram[static_cast<size_t>(c)]);
        m2 += w * d * d;
        m3 += w * d * d * d;
        m4 += w * d * d * d * d;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    const double sd = std::sqrt(m2);
    const double skew = sd > 0.0 ? m3 / (m2 * sd) : 0.0;
    const double kurt = sd > 0.0 ? m4 / (m2 * m2) - 3.0 : 0.0;
    std::vector<double> out{mean, sd, skew, kurt};
    for (const double p : {0.1, 0.5, 0.9}) {
        const double need = p * n;
        int64_t cumulative = 0;
        int code = 255;
        for (int c = 0; c < 256; ++c) {
            cumulative += f.histogram[static_cast<size_t>(c)];
            if (static_cast<double>(cumulative) >= need) {
                code = c;
                break;
            }
        }
        out.push_back(real(code));
    }
    double squares = 0.0;
    int64_t zeros = 0;
    for (double w : f.weights) {
        squares += w * w;
        zeros += w == 0.0 ? 1 : 0;
    }
    out.push_back(std::sqrt(squares));
    out.push_back(f.weights.empty()
                      ? 0.0
                      : static_cast<double>(zeros) / static_cast<double>(f.weights.size()));
    out.push_back(f.scale);
    out.push_back(static_cast<double>(f.zero_point));
    return out;
}

} // namespace

std::vector<std::vector<double>> ppo_static_features(const std::vector<PpoLayerFacts>& layers) {
    TRISEG_CHECK(!layers.empty(), InputError, "the enhanced PPO state needs at least one layer");
    const size_t count = layers.size();
    std::vector<std::vector<double>> rows;
    for (size_t l = 0; l < count; ++l) {
        std::vector<double> row{count > 1 ? static_cast<double>(l) / static_cast<double>(count - 1)
                                          : 0.0};
        const auto raw = raw_features(layers[l], l);
        row.insert(row.end(), raw.begin(), raw.end());
        rows.push_back(std::move(row));
    }
    for (size_t k = 0; k < static_cast<size_t>(kPpoStaticFeatures); ++k) {
        double mean = 0.0;
        for (const auto& r : rows) {
            mean += r[k];
        }
        mean /= static_cast<double>(count);
        double squares = 0.0;
        for (const auto& r : rows) {
            squares += (r[k] - mean) * (r[k] - mean);
        }
        const double sd = std::sqrt(squares / static_cast<double>(count));
        for (auto& r : rows) {
            // A column equal in every layer says nothing (and sd may round to a tiny value).
            r[k] = sd > 1e-12 * std::max(1.0, std::abs(mean)) ? (r[k] - mean) / sd : 0.0;
        }
    }
    return rows;
}

std::vector<double> ppo_state(const std::vector<double>& static_features,
                              const engine::LayerCodes* previous) {
    std::vector<double> s = static_features;
    s.push_back(previous != nullptr ? previous->t1 / 255.0 : 0.0);
    s.push_back(previous != nullptr ? previous->t2 / 255.0 : 0.0);
    return s;
}

} // namespace triseg::search
