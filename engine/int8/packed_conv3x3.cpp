// PackedConv3x3: the weights packed once per model for every kernel, and the kernel each call
// runs (the kernels: conv3x3_portable.cpp, conv3x3_ymm.cpp, conv3x3_vnni.cpp, conv3x3_zmm.cpp).
#include "engine/int8/int8_kernels.h"

#include <algorithm>
#include <vector>

#include "common/error.h"
#include "engine/int8/conv3x3_layout.h"
#include "engine/int8/conv3x3_ymm.h"
#include "engine/int8/conv3x3_zmm.h"

namespace triseg::engine {
namespace {

using detail::kLanes;
using detail::kTaps;

} // namespace

PackedConv3x3::PackedConv3x3(const models::Int8ConvLayer& layer)
    : PackedConv3x3(layer, layer.output.zero_point, 255) {}

PackedConv3x3::PackedConv3x3(const models::Int8ConvLayer& layer,
                             int32_t clamp_min,
                             int32_t clamp_max,
                             int64_t stride)
    : name_(layer.name), in_channels_(layer.in_channels), out_channels_(layer.out_channels),
      in_zero_point_(layer.input.zero_point), out_zero_point_(layer.output.zero_point),
      clamp_min_(clamp_min), clamp_max_(clamp_max), stride_(stride) {
    validate_int8_conv(layer);
    TRISEG_CHECK(clamp_min >= 0 && clamp_min <= clamp_max && clamp_max <= 255, InputError,
                 "int8 layer '" << name_ << "': output clamp [" << clamp_min << ", " << clamp_max
                                << "] is not within [0, 255] in order");
    TRISEG_CHECK(stride >= 1, InputError,
                 "int8 layer '" << name_ << "': stride " << stride << " must be at least 1");
    channel_pairs_ = (in_channels_ + 1) / 2;
    // Requantization per lane, padded to whole vectors with harmless values (M = 2^-1).
    const int64_t vectors = (out_channels_ + kLanes - 1) / kLanes;
    bias_.assign(vectors * kLanes, 0);
    multiplier_.assign(vectors * kLanes, int32_t{1} << 30);
    shift_.assign(vectors * kLanes, 1);
    std::copy(layer.bias.begin(), layer.bias.end(), bias_.begin());
    std::copy(layer.multiplier.begin(), layer.multiplier.end(), multiplier_.begin());
    std::copy(layer.shift.begin(), layer.shift.end(), shift_.begin());
    // Blocks of two vectors (16 output channels), then one vector for an odd remainder.
    const int64_t block_size = channel_pairs_ * kTaps * 2; // int16 per lane
    for (int64_t v = 0; v < vectors;) {
        const int nv = vectors - v >= 2 ? 2 : 1;
        blocks_.push_back({v * kLanes, nv, static_cast<int64_t>(weights_.size())});
        weights_.resize(weights_.size() + block_size * kLanes * nv, 0);
        v += nv;
    }
    for (const OcBlock& b : blocks_) {
        const int64_t lanes = kLanes * b.nv;
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            const int64_t oc = b.oc0 + l;
            for (int64_t ic = 0; ic < in_channels_; ++ic) {
                for (int t = 0; t < kTaps; ++t) {
                    const int64_t step = (ic / 2) * kTaps + t; // [pair][ky][kx]
                    weights_[b.offset + (step * lanes + l) * 2 + ic % 2] =
                        layer.weight[(oc * in_channels_ + ic) * kTaps + t];
                }
            }
        }
    }
    // VNNI packing: the same blocks with int8 quads, and bias - zp_in * sum w per lane.
    // The kernel sums w * x over raw codes x; in int32 that sum may wrap, but only
    // additions follow, so the result is exact modulo 2^32, and the true final value
    // bias + sum w (x - zp_in) fits int32 (validate_int8_conv): it comes out exactly.
    channel_quads_ = (in_channels_ + 3) / 4;
    const int64_t quad_block = channel_quads_ * kTaps * 4; // int8 per lane
    bias_q_ = bias_;
    int64_t offset_q = 0;
    for (const OcBlock& b : blocks_) {
        const int64_t lanes = kLanes * b.nv;
        weights_q_.resize(weights_q_.size() + quad_block * lanes, 0);
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            const int64_t oc = b.oc0 + l;
            int64_t sum = 0;
            for (int64_t ic = 0; ic < in_channels_; ++ic) {
                for (int t = 0; t < kTaps; ++t) {
                    const int8_t w = layer.weight[(oc * in_channels_ + ic) * kTaps + t];
                    const int64_t step = (ic / 4) * kTaps + t; // [quad][ky][kx]
                    weights_q_[offset_q + (step * lanes + l) * 4 + ic % 4] = w;
                    sum += w;
                }
            }
            const int64_t corrected = bias_[oc] - static_cast<int64_t>(in_zero_point_) * sum;
            bias_q_[oc] = static_cast<int32_t>(static_cast<uint32_t>(corrected)); // mod 2^32
        }
        offset_q += quad_block * lanes;
    }
    pack_zmm(layer);
    pack_ymm(layer);
}

