// The VGG family's layer table (names, channels, pooling), independent of LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/spec/model_options.h"

namespace triseg::models {

/// One fused conv block: conv3x3 (padding 1) + BatchNorm + ReLU, optionally followed by a
/// 2x2 max-pool. `name` (conv<stage>_<index>) is the key used for codes, dumps and results.
struct VggLayerSpec {
    std::string name;
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    bool pool_after = false;
};

/// Channels of a standard width scaled by the multiplier: max(1, round(base * width)).
int64_t scaled_width(int64_t base, double width);

/// The conv blocks of `opts.arch` in forward order (13 for vgg16, 8 for vgg11).
/// @throws ConfigError naming the arch when it is not vgg11 or vgg16.
std::vector<VggLayerSpec> vgg_layout(const ModelOptions& opts);

/// Canonical config spelling ("vgg16", "resnet20", ...).
std::string arch_name(ModelArch arch);

} // namespace triseg::models
