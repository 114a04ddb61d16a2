// PackedDepthwise3x3: the weights packed once per model, the kernel each call runs, and the
// portable kernel (the AVX2 one: depthwise3x3_ymm.cpp).
#include "engine/int8/depthwise3x3.h"

#include <algorithm>

#include "common/error.h"
#include "engine/core/requant.h"
#include "engine/int8/conv3x3_ymm.h"
#include "engine/int8/int8_kernels.h"

namespace triseg::engine {

PackedDepthwise3x3::PackedDepthwise3x3(const models::Int8Graph& graph, const models::Int8Op& op)
    : name_(op.name), channels_(op.out_channels), stride_(op.stride), clamp_min_(op.clamp_min),
      clamp_max_(op.clamp_max), weight_(op.weight), bias_(op.bias), multiplier_(op.multiplier),
      shift_(op.shift) {
    TRISEG_CHECK(op.kind == models::Int8OpKind::Conv && op.kernel == 3 && op.padding == 1 &&
                     op.groups == op.in_channels && op.out_channels == op.in_channels &&
                     op.stride >= 1,
                 InputError, "int8 op '" << name_ << "' is not a 3x3, padding-1 depthwise conv");
    const auto n = static_cast<size_t>(channels_);
    TRISEG_CHECK(channels_ >= 1 && weight_.size() == 9 * n && bias_.size() == n &&
                     multiplier_.size() == n && shift_.size() == n,
                 InputError, "int8 op '" << name_ << "': weight or requantization sizes disagree");
    TRISEG_CHECK(clamp_min_ >= 0 && clamp_min_ <= clamp_max_ && clamp_max_ <= 255, InputError,
                 "int8 op '" << name_ << "': output clamp [" << clamp_min_ << ", " << clamp_max_
                             << "] is not within [0, 255] in order");
    in_zero_point_ = graph.tensors.at(static_cast<size_t>(op.inputs.at(0))).quant.zero_point;
    out_zero_point_ = graph.tensors.at(static_cast<size_t>(op.output)).quant.zero_point;
    constexpr int kL = detail::kYmmLanes;
    pairs_y_.assign(n * 10, 0);
    requant_y_.assign(n * detail::kYmmRequantInts, 0);
    for (size_t c = 0; c < n; ++c) {
        for (size_t t = 0; t < 9; ++t) {
            pairs_y_[c * 10 + t] = weight_[c * 9 + t];
        }
        int32_t bias[kL];
        int32_t multiplier[kL];
        int32_t shift[kL];
        std::fill(bias, bias + kL, bias_[c]);
        std::fill(multiplier, multiplier + kL, multiplier_[c]);
        std::fill(shift, shift + kL, shift_[c]);
        detail::make_ymm_requant(bias, multiplier, shift, out_zero_point_, clamp_min_, clamp_max_,
                                 requant_y_.data() + c * detail::kYmmRequantInts);
    }
}

void PackedDepthwise3x3::run_with(KernelIsa isa,
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
    if (isa == KernelIsa::Portable) {
        run_portable(in, height, width, out, lut, scratch);
    } else { // every other ISA's CPUs have AVX2
        run_avx2(in, height, width, out, lut, scratch);
    }
}

void PackedDepthwise3x3::run_portable(const uint8_t* in,
                                      int64_t height,
                                      int64_t width,
                                      uint8_t* out,
                                      const uint8_t* lut,
                                      std::vector<int16_t>& scratch) const {
    const int64_t ho = (height - 1) / stride_ + 1;
    const int64_t wo = (width - 1) / stride_ + 1;
    const int64_t wp = width + 2;
    // One channel at a time: its codes minus the zero point with a zero border.
    const auto need = static_cast<size_t>((height + 2) * wp);
    if (scratch.size() < need) {
        scratch.resize(need);
    }
    int16_t* plane = scratch.data();
    std::fill(plane, plane + need, int16_t{0});
    for (int64_t c = 0; c < channels_; ++c) {
        for (int64_t y = 0; y < height; ++y) {
            const uint8_t* row = in + (c * height + y) * width;
            for (int64_t x = 0; x < width; ++x) {
                plane[(y + 1) * wp + x + 1] = static_cast<int16_t>(row[x] - in_zero_point_);
            }
        }
        const int8_t* w = weight_.data() + c * 9;
        const FixedPointMultiplier m{multiplier_[static_cast<size_t>(c)],
                                     shift_[static_cast<size_t>(c)]};
        uint8_t* o = out + c * ho * wo;
        for (int64_t y = 0; y < ho; ++y) {
            for (int64_t x = 0; x < wo; ++x) {
                const int16_t* p = plane + stride_ * (y * wp + x); // window top-left
                int32_t acc = bias_[static_cast<size_t>(c)];
                for (int64_t ky = 0; ky < 3; ++ky) {
                    for (int64_t kx = 0; kx < 3; ++kx) {
                        acc += w[ky * 3 + kx] * p[ky * wp + kx];
                    }
                }
                const int64_t code = std::clamp<int64_t>(out_zero_point_ + apply_multiplier(acc, m),
                                                         clamp_min_, clamp_max_);
                o[y * wo + x] = lut != nullptr ? lut[code] : static_cast<uint8_t>(code);
            }
        }
    }
}

} // namespace triseg::engine
