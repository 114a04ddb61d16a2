// PackedConv1x1::run_zmm: the 1x1 conv on the 512-bit VNNI micro-kernels of conv3x3_zmm.h,
// one tap per channel quad.
#include <algorithm>
#include <vector>

#include "engine/int8/conv1x1.h"
#include "engine/int8/conv3x3_layout.h"
#include "engine/int8/conv3x3_zmm.h"

namespace triseg::engine {

void PackedConv1x1::run_zmm(const uint8_t* in,
                            int64_t height,
                            int64_t width,
                            uint8_t* out,
                            const uint8_t* lut,
                            std::vector<int16_t>& scratch) const {
    const int64_t ho = (height - 1) / stride_ + 1;
    const int64_t wo = (width - 1) / stride_ + 1;
    const int64_t positions = ho * wo;
    const int64_t quads = (in_channels_ + 3) / 4;
    // At stride 1 the planes are packed as one row of H W pixels: a position's quads are
    // then 4 bytes apart from its neighbours', and a block's reads of a plane touch one or
    // two cache lines (a 2D plane's border would spread them).
    const bool flat = stride_ == 1;
    const int64_t ph = flat ? 1 : height;
    const int64_t pw = flat ? height * width : width;
    const int64_t row_stride = 4 * (pw + 2); // bytes between rows of a quad plane
    const auto bytes = static_cast<size_t>(quads * row_stride * (ph + 2));
    if (scratch.size() * sizeof(int16_t) < bytes) {
        scratch.resize((bytes + 1) / 2);
    }
    auto* packed = reinterpret_cast<uint8_t*>(scratch.data());
    detail::pack_input_quads(in, in_channels_, ph, pw, in_zero_point_, packed);
    detail::ZmmBlockArgs args;
    args.zero_point = out_zero_point_;
    args.clamp_min = clamp_min_;
    args.clamp_max = clamp_max_;
    args.quads = quads;
    args.quad_stride = row_stride * (ph + 2);
    args.tap_offset[0] = 0;
    // Per block of output channels, groups of 16 positions: micro-kernel blocks fill the
    // group's code tile, which is then stored transposed into [C_out][H_out][W_out].
    alignas(64) uint8_t tile[detail::kZmmGroup * detail::kZmmTileRow] = {};
    for (const Block& b : blocks_z_) {
        args.weights = weights_z_.data() + b.offset;
        args.bias = bias_z_.data() + b.oc0;
        args.multiplier = multiplier_z_.data() + b.oc0;
        args.shift = shift_z_.data() + b.oc0;
        const int max_mr = detail::zmm_max_mr(b.nv);
        const int64_t lanes = std::min<int64_t>(detail::kZmmLanes * b.nv, out_channels_ - b.oc0);
        int64_t y = 0;
        int64_t x = 0;
        for (int64_t g0 = 0; g0 < positions; g0 += detail::kZmmGroup) {
            const int group =
                static_cast<int>(std::min<int64_t>(detail::kZmmGroup, positions - g0));
            for (int s0 = 0; s0 < group; s0 += max_mr) {
                const int mr = std::min(max_mr, group - s0);
                for (int i = 0; i < mr; ++i) { // input pixel (s y, s x), inside the border
                    args.px[i] =
                        flat ? packed + row_stride + 4 * (y * wo + x + 1)
                             : packed + (stride_ * y + 1) * row_stride + 4 * (stride_ * x + 1);
                    if (++x == wo) {
                        x = 0;
                        ++y;
                    }
                }
                detail::zmm_block(1, b.nv, mr, args, tile + s0 * detail::kZmmTileRow);
            }
            detail::zmm_store_transposed(tile, group, lanes, out + b.oc0 * positions + g0,
                                         positions, lut);
        }
    }
}

} // namespace triseg::engine
