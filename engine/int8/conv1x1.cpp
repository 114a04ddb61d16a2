// PackedConv1x1: the weights packed once per model for every kernel, the kernel each call
// runs, and the portable kernel (the others: conv1x1_ymm.cpp, conv1x1_zmm.cpp).
#include "engine/int8/conv1x1.h"

#include <algorithm>

#include "common/error.h"
#include "engine/core/requant.h"
#include "engine/int8/conv3x3_ymm.h"
#include "engine/int8/conv3x3_zmm.h"
#include "engine/int8/int8_kernels.h"

namespace triseg::engine {

PackedConv1x1::PackedConv1x1(const models::Int8Graph& graph, const models::Int8Op& op)
    : name_(op.name), in_channels_(op.in_channels), out_channels_(op.out_channels),
      stride_(op.stride), clamp_min_(op.clamp_min), clamp_max_(op.clamp_max), weight_(op.weight),
      bias_(op.bias), multiplier_(op.multiplier), shift_(op.shift) {
    TRISEG_CHECK(op.kind == models::Int8OpKind::Conv && op.kernel == 1 && op.padding == 0 &&
                     op.groups == 1 && op.stride >= 1,
                 InputError, "int8 op '" << name_ << "' is not a 1x1, unpadded, one-group conv");
    const auto n = static_cast<size_t>(out_channels_);
    TRISEG_CHECK(in_channels_ >= 1 && out_channels_ >= 1 &&
                     weight_.size() == n * static_cast<size_t>(in_channels_) && bias_.size() == n &&
                     multiplier_.size() == n && shift_.size() == n,
                 InputError, "int8 op '" << name_ << "': weight or requantization sizes disagree");
    TRISEG_CHECK(clamp_min_ >= 0 && clamp_min_ <= clamp_max_ && clamp_max_ <= 255, InputError,
                 "int8 op '" << name_ << "': output clamp [" << clamp_min_ << ", " << clamp_max_
                             << "] is not within [0, 255] in order");
    in_zero_point_ = graph.tensors.at(static_cast<size_t>(op.inputs.at(0))).quant.zero_point;
    out_zero_point_ = graph.tensors.at(static_cast<size_t>(op.output)).quant.zero_point;
    pack_ymm();
    pack_zmm();
}

void PackedConv1x1::pack_ymm() {
    constexpr int64_t kL = detail::kYmmLanes;
    const int64_t vectors = (out_channels_ + kL - 1) / kL;
    const int64_t pairs = (in_channels_ + 1) / 2;
    // Requantization per lane, padded to whole vectors with harmless values (M = 2^-1).
    std::vector<int32_t> bias(static_cast<size_t>(vectors * kL), 0);
    std::vector<int32_t> multiplier(bias.size(), int32_t{1} << 30);
    std::vector<int32_t> shift(bias.size(), 1);
    std::copy(bias_.begin(), bias_.end(), bias.begin());
    std::copy(multiplier_.begin(), multiplier_.end(), multiplier.begin());
    std::copy(shift_.begin(), shift_.end(), shift.begin());
    requant_y_.assign(static_cast<size_t>(vectors * detail::kYmmRequantInts), 0);
    for (int64_t v = 0; v < vectors; ++v) {
        detail::make_ymm_requant(bias.data() + v * kL, multiplier.data() + v * kL,
                                 shift.data() + v * kL, out_zero_point_, clamp_min_, clamp_max_,
                                 requant_y_.data() + v * detail::kYmmRequantInts);
    }
    for (int64_t v = 0; v < vectors;) {
        const int nv = vectors - v >= 2 ? 2 : 1;
        blocks_y_.push_back({v * kL, nv, static_cast<int64_t>(weights_y_.size())});
        weights_y_.resize(weights_y_.size() + static_cast<size_t>(pairs * 2 * kL * nv), 0);
        v += nv;
    }
    for (const Block& b : blocks_y_) {
        const int64_t lanes = kL * b.nv;
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            for (int64_t c = 0; c < in_channels_; ++c) {
                weights_y_[static_cast<size_t>(b.offset + ((c / 2) * lanes + l) * 2 + c % 2)] =
                    weight_[static_cast<size_t>((b.oc0 + l) * in_channels_ + c)];
            }
        }
    }
    // 256-bit VNNI: the same blocks with int8 quads, and the bias corrected for the zero
    // point as pack_zmm does.
    const int64_t quads = (in_channels_ + 3) / 4;
    std::vector<int32_t> corrected = bias;
    for (const Block& b : blocks_y_) {
        const int64_t lanes = kL * b.nv;
        offsets_q_.push_back(static_cast<int64_t>(weights_q_.size()));
        weights_q_.resize(weights_q_.size() + static_cast<size_t>(quads * 4 * lanes), 0);
        int8_t* wq = weights_q_.data() + offsets_q_.back();
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            int64_t sum = 0;
            for (int64_t c = 0; c < in_channels_; ++c) {
                const int8_t w = weight_[static_cast<size_t>((b.oc0 + l) * in_channels_ + c)];
                wq[((c / 4) * lanes + l) * 4 + c % 4] = w;
                sum += w;
            }
            const int64_t v =
                bias_[static_cast<size_t>(b.oc0 + l)] - static_cast<int64_t>(in_zero_point_) * sum;
            corrected[static_cast<size_t>(b.oc0 + l)] =
                static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
        }
    }
    requant_q_.assign(requant_y_.size(), 0);
    for (int64_t v = 0; v < vectors; ++v) {
        detail::make_ymm_requant(corrected.data() + v * kL, multiplier.data() + v * kL,
                                 shift.data() + v * kL, out_zero_point_, clamp_min_, clamp_max_,
                                 requant_q_.data() + v * detail::kYmmRequantInts);
    }
}

