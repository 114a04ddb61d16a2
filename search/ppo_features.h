// PpoFeatures: the per-layer state of PPO's `ppo.state: enhanced` (the original's scheme 1).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "engine/core/code_set.h"

namespace triseg::search {

/// What the enhanced state knows of one approximation point, gathered by the caller (the CLI
/// reads it from the integer model and the teacher's code histograms on the reward images).
struct PpoLayerFacts {
    /// How often each code 0..255 occurs at the point in the teacher on the reward images.
    std::array<int64_t, 256> histogram{};
    /// The point's quantization: real = scale * (code - zero_point).
    double scale = 1.0;
    int32_t zero_point = 0;
    /// The real weights (int8 weight times its channel's scale) of the conv that makes the
    /// point; empty for a point made by an add.
    std::vector<double> weights;
};

/// The static features of every layer, standardized over the layers (rows: layers, columns:
/// kPpoStaticFeatures), in this order:
///
///     0 depth l / (L - 1) (0 for one layer)
///     1-4 mean, standard deviation, skewness, excess kurtosis of the real values
///         scale * (c - zero_point) under the histogram (skewness and kurtosis 0 when the
///         standard deviation is 0)
///     5-7 the 10th, 50th and 90th percentile of those values: the real value of the
///         smallest code c whose cumulative count reaches p * total
///     8 L2 norm of the weights; 9 their share of exact zeros (both 0 without weights)
///     10 scale; 11 zero point
///
/// Each column is then standardized over the layers: (x - mean) / sd with the population sd;
/// a column that is the same for every layer becomes 0.
/// @throws InputError when `layers` is empty or a histogram counts nothing.
std::vector<std::vector<double>> ppo_static_features(const std::vector<PpoLayerFacts>& layers);

/// Static features per layer (ppo_static_features).
constexpr int64_t kPpoStaticFeatures = 12;
/// Features that depend on the episode: the previous layer's t1 / 255 and t2 / 255 (0 for the
/// first layer).
constexpr int64_t kPpoDynamicFeatures = 2;
/// The length of an enhanced state.
constexpr int64_t kPpoFeatures = kPpoStaticFeatures + kPpoDynamicFeatures;

/// The enhanced state of a layer: its static features, then the previous layer's codes
/// (`previous` null for the first layer).
std::vector<double> ppo_state(const std::vector<double>& static_features,
                              const engine::LayerCodes* previous);

} // namespace triseg::search