void PackedConv3x3::pack_ymm(const models::Int8ConvLayer& layer) {
    const int64_t vectors = (out_channels_ + kLanes - 1) / kLanes;
    requant_y_.assign(vectors * detail::kYmmRequantInts, 0);
    requant_q_.assign(vectors * detail::kYmmRequantInts, 0);
    for (int64_t v = 0; v < vectors; ++v) {
        detail::make_ymm_requant(bias_.data() + v * kLanes, multiplier_.data() + v * kLanes,
                                 shift_.data() + v * kLanes, out_zero_point_, clamp_min_,
                                 clamp_max_, requant_y_.data() + v * detail::kYmmRequantInts);
        detail::make_ymm_requant(bias_q_.data() + v * kLanes, multiplier_.data() + v * kLanes,
                                 shift_.data() + v * kLanes, out_zero_point_, clamp_min_,
                                 clamp_max_, requant_q_.data() + v * detail::kYmmRequantInts);
    }
    lower_y_ = detail::ymm_needs_lower_clamp(requant_y_.data(), vectors);
    if (!im2col_) {
        return; // the 3x3 form uses weights_
    }
    im2col_pairs_ = (in_channels_ * kTaps + 1) / 2;
    for (const OcBlock& b : blocks_) {
        const int64_t lanes = kLanes * b.nv;
        const auto offset = static_cast<int64_t>(weights_y_.size());
        weights_y_.resize(weights_y_.size() + 2 * im2col_pairs_ * lanes, 0);
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            const int64_t oc = b.oc0 + l;
            for (int64_t k = 0; k < in_channels_ * kTaps; ++k) { // k = ic * 9 + tap
                weights_y_[offset + ((k / 2) * lanes + l) * 2 + k % 2] =
                    layer.weight[oc * in_channels_ * kTaps + k];
            }
        }
    }
}

void PackedConv3x3::pack_zmm(const models::Int8ConvLayer& layer) {
    constexpr int64_t kZ = detail::kZmmLanes;
    im2col_ = in_channels_ <= 3;
    im2col_quads_ = (in_channels_ * kTaps + 3) / 4;
    // Blocks of 4 vectors (64 channels); a remainder of 3 is padded to 4, of 2 or 1 kept.
    const int64_t vectors = (out_channels_ + kZ - 1) / kZ;
    const int64_t per_lane = im2col_ ? 4 * im2col_quads_ : 4 * channel_quads_ * kTaps;
    for (int64_t v = 0; v < vectors;) {
        const int64_t left = vectors - v;
        const int nv = left >= 3 ? 4 : static_cast<int>(left);
        blocks_z_.push_back({v * kZ, nv, static_cast<int64_t>(weights_z_.size())});
        weights_z_.resize(weights_z_.size() + per_lane * kZ * nv, 0);
        v += nv;
    }
    const int64_t padded = blocks_z_.back().oc0 + kZ * blocks_z_.back().nv;
    bias_z_.assign(padded, 0);
    multiplier_z_.assign(padded, int32_t{1} << 30);
    shift_z_.assign(padded, 1);
    std::copy(bias_q_.begin(), bias_q_.begin() + out_channels_, bias_z_.begin());
    std::copy(layer.multiplier.begin(), layer.multiplier.end(), multiplier_z_.begin());
    std::copy(layer.shift.begin(), layer.shift.end(), shift_z_.begin());
    for (const ZmmBlock& b : blocks_z_) {
        const int64_t lanes = kZ * b.nv;
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            const int64_t oc = b.oc0 + l;
            for (int64_t ic = 0; ic < in_channels_; ++ic) {
                for (int t = 0; t < kTaps; ++t) {
                    const int8_t w = layer.weight[(oc * in_channels_ + ic) * kTaps + t];
                    const int64_t k = ic * kTaps + t; // im2col reduction index
                    const int64_t step = im2col_ ? k / 4 : (ic / 4) * kTaps + t;
                    const int64_t r = im2col_ ? k % 4 : ic % 4;
                    weights_z_[b.offset + (step * lanes + l) * 4 + r] = w;
                }
            }
        }
    }
}

void PackedConv3x3::run(const uint8_t* in,
                        int64_t height,
                        int64_t width,
                        uint8_t* out,
                        const uint8_t* lut,
                        std::vector<int16_t>& scratch) const {
    run_with(best_kernel_isa(), in, height, width, out, lut, scratch);
}

void PackedConv3x3::run_with(KernelIsa isa,
                             const uint8_t* in,
                             int64_t height,
                             int64_t width,
                             uint8_t* out,
                             const uint8_t* lut,
                             std::vector<int16_t>& scratch) const {
    TRISEG_CHECK(kernel_isa_supported(isa), InputError,
                 "int8 layer '" << name_ << "': this CPU cannot run the requested kernel ("
                                << kernel_isa_name(isa) << ")");
    TRISEG_CHECK(height >= 1 && width >= 1, InputError,
                 "int8 layer '" << name_ << "': image size " << height << "x" << width
                                << " must be at least 1x1");
    if (isa == KernelIsa::Avx512Vnni) {
        run_vnni(in, height, width, out, lut, scratch);
        return;
    }
    if (isa == KernelIsa::Avx512Zmm) {
        run_zmm(in, height, width, out, lut, scratch);
        return;
    }
    if (isa == KernelIsa::Avx2) {
        run_avx2(in, height, width, out, lut, scratch);
        return;
    }
    run_portable(in, height, width, out, lut, scratch);
}

} // namespace triseg::engine
