// The 512-bit (zmm) VNNI micro-kernels of PackedConv3x3: register blocks of MR output
// positions x 16 NV output channels, formed with _mm512_dpbusd_epi32.
#pragma once

#include <array>
#include <cstdint>

namespace triseg::engine::detail {

constexpr int kZmmLanes = 16; ///< int32 lanes of one zmm = output channels per vector
constexpr int kZmmMaxNv = 4;  ///< widest output-channel block, in zmm vectors (64 channels)
constexpr int kZmmMaxMr = 24; ///< most positions per block (nv = 1)
constexpr int kZmmTileRow = kZmmLanes * kZmmMaxNv; ///< bytes per position in a code tile

/// Positions per register block for `nv` vectors: 24 accumulators (of the 32 zmm registers)
/// plus nv weight vectors and one broadcast: nv 1 -> 24, 2 -> 12, 4 -> 6.
constexpr int zmm_max_mr(int nv) {
    return 24 / nv;
}

/// What one zmm register block needs.
///
/// The input is a set of uint8 "quad planes": byte 4 * j + r of a plane row holds channel
/// 4 q + r (or, for the im2col form, reduction index 4 q + r) of pixel j. For each position
/// i of the block, px[i] points at its first tap in quad 0; tap t of quad q is at
///     px[i] + q * quad_stride + tap_offset[t]      (4 bytes: one dpbusd quad).
/// Weights are int8, [quad][tap][16 nv lanes][4], lane l = output channel oc0 + l.
struct ZmmBlockArgs {
    const int8_t* weights = nullptr;
    std::array<const uint8_t*, kZmmMaxMr> px{};
    int64_t quad_stride = 0;
    int64_t quads = 0;
    std::array<int64_t, 9> tap_offset{}; ///< used entries: TAPS (9 for 3x3, 1 for im2col)
    const int32_t* bias = nullptr;       ///< [16 nv] lanes, modulo-2^32 corrected bias
    const int32_t* multiplier = nullptr; ///< [16 nv], padding lanes hold a valid dummy
    const int32_t* shift = nullptr;      ///< [16 nv]
    int32_t zero_point = 0;              ///< output zero point
    int32_t clamp_min = 0;               ///< output codes are clamped to [clamp_min, clamp_max]
    int32_t clamp_max = 255;
};

/// Computes, for block position i < mr and lane l < 16 nv:
///     tile[i * kZmmTileRow + l] = clamp(zp + rhu(bias[l] + sum_{q, t} w . x, M[l]))
/// with `taps` 9 (a 3x3 window per quad) or 1 (im2col rows). Needs AVX-512 F, BW, VL and
/// VNNI (the caller checks). 1 <= mr <= zmm_max_mr(nv); nv in {1, 2, 4}.
void zmm_block(int taps, int nv, int mr, const ZmmBlockArgs& args, uint8_t* tile);

constexpr int kZmmGroup = 16; ///< positions per transposed store

/// Stores a code tile transposed: out[l * stride + i] = f(tile[i * kZmmTileRow + l]) for
/// lanes l < `lanes` (<= 64) and positions i < npos (<= 16), f = lut (256 entries) or the
/// identity. Reads all 16 tile rows (rows >= npos may hold anything). A 16 x 16 byte
/// transpose per 128-bit lane (four unpack stages), masked 16-byte stores; the table, when
/// given, is applied to the tile first (vpermt2b when the CPU has AVX-512 VBMI).
void zmm_store_transposed(
    const uint8_t* tile, int npos, int64_t lanes, uint8_t* out, int64_t stride, const uint8_t* lut);

/// im2col rows of one input channel, 12 bytes per position (the 9 window values, then 3
/// zeros), from the channel padded with a border: `padded` is (height + 2) rows of width + 2
/// bytes, and at least 64 readable bytes lie before it (masked loads start up to 36 bytes
/// early, never touching them). 16 positions per three vpermb. Returns false, doing nothing,
/// when the CPU lacks AVX-512 VBMI (the caller then copies byte by byte).
bool zmm_im2col_one_channel(const uint8_t* padded, int64_t height, int64_t width, uint8_t* dst);

} // namespace triseg::engine::detail