void PackedConv1x1::pack_zmm() {
    constexpr int64_t kZ = detail::kZmmLanes;
    const int64_t vectors = (out_channels_ + kZ - 1) / kZ;
    const int64_t quads = (in_channels_ + 3) / 4;
    // Blocks of 4 vectors (64 channels); a remainder of 3 is padded to 4, of 2 or 1 kept.
    for (int64_t v = 0; v < vectors;) {
        const int64_t left = vectors - v;
        const int nv = left >= 3 ? 4 : static_cast<int>(left);
        blocks_z_.push_back({v * kZ, nv, static_cast<int64_t>(weights_z_.size())});
        weights_z_.resize(weights_z_.size() + static_cast<size_t>(quads * 4 * kZ * nv), 0);
        v += nv;
    }
    const auto padded = static_cast<size_t>(blocks_z_.back().oc0 + kZ * blocks_z_.back().nv);
    bias_z_.assign(padded, 0);
    multiplier_z_.assign(padded, int32_t{1} << 30);
    shift_z_.assign(padded, 1);
    std::copy(multiplier_.begin(), multiplier_.end(), multiplier_z_.begin());
    std::copy(shift_.begin(), shift_.end(), shift_z_.begin());
    for (const Block& b : blocks_z_) {
        const int64_t lanes = kZ * b.nv;
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            const int64_t oc = b.oc0 + l;
            int64_t sum = 0;
            for (int64_t c = 0; c < in_channels_; ++c) {
                const int8_t w = weight_[static_cast<size_t>(oc * in_channels_ + c)];
                weights_z_[static_cast<size_t>(b.offset + ((c / 4) * lanes + l) * 4 + c % 4)] = w;
                sum += w;
            }
            // The kernel sums w * x over raw codes: the zero point enters here, modulo 2^32
            // (the true result fits int32, so it comes out exactly).
            const int64_t corrected =
                bias_[static_cast<size_t>(oc)] - static_cast<int64_t>(in_zero_point_) * sum;
            bias_z_[static_cast<size_t>(oc)] =
                static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(corrected)));
        }
    }
}

void PackedConv1x1::run_with(KernelIsa isa,
                             const uint8_t* in,
                             int64_t height,
                             int64_t width,
                             uint8_t* out,
                             const uint8_t* lut,
                             std::vector<int16_t>& scratch) const {
    TRISEG_CHECK(kernel_isa_supported(isa), InputError,
                 "int8 op '" << name_ << "': this CPU cannot run the requested kernel ("
                             << kernel_isa_name(isa) << ")");
    TRISEG_CHECK(height >= 1 && width >= 1, InputError,
                 "int8 op '" << name_ << "': image size " << height << "x" << width
                             << " must be at least 1x1");
    switch (isa) {
    case KernelIsa::Avx512Zmm:
        run_zmm(in, height, width, out, lut, scratch);
        return;
    case KernelIsa::Avx512Vnni:
        run_vnni(in, height, width, out, lut, scratch);
        return;
    case KernelIsa::Avx2:
        run_avx2(in, height, width, out, lut, scratch);
        return;
    case KernelIsa::Portable:
        break;
    }
    run_portable(in, height, width, out, lut, scratch);
}

void PackedConv1x1::run_portable(const uint8_t* in,
                                 int64_t height,
                                 int64_t width,
                                 uint8_t* out,
                                 const uint8_t* lut,
                                 std::vector<int16_t>& scratch) const {
    const int64_t ho = (height - 1) / stride_ + 1;
    const int64_t wo = (width - 1) / stride_ + 1;
    const int64_t positions = ho * wo;
    // int32 work memory in the int16 scratch: the subsampled input minus its zero point
    // [C_in][positions], then one output plane of accumulators.
    const auto need = static_cast<size_t>(2 * (in_channels_ + 1) * positions);
    if (scratch.size() < need) {
        scratch.resize(need);
    }
    auto* x = reinterpret_cast<int32_t*>(scratch.data());
    int32_t* acc = x + in_channels_ * positions;
    for (int64_t c = 0; c < in_channels_; ++c) {
        for (int64_t y = 0; y < ho; ++y) {
            const uint8_t* row = in + (c * height + y * stride_) * width;
            int32_t* d = x + c * positions + y * wo;
            for (int64_t i = 0; i < wo; ++i) {
                d[i] = int32_t{row[i * stride_]} - in_zero_point_;
            }
        }
    }
    for (int64_t oc = 0; oc < out_channels_; ++oc) {
        std::fill(acc, acc + positions, bias_[static_cast<size_t>(oc)]);
        for (int64_t c = 0; c < in_channels_; ++c) {
            const int32_t w = weight_[static_cast<size_t>(oc * in_channels_ + c)];
            const int32_t* xc = x + c * positions;
            for (int64_t p = 0; p < positions; ++p) {
                acc[p] += w * xc[p];
            }
        }
        const FixedPointMultiplier m{multiplier_[static_cast<size_t>(oc)],
                                     shift_[static_cast<size_t>(oc)]};
        uint8_t* o = out + oc * positions;
        for (int64_t p = 0; p < positions; ++p) {
            const int64_t code = std::clamp<int64_t>(out_zero_point_ + apply_multiplier(acc[p], m),
                                                     clamp_min_, clamp_max_);
            o[p] = lut != nullptr ? lut[code] : static_cast<uint8_t>(code);
        }
    }
}

} // namespace triseg::engine
