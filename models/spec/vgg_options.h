// VggOptions: architecture of the VGG family (layout, width multiplier, input, classes).
#pragma once

#include <cstdint>

#include "common/option_checks.h"

namespace triseg::models {

/// VGG layouts. Config values: vgg11, vgg16.
enum class VggArch { Vgg11, Vgg16 };

/// Options of the `model` config section; also stored inside every checkpoint.
struct VggOptions {
    /// `model.arch`: vgg16 has 13 convs (conv1_1 ... conv5_3), vgg11 has 8.
    VggArch arch = VggArch::Vgg16;
    /// `model.width`: channel multiplier on the standard 64-128-256-512-512 widths.
    double width = 0.25;
    /// `model.in_channels`: image channels (1 for Fashion-MNIST, 3 for CIFAR-10).
    int64_t in_channels = 1;
    /// `model.num_classes`: outputs of the linear classifier.
    int64_t num_classes = 10;
    /// `model.image_size`: input height and width; must be a multiple of 32 (five pools).
    int64_t image_size = 32;

    bool operator==(const VggOptions& o) const {
        return arch == o.arch && width == o.width && in_channels == o.in_channels &&
               num_classes == o.num_classes && image_size == o.image_size;
    }
    bool operator!=(const VggOptions& o) const { return !(*this == o); }

    void validate() const {
        detail::check_range("model.width", width, 0.01, 4.0);
        detail::check_range<int64_t>("model.in_channels", in_channels, 1, 64);
        detail::check_range<int64_t>("model.num_classes", num_classes, 2, 100000);
        detail::check_range<int64_t>("model.image_size", image_size, 32, 1024);
        TRISEG_CHECK(image_size % 32 == 0, ConfigError,
                     "`model.image_size` must be a multiple of 32 (five 2x2 max-pools), got "
                         << image_size);
    }
};

} // namespace triseg::models
