// The AVX2 (ymm) micro-kernels of PackedConv3x3: register blocks of MR output positions x
// 8 NV output channels, formed with _mm256_madd_epi16 on int16 pairs, exactly.
#pragma once

#include <array>
#include <cstdint>

namespace triseg::engine::detail {

constexpr int kYmmLanes = 8;      ///< int32 lanes of one ymm = output channels per vector
constexpr int kYmmMaxNv = 2;      ///< widest output-channel block, in ymm vectors (16 channels)
constexpr int kYmmMaxMr = 12;     ///< most positions per block (nv = 1)
constexpr int kYmmTileRow = 16;   ///< bytes per position in a code tile (8 kYmmMaxNv lanes)
constexpr int kYmmGroup = 16;     ///< positions per code tile and transposed store
constexpr int kYmmTaps3x3 = 9;    ///< taps of the 3x3 form
constexpr int kYmmTapsIm2col = 1; ///< taps of the im2col form (one row per position)

/// Positions per register block for `nv` vectors: 12 accumulators, nv weight vectors, one
/// broadcast and one product fill the 16 ymm registers: nv 1 -> 12, 2 -> 6.
constexpr int ymm_max_mr(int nv) {
    return 12 / nv;
}

/// The requantization constants of one vector of 8 output channels, as the epilogue loads
/// them: kYmmRequantInts int32 at these offsets, the int64 fields as little-endian (low,
/// high) pairs. A flat array rather than a struct, so that int8_kernels.h holds them without
/// including this header (its triseg::engine::detail would hide triseg::detail from every
/// file that includes int8_kernels.h).
constexpr int kYmmRqBias = 0;       ///< 8 x the layer's bias (padding lanes 0)
constexpr int kYmmRqVcap = 8;       ///< 8 x the smallest v whose code is clamp_max
constexpr int kYmmRqVmin = 16;      ///< 8 x the largest v whose code is clamp_min
constexpr int kYmmRqMul = 24;       ///< 8 x the multiplier; even lanes read by mul_epi32
constexpr int kYmmRqMulOdd = 32;    ///< multipliers of lanes 1, 3, 5, 7 in the even slots
constexpr int kYmmRqShiftEven = 40; ///< 4 x int64: shift of lanes 0, 2, 4, 6
constexpr int kYmmRqShiftOdd = 48;  ///< 4 x int64: shift of lanes 1, 3, 5, 7
constexpr int kYmmRqRoundEven = 56; ///< 4 x int64: 2^(shift - 1) + B 2^shift, lanes 0, 2, 4, 6
constexpr int kYmmRqRoundOdd = 64;  ///< 4 x int64: the same for lanes 1, 3, 5, 7 (mod 2^64)
constexpr int kYmmRqLo = 72;        ///< 8 x (clamp_min - zp + B) as uint32
constexpr int kYmmRqHi = 80;        ///< 8 x (clamp_max - zp + B) as uint32
constexpr int kYmmRqAdd = 88;       ///< 8 x (zp - B), modulo 2^32
constexpr int kYmmRequantInts = 96;

/// Writes the constants of lanes (bias[l], multiplier[l], shift[l]), l < 8, for output zero
/// point `zero_point` and output clamp [clamp_min, clamp_max] to out[0, kYmmRequantInts).
/// With r(v) = apply_multiplier(v) (monotone in v) and code(v) = clamp(zp + r(v)):
/// vcap is the smallest int32 v with r(v) >= clamp_max - zp (INT32_MAX if none) and vmin the
/// largest with r(v) <= clamp_min - zp (INT32_MIN if none), found by bisection on the scalar
/// rule, so clamping v to [vmin, vcap] first changes no code. B = -r(vmin) makes
/// v M + 2^(s-1) + B 2^s non-negative on that range and below 2^64, so the epilogue shifts it
/// logically and gets y = r(v) + B exactly, in [0, 2^32); then
///     code = min(max(y, lo), hi) + add        (unsigned 32-bit min and max)
/// with lo = clamp_min - zp + B (at least 0), hi = clamp_max - zp + B, add = zp - B. For a
/// ReLU (clamp_min = zp) and M <= 1, lo is 0 and the max changes nothing.
void make_ymm_requant(const int32_t* bias,
                      const int32_t* multiplier,
                      const int32_t* shift,
                      int32_t zero_point,
                      int32_t clamp_min,
                      int32_t clamp_max,
                      int32_t* out);

/// Whether any lane of `vectors` x kYmmRequantInts constants has lo > 0 (the epilogue's
/// lower clamp changes a code only then; a ReLU with M <= 1 has lo = 0 everywhere).
bool ymm_needs_lower_clamp(const int32_t* requant, int64_t vectors);

/// What one ymm register block needs.
///
/// The input is int16 (code - input zero point) in "pair planes": element 2 j + r of a plane
/// row holds channel 2 q + r (or, for the im2col form, reduction index 2 q + r) of pixel j.
/// For each position i of the block, px[i] points at its first tap in pair 0; tap (ky, kx)
/// of pair q is the int32 at byte offset
///     q * pair_stride + ky * row_stride + 4 kx          (3x3 form; q * pair_stride for one
///                                                        tap: 4 for im2col rows, a plane for
///                                                        the pair planes of a 1x1 conv)
/// from px[i]. Weights are int16, [pair][tap][8 nv lanes][2], lane l = output channel oc0 + l.
struct YmmBlockArgs {
    const int16_t* weights = nullptr;
    std::array<const int16_t*, kYmmMaxMr> px{};
    int64_t pair_stride = 0;          ///< bytes between pairs (pair planes; 4 in im2col rows)
    int64_t row_stride = 0;           ///< bytes between rows of a pair plane (3x3 form)
    int64_t pairs = 0;                ///< reduction length in pairs (times the taps)
    const int32_t* requant = nullptr; ///< nv x kYmmRequantInts (make_ymm_requant)
    bool lower_clamp = true;          ///< ymm_needs_lower_clamp of the layer's constants
};

/// Computes, for block position i < mr and lane l < 8 nv:
///     tile[i * kYmmTileRow + l] = clamp(zp + rhu(bias[l] + sum_{q, t} w . x, M[l]))
/// with `taps` 9 (a 3x3 window per pair) or 1 (im2col rows). For nv = 1, bytes 8..15 of a
/// tile row repeat bytes 0..7. Needs AVX2 (the caller checks). 1 <= mr <= ymm_max_mr(nv);
/// nv in {1, 2}.
void ymm_block(int taps, int nv, int mr, const YmmBlockArgs& args, uint8_t* tile);

/// Stores a code tile transposed: out[l * stride + i] = f(tile[i * kYmmTileRow + l]) for
/// lanes l < `lanes` (<= 16) and positions i < npos (<= 16), f = lut (256 entries) or the
/// identity. Reads all 16 tile rows (rows >= npos may hold anything). A 16 x 16 byte
/// transpose in four unpack stages, 16-byte stores (npos = 16) or exact-length copies; the
/// table, when given, is applied to the tile first (16 vpshufb per 32 codes).
void ymm_store_transposed(
    const uint8_t* tile, int npos, int64_t lanes, uint8_t* out, int64_t stride, const uint8_t* lut);

/// Copies [C][H][W] codes into pair planes with a zero border: dst[pair][y + 1][x + 1][2] =
/// (x[2 pair] - zp, x[2 pair + 1] - zp), a missing channel 0. Needs AVX2.
void ymm_pack_pairs(const uint8_t* in,
                    int64_t channels,
                    int64_t height,
                    int64_t width,
                    int32_t zero_point,
                    int16_t* dst);

/// im2col rows of C <= 3 channels, 2 `pairs` int16 each: dst[p][k] = x[ic][y + ky - 1]
/// [x + kx - 1] - zp for k = 9 ic + 3 ky + kx < 9 C (0 outside the image); the padding value
/// k = 9 C of an odd 9 C holds some input value (its weights are 0). `planes` is work memory
/// of C (H + 2) (W + 2) + 4 int16; dst needs 4 int16 of slack after its last row.
void ymm_im2col(const uint8_t* in,
                int64_t channels,
                int64_t height,
                int64_t width,
                int32_t zero_point,
                int64_t pairs,
                int16_t* planes,
                int16_t* dst);

} // namespace triseg::engine::detail
