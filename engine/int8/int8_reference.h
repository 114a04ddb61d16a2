// Naive reference INT8 kernels: the documented integer rules as plain loops, for tests.
#pragma once

#include <cstdint>

#include <vector>

#include "models/spec/int8_graph.h"
#include "models/spec/int8_model.h"

/// Straight-from-the-formula implementations of engine/int8/int8_kernels.h. They are slow on
/// purpose: one output at a time, int64 accumulation checked against int32, no packing.
/// The fast kernels must match them bit for bit.
namespace triseg::engine::reference {

/// conv3x3 (stride 1, padding with the input zero point) + bias + requantize_relu, then
/// `lut` when not null; in [C_in][H][W] -> out [C_out][H][W] codes.
/// @throws InputError when validate_int8_conv rejects the layer, for H or W < 1, or when an
/// accumulator leaves int32.
void conv3x3_u8(const models::Int8ConvLayer& layer,
                const uint8_t* in,
                int64_t height,
                int64_t width,
                uint8_t* out,
                const uint8_t* lut);

/// 2x2 max-pool, stride 2: in [C][H][W] -> out [C][H/2][W/2].
/// @throws InputError unless channels >= 1 and H, W are even and >= 2.
void maxpool2x2_u8(
    const uint8_t* in, int64_t channels, int64_t height, int64_t width, uint8_t* out);

/// The classifier, per models::Int8LinearLayer's formula.
/// @throws InputError when validate_int8_linear rejects the layer.
void linear_u8(const models::Int8LinearLayer& layer, const uint8_t* x, float* logits);

/// A graph op other than Linear, straight from docs/int8-model.md: each output value on its
/// own, int64 arithmetic, padding as explicit zero-point codes. `inputs` holds one pointer per
/// op input. @throws InputError when a conv accumulator leaves int32.
void graph_op_u8(const models::Int8Graph& graph,
                 const models::Int8Op& op,
                 const std::vector<const uint8_t*>& inputs,
                 uint8_t* out);

/// The whole graph on one image's input codes: logits [num_classes]. `tables` is empty or
/// holds one 256-entry table (or null) per approximation point in forward order, applied to
/// the point's codes right after the op that makes them. `points` (when not null) receives each
/// point's codes before its table.
void graph_forward(const models::Int8Graph& graph,
                   const uint8_t* input,
                   float* logits,
                   const std::vector<const uint8_t*>& tables = {},
                   std::vector<std::vector<uint8_t>>* points = nullptr);

} // namespace triseg::engine::reference
