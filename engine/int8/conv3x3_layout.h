// What the conv kernels of PackedConv3x3 share: the shape of a register block of output
// channels, the uint8 quad and im2col input layouts, and the store of a block's codes.
#pragma once

#include <cstdint>

namespace triseg::engine::detail {

constexpr int kLanes = 8; ///< int32 lanes of one 256-bit vector = output channels
constexpr int kMaxNv = 2; ///< widest output-channel block, in vectors
constexpr int kMaxLanes = kLanes * kMaxNv;
constexpr int kTaps = 9;      ///< 3x3
constexpr int kMaxMrNv1 = 12; ///< positions per block when nv = 1 (12 accumulators)
constexpr int kMaxMrNv2 = 6;  ///< positions per block when nv = 2 (12 accumulators)

/// A register block's codes [position][lane] -> out [lane][position] (out points at the
/// block's first channel and position; rows `positions` apart), through `lut` if any.
void store_block(const int32_t* codes,
                 int mr,
                 int64_t lanes,
                 uint8_t* out,
                 int64_t positions,
                 const uint8_t* lut);

/// Copies [C][H][W] codes (C <= 3) into im2col rows of `quads` quads: dst[p][4 q + r] holds
/// reduction index k = 4 q + r = ic * 9 + ky * 3 + kx, the code at (y + ky - 1, x + kx - 1)
/// of channel ic (the zero point outside the image); indices k >= 9 C hold 0 (weights 0).
/// `padded` is work memory of C (H + 2) (W + 2) bytes with 64 bytes before it (the vpermb
/// path for one channel reads rows through masked loads that start before them).
void pack_im2col(const uint8_t* in,
                 int64_t channels,
                 int64_t height,
                 int64_t width,
                 int32_t zero_point,
                 int64_t quads,
                 uint8_t* dst,
                 uint8_t* padded);

/// Copies [C][H][W] codes into channel quads with a border of the zero point:
/// dst[quad][y + 1][x + 1][4] = (x[4q], .., x[4q + 3]); a missing channel holds 0 (its
/// weights are 0).
void pack_input_quads(const uint8_t* in,
                      int64_t channels,
                      int64_t height,
                      int64_t width,
                      int32_t zero_point,
                      uint8_t* dst);

} // namespace triseg::engine::detail
