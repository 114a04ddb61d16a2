// make_conv_kernel: which fast kernel runs a graph's conv op.
#include "engine/int8/conv_kernel.h"

#include "engine/int8/conv1x1.h"
#include "engine/int8/depthwise3x3.h"
#include "engine/int8/int8_kernels.h"

namespace triseg::engine {

std::unique_ptr<ConvKernel> make_conv_kernel(const models::Int8Graph& graph,
                                             const models::Int8Op& op) {
    if (op.kind != models::Int8OpKind::Conv) {
        return nullptr;
    }
    if (op.kernel == 3 && op.padding == 1 && op.groups > 1 && op.groups == op.in_channels &&
        op.out_channels == op.in_channels) {
        return std::make_unique<PackedDepthwise3x3>(graph, op);
    }
    if (op.groups != 1) {
        return nullptr;
    }
    if (op.kernel == 3 && op.padding == 1) {
        return std::make_unique<PackedConv3x3>(models::conv_layer_of(graph, op), op.clamp_min,
                                               op.clamp_max, op.stride);
    }
    if (op.kernel == 1 && op.padding == 0) {
        return std::make_unique<PackedConv1x1>(graph, op);
    }
    return nullptr;
}

} // namespace triseg::engine
