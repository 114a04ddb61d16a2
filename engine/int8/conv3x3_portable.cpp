// The portable conv kernel of PackedConv3x3: int16 channel pairs summed in plain int32 loops.
#include "engine/int8/int8_kernels.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "engine/core/requant.h"
#include "engine/int8/conv3x3_layout.h"

namespace triseg::engine {
namespace {

using detail::kLanes;
using detail::kMaxLanes;
using detail::kMaxMrNv1;
using detail::kMaxMrNv2;

/// What one register block needs: MR output positions x (8 * NV) output channels.
struct BlockArgs {
    const int16_t* weights = nullptr; ///< the OcBlock's weights, [pair][ky][kx][8 NV][2]
    /// Per position: the padded input at (pair 0, top-left corner of its 3x3 window).
    std::array<const int16_t*, kMaxMrNv1> px{};
    int64_t pair_stride = 0;       ///< int16 elements between channel pairs of the padded input
    int64_t row_stride = 0;        ///< int16 elements between rows of the padded input
    int64_t pairs = 0;             ///< channel pairs (reduction length = 18 * pairs)
    const int32_t* bias = nullptr; ///< [8 NV] lanes of the block, zero-padded
    const int32_t* multiplier = nullptr; ///< [8 NV], padding lanes hold a valid dummy
    const int32_t* shift = nullptr;      ///< [8 NV]
    int32_t zero_point = 0;              ///< output zero point
    int32_t clamp_min = 0;               ///< output codes are clamped to [clamp_min, clamp_max]
    int32_t clamp_max = 255;
};

/// Computes codes[i * kMaxLanes + l] = clamp(zero_point + rhu(bias[l] + sum_{pair, ky, kx}
/// w . x, M[l]), clamp_min, clamp_max) for position i and lane l of the block.
using BlockFn = void (*)(const BlockArgs&, int32_t*);

/// Portable micro-kernel: the same sums in plain int32 loops (the compiler may vectorize).
template <int MR, int NV> void block_portable(const BlockArgs& a, int32_t* codes) {
    constexpr int kL = kLanes * NV;
    int32_t acc[MR][kL] = {};
    const int16_t* w = a.weights;
    for (int64_t c = 0; c < a.pairs; ++c) {
        for (int ky = 0; ky < 3; ++ky) {
            const int64_t row = c * a.pair_stride + ky * a.row_stride;
            for (int kx = 0; kx < 3; ++kx, w += 2 * kL) {
                for (int i = 0; i < MR; ++i) {
                    const int32_t x0 = a.px[i][row + 2 * kx];
                    const int32_t x1 = a.px[i][row + 2 * kx + 1];
                    for (int l = 0; l < kL; ++l) {
                        acc[i][l] += w[2 * l] * x0 + w[2 * l + 1] * x1;
                    }
                }
            }
        }
    }
    for (int i = 0; i < MR; ++i) {
        for (int l = 0; l < kL; ++l) {
            const FixedPointMultiplier m{a.multiplier[l], a.shift[l]};
            const int64_t y = a.zero_point + apply_multiplier(acc[i][l] + a.bias[l], m);
            codes[i * kMaxLanes + l] =
                static_cast<int32_t>(std::clamp<int64_t>(y, a.clamp_min, a.clamp_max));
        }
    }
}

/// Kernel tables indexed by MR - 1, for MR = 1 .. max (tails use the smaller MR).
template <int NV, int... I>
constexpr std::array<BlockFn, sizeof...(I)> portable_table(std::integer_sequence<int, I...>) {
    return {&block_portable<I + 1, NV>...};
}
constexpr auto kPortableNv1 = portable_table<1>(std::make_integer_sequence<int, kMaxMrNv1>{});
constexpr auto kPortableNv2 = portable_table<2>(std::make_integer_sequence<int, kMaxMrNv2>{});

/// The portable kernel for nv output vectors and mr positions (1 <= mr <= max for nv).
BlockFn block_kernel(int nv, int mr) {
    return nv == 1 ? kPortableNv1[mr - 1] : kPortableNv2[mr - 1];
}

/// Copies [C][H][W] codes into channel pairs with a zero border (see PackedConv3x3):
/// dst[pair][y + 1][x + 1][2] = (x[2 pair] - zp, x[2 pair + 1] - zp), missing channel = 0.
void pack_input(const uint8_t* in,
                int64_t channels,
                int64_t height,
                int64_t width,
                int32_t zero_point,
                int16_t* dst) {
    const int64_t wp = width + 2;
    const int64_t plane = height * width;
    const auto zp = static_cast<int16_t>(zero_point);
    for (int64_t c = 0; c < channels; c += 2) {
        const uint8_t* c0 = in + c * plane;
        const uint8_t* c1 = c + 1 < channels ? c0 + plane : nullptr;
        int16_t* d = dst + c * (height + 2) * wp; // (c / 2) pairs x 2 values per pixel
        std::fill(d, d + 2 * wp, int16_t{0});
        for (int64_t y = 0; y < height; ++y) {
            int16_t* r = d + 2 * wp * (y + 1);
            r[0] = r[1] = r[2 * wp - 2] = r[2 * wp - 1] = 0;
            const uint8_t* s0 = c0 + y * width;
            if (c1 != nullptr) {
                const uint8_t* s1 = c1 + y * width;
                for (int64_t x = 0; x < width; ++x) {
                    r[2 * x + 2] = static_cast<int16_t>(s0[x] - zp);
                    r[2 * x + 3] = static_cast<int16_t>(s1[x] - zp);
                }
            } else {
                for (int64_t x = 0; x < width; ++x) {
                    r[2 * x + 2] = static_cast<int16_t>(s0[x] - zp);
                    r[2 * x + 3] = 0;
                }
            }
        }
        std::fill(d + 2 * wp * (height + 1), d + 2 * wp * (height + 2), int16_t{0});
    }
}

} // namespace

void PackedConv3x3::run_portable(const uint8_t* in,
                                 int64_t height,
                                 int64_t width,
                                 uint8_t* out,
                                 const uint8_t* lut,
                                 std::vector<int16_t>& scratch) const {
    const int64_t row_stride = 2 * (width + 2);
    const int64_t pair_stride = row_stride * (height + 2);
    const auto need = static_cast<std::size_t>(channel_pairs_ * pair_stride);
    if (scratch.size() < need) {
        scratch.resize(need);
    }
    pack_input(in, in_channels_, height, width, in_zero_point_, scratch.data());

    const int64_t wo = (width - 1) / stride_ + 1; // output size (3x3, padding 1)
    const int64_t positions = ((height - 1) / stride_ + 1) * wo;
    BlockArgs args;
    args.pair_stride = pair_stride;
    args.row_stride = row_stride;
    args.pairs = channel_pairs_;
    args.zero_point = out_zero_point_;
    args.clamp_min = clamp_min_;
    args.clamp_max = clamp_max_;
    alignas(32) int32_t codes[kMaxMrNv1 * kMaxLanes];
    for (const OcBlock& b : blocks_) {
        args.weights = weights_.data() + b.offset;
        args.bias = bias_.data() + b.oc0;
        args.multiplier = multiplier_.data() + b.oc0;
        args.shift = shift_.data() + b.oc0;
        const int max_mr = b.nv == 1 ? kMaxMrNv1 : kMaxMrNv2;
        const int64_t lanes = std::min<int64_t>(kLanes * b.nv, out_channels_ - b.oc0);
        int64_t y = 0; // row and column of position p0
        int64_t x = 0;
        for (int64_t p0 = 0; p0 < positions; p0 += max_mr) {
            const int mr = static_cast<int>(std::min<int64_t>(max_mr, positions - p0));
            for (int i = 0; i < mr; ++i) {
                // The window's top-left at input (s y - 1, s x - 1): padded (s y, s x).
                args.px[i] = scratch.data() + stride_ * (y * row_stride + 2 * x);
                if (++x == wo) {
                    x = 0;
                    ++y;
                }
            }
            block_kernel(b.nv, mr)(args, codes);
            detail::store_block(codes, mr, lanes, out + b.oc0 * positions + p0, positions, lut);
        }
    }
}

} // namespace triseg::engine
