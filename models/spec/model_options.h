// ModelOptions: the network's architecture (family and depth, width multiplier, input, classes).
#pragma once

#include <cstdint>

#include "common/option_checks.h"

namespace triseg::models {

/// Architectures. Config values: vgg11, vgg16 (plain chains), resnet20, resnet32, resnet56
/// (CIFAR ResNets: 3 stages of 16/32/64 channels, BasicBlocks), resnet18 (the CIFAR
/// adaptation: 3x3 stem, 4 stages of 64-512 channels), mobilenetv2 (inverted residual blocks,
/// ReLU6, CIFAR strides).
enum class ModelArch { Vgg11, Vgg16, ResNet20, ResNet32, ResNet56, ResNet18, MobileNetV2 };

/// Whether `arch` is a VGG chain (vgg11, vgg16).
inline bool is_vgg(ModelArch arch) {
    return arch == ModelArch::Vgg11 || arch == ModelArch::Vgg16;
}

/// Options of the `model` config section; also stored inside every checkpoint.
struct ModelOptions {
    /// `model.arch`: vgg16 has 13 convs (conv1_1 ... conv5_3), vgg11 has 8; see ModelArch.
    ModelArch arch = ModelArch::Vgg16;
    /// `model.width`: channel multiplier on the architecture's standard widths (VGG:
    /// 64-128-256-512-512).
    double width = 0.25;
    /// `model.in_channels`: image channels (1 for Fashion-MNIST, 3 for CIFAR-10).
    int64_t in_channels = 1;
    /// `model.num_classes`: outputs of the linear classifier.
    int64_t num_classes = 10;
    /// `model.image_size`: input height and width; a multiple of 32 for VGG (five pools), at
    /// least 8 for the others (28 and 32 for the shipped datasets).
    int64_t image_size = 32;

    bool operator==(const ModelOptions& o) const {
        return arch == o.arch && width == o.width && in_channels == o.in_channels &&
               num_classes == o.num_classes && image_size == o.image_size;
    }
    bool operator!=(const ModelOptions& o) const { return !(*this == o); }

    void validate() const {
        detail::check_range("model.width", width, 0.01, 4.0);
        detail::check_range<int64_t>("model.in_channels", in_channels, 1, 64);
        detail::check_range<int64_t>("model.num_classes", num_classes, 2, 100000);
        if (!is_vgg(arch)) {
            detail::check_range<int64_t>("model.image_size", image_size, 8, 1024);
            return;
        }
        detail::check_range<int64_t>("model.image_size", image_size, 32, 1024);
        TRISEG_CHECK(image_size % 32 == 0, ConfigError,
                     "`model.image_size` must be a multiple of 32 for VGG (five 2x2 max-pools), "
                     "got "
                         << image_size);
    }
};

} // namespace triseg::models
