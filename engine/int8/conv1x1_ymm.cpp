// PackedConv1x1::run_avx2: the 1x1 conv on the AVX2 micro-kernels of conv3x3_ymm.h, one tap
// per channel pair.
#include <algorithm>
#include <vector>

#include "engine/int8/conv1x1.h"
#include "engine/int8/conv3x3_ymm.h"

namespace triseg::engine {

void PackedConv1x1::run_avx2(const uint8_t* in,
                             int64_t height,
                             int64_t width,
                             uint8_t* out,
                             const uint8_t* lut,
                             std::vector<int16_t>& scratch) const {
    constexpr int64_t kL = detail::kYmmLanes;
    const int64_t ho = (height - 1) / stride_ + 1;
    const int64_t wo = (width - 1) / stride_ + 1;
    const int64_t positions = ho * wo;
    const int64_t pairs = (in_channels_ + 1) / 2;
    // At stride 1 the planes are packed as one row of H W pixels: a position's pairs are
    // then 4 bytes apart from its neighbours', and a block's reads of a plane touch one or
    // two cache lines (a 2D plane's border would spread them).
    const bool flat = stride_ == 1;
    const int64_t ph = flat ? 1 : height;
    const int64_t pw = flat ? height * width : width;
    const int64_t row_stride = 2 * (pw + 2); // int16 elements between rows of a pair plane
    const auto need = static_cast<size_t>(pairs * row_stride * (ph + 2));
    if (scratch.size() < need) {
        scratch.resize(need);
    }
    int16_t* packed = scratch.data();
    detail::ymm_pack_pairs(in, in_channels_, ph, pw, in_zero_point_, packed);
    detail::YmmBlockArgs args;
    args.pairs = pairs;
    args.pair_stride = row_stride * (ph + 2) * static_cast<int64_t>(sizeof(int16_t));
    // Per block of output channels, groups of `size` positions (the last group moved back to
    // end at the last position when there are `size` or more: it recomputes a few, never a
    // partial store): micro-kernel blocks fill the group's code tile, stored transposed.
    // `size` is 16, or 12 (two whole blocks of 6) where that takes fewer micro-kernel calls.
    alignas(32) uint8_t tile[detail::kYmmGroup * detail::kYmmTileRow] = {};
    for (const Block& b : blocks_y_) {
        args.weights = weights_y_.data() + b.offset;
        args.requant = requant_y_.data() + b.oc0 / kL * detail::kYmmRequantInts;
        const int max_mr = detail::ymm_max_mr(b.nv);
        const int64_t lanes = std::min<int64_t>(kL * b.nv, out_channels_ - b.oc0);
        const auto calls = [&](int64_t size) {
            const int64_t per_group = (std::min(size, positions) + max_mr - 1) / max_mr;
            return (positions + size - 1) / size * per_group;
        };
        const int64_t whole = detail::kYmmGroup / max_mr * max_mr;
        const int64_t size = calls(whole) < calls(detail::kYmmGroup) ? whole : detail::kYmmGroup;
        for (int64_t g = 0; g < positions; g += size) {
            const int64_t g0 = positions >= size ? std::min(g, positions - size) : g;
            const int group = static_cast<int>(std::min<int64_t>(size, positions - g0));
            int64_t y = g0 / wo;
            int64_t x = g0 % wo;
            for (int s0 = 0; s0 < group; s0 += max_mr) {
                const int mr = std::min(max_mr, group - s0);
                for (int i = 0; i < mr; ++i) { // input pixel (s y, s x), inside the border
                    args.px[i] =
                        flat ? packed + row_stride + 2 * (y * wo + x + 1)
                             : packed + (stride_ * y + 1) * row_stride + 2 * (stride_ * x + 1);
                    if (++x == wo) {
                        x = 0;
                        ++y;
                    }
                }
                detail::ymm_block(detail::kYmmTapsIm2col, b.nv, mr, args,
                                  tile + s0 * detail::kYmmTileRow);
            }
            detail::ymm_store_transposed(tile, group, lanes, out + b.oc0 * positions + g0,
                                         positions, lut);
        }
    }
}

} // namespace triseg::engine
