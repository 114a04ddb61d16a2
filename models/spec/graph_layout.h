// The op list of the residual and depthwise networks (ResNet, MobileNetV2), independent of
// LibTorch: what the float network, its QAT network and the exported integer graph share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/spec/model_options.h"

namespace triseg::models {

/// The activation after a conv or an add.
enum class LayoutAct {
    None, ///< linear (a projection shortcut before its add, a MobileNetV2 bottleneck)
    Relu, ///< an approximation point
    Relu6 ///< an approximation point, clamped at 6.0
};

/// One op of a layout. Tensors are named after the op that makes them; "input" is the image.
struct LayoutOp {
    enum class Kind { Conv, Add, GlobalAvgPool, Linear };
    Kind kind = Kind::Conv;
    std::string name;                ///< the module path, e.g. "layer2.1.conv1"
    std::vector<std::string> inputs; ///< names of the tensors it reads
    int64_t in_channels = 0;
    int64_t out_channels = 0; ///< Linear: classes
    int64_t kernel = 1;
    int64_t stride = 1;
    int64_t padding = 0;
    int64_t groups = 1;
    LayoutAct act = LayoutAct::None;
};

/// Whether `op`'s output is an approximation point (it leaves a ReLU or ReLU6). A layout's
/// points are its point ops in layout order; the float, QAT and integer networks all number and
/// name their points so (a point takes its op's name).
inline bool is_point(const LayoutOp& op) {
    return op.act != LayoutAct::None;
}

/// The ops of a non-VGG `opts.arch` in forward order: every conv has a BatchNorm (folded by
/// QAT), the last two ops are the global average pool "gap" and the Linear "fc".
///
///   resnet20/32/56: "conv1" (3x3, 16w, ReLU); stages layer1..3 of n = (depth - 2) / 6
///     BasicBlocks of 16w, 32w, 64w channels (w = width), stride 1, 2, 2: per block
///     "layerS.B.conv1" (3x3, stride, ReLU), "layerS.B.conv2" (3x3, linear), where the shape
///     changes "layerS.B.shortcut" (1x1, stride, linear), and the add "layerS.B.out" (ReLU)
///   resnet18: the same with a 64w stem and 4 stages of 2 blocks, 64w ... 512w, stride
///     1, 2, 2, 2
///   mobilenetv2: "features.0" (3x3, 32w, ReLU6), then the inverted residual blocks (t, c, n,
///     s) = (1,16,1,1) (6,24,2,1) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1)
///     (CIFAR strides: the second stage keeps stride 1): "features.i.expand" (1x1, ReLU6;
///     absent when t = 1), "features.i.dw" (3x3 depthwise, stride, ReLU6),
///     "features.i.project" (1x1, linear) and, when stride 1 and channels are kept, the add
///     "features.i.add" (linear); then "features.18" (1x1, 1280w, ReLU6)
///
/// Channels are scaled_width(base, width); mobilenetv2's head keeps 1280 when width < 1.
/// @throws ConfigError for a VGG arch (vgg_layout describes those).
std::vector<LayoutOp> graph_layout(const ModelOptions& opts);

/// The output side of each op of `layout` for an input of `side` (same order).
std::vector<int64_t> layout_sides(const std::vector<LayoutOp>& layout, int64_t side);

} // namespace triseg::models
