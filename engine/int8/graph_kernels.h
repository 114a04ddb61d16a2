// Exact integer kernels of the graph ops other than the packed 3x3 conv: any conv (kernel,
// stride, padding, groups), the requantized add, max and average pooling, global average pool.
#pragma once

#include <cstdint>
#include <vector>

#include "models/spec/int8_graph.h"

namespace triseg::engine {

/// A Conv op of a graph (validated by models::validate_graph), for one image:
/// `in` [C_in][H][W] codes of quantization `in_q`, `out` [C_out][H_out][W_out] codes of
/// quantization `out_q`:
///     acc  = bias[oc] + sum over (ic in oc's group, ky, kx) of
///            w[oc, ic', ky, kx] * (in[ic, y*s - p + ky, x*s - p + kx] - zp_in)
///     code = clamp(zp_out + round_half_up(acc * M[oc]), clamp_min, clamp_max)
/// where padded positions hold zp_in (contribute nothing). Portable loops, any CPU: the input
/// minus its zero point is widened to int32 once, then each output channel plane accumulates
/// tap by tap in branch-free row loops that the compiler vectorizes (exact int32 sums, in
/// another order than the reference's, which is the point of testing the two against each
/// other). `acc` is caller-owned work memory (resized as needed).
void conv_u8(const models::Int8Op& op,
             const models::Int8Tensor& in_t,
             const models::Int8Tensor& out_t,
             const uint8_t* in,
             uint8_t* out,
             std::vector<int32_t>& acc);

/// An Add op: out = clamp(zp_out + ((da * m_a + db * m_b + 2^(s-1)) >> s), clamp_min,
/// clamp_max) per element, with da = a - zp_a, db = b - zp_b, in int64.
void add_u8(const models::Int8Op& op,
            const models::Int8Tensor& a_t,
            const models::Int8Tensor& b_t,
            const models::Int8Tensor& out_t,
            const uint8_t* a,
            const uint8_t* b,
            uint8_t* out);

/// A MaxPool op (k x k window, stride, no padding) on codes.
void maxpool_u8(const models::Int8Op& op,
                const models::Int8Tensor& in_t,
                const models::Int8Tensor& out_t,
                const uint8_t* in,
                uint8_t* out);

/// An AvgPool or GlobalAvgPool op: per output position, sum = sum of (x - zp_in) over the
/// window (int32), code = clamp(zp_out + ((sum * m + 2^(s-1)) >> s), clamp_min, clamp_max)
/// in int64.
void avgpool_u8(const models::Int8Op& op,
                const models::Int8Tensor& in_t,
                const models::Int8Tensor& out_t,
                const uint8_t* in,
                uint8_t* out);

/// The Linear op: logits [out] from the input codes, as models::Int8LinearLayer documents.
void linear_op_u8(const models::Int8Op& op,
                  const models::Int8Tensor& in_t,
                  const uint8_t* in,
                  float* logits);

} // namespace triseg::engine
