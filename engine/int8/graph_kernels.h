// Exact integer kernels of the graph ops other than the packed 3x3 conv: any conv (kernel,
// stride, padding, groups), the requantized add, max and average pooling, global average pool;
// the add and the global average pool also on AVX2 and AVX-512 (graph_kernels_simd.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "models/spec/int8_graph.h"

namespace triseg::engine {

enum class KernelIsa; // engine/int8/int8_kernels.h

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

/// add_u8 on instruction set `isa`, bit-identical to it on every one (exact int64 products
/// and shifts, no approximation). KernelIsa::Avx2 and Avx512Vnni run 32 codes per step in
/// 256-bit vectors: the differences widened to int32 and multiplied into int64 lanes with
/// _mm256_mul_epi32 (even and odd elements apart), 2^(s-1) + 2^62 added so that the sum is
/// positive and a logical shift (AVX2 has no arithmetic 64-bit one) gives the rounded value
/// plus 2^(62-s) exactly; for s >= 11 the result fits int32 and is clamped there (pack with
/// saturation, then min/max on bytes), for a smaller s it is clamped in int64 first.
/// KernelIsa::Avx512Zmm runs 64 codes per step in 512-bit vectors the same way, with the
/// arithmetic shift of AVX-512F (no offset) and its int64 min/max below shift 11 (1.07-1.10x
/// the AVX2 kernel on this AMD EPYC: bench/README.md). A tail shorter than a step runs the
/// same vector code on a zero-padded copy. @throws InputError when this CPU cannot run `isa`.
void add_u8(KernelIsa isa,
            const models::Int8Op& op,
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

/// avgpool_u8 on instruction set `isa`, bit-identical to it on every one. A GlobalAvgPool on
/// any ISA other than Portable sums each channel plane with _mm256_sad_epu8 (32 codes per
/// step, then 16, 8, and single codes) and requantizes the channel's sum as avgpool_u8 does;
/// a k x k AvgPool (no ResNet or MobileNetV2 has one) runs avgpool_u8 on every ISA.
/// @throws InputError when this CPU cannot run `isa`.
void avgpool_u8(KernelIsa isa,
                const models::Int8Op& op,
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
