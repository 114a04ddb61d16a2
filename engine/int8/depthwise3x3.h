// PackedDepthwise3x3: a graph's 3x3 depthwise conv (groups = channels, padding 1, any stride,
// any output clamp) on the fast kernels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/int8/conv_kernel.h"
#include "models/spec/int8_graph.h"

namespace triseg::engine {

/// A 3x3 depthwise Conv op (groups = in_channels = out_channels, padding 1) packed once per
/// model. Computes, exactly as docs/int8-model.md's conv (section 4) with one channel per
/// group:
///     out[c, y, x] = lut[clamp(zp_out + rhu(bias[c] + sum_{ky, kx} w[c, ky, kx] *
///                                  (in[c, s y - 1 + ky, s x - 1 + kx] - zp_in), M[c]))]
///
/// Method (KernelIsa::Avx2, and the AVX-512 ISAs, whose CPUs have AVX2): per channel, the
/// input minus its zero point is copied once per call into int16 "phase planes" with a zero
/// border: for stride s, plane r holds the padded columns r, r + s, r + 2 s, .., so that tap
/// (ky, kx) of 16 consecutive output positions is one unaligned load (plane kx % s, column
/// offset kx / s, row s y + ky). Pairs of taps are interleaved (unpack) and multiplied by
/// their weight pair with _mm256_madd_epi16 (exact in int32), 5 pairs for the 9 taps; the
/// clamped epilogue of make_ymm_requant (conv3x3_ymm.h) with the channel's constants in all
/// 8 lanes makes 16 codes per step. KernelIsa::Portable runs the same sums in plain loops.
///
/// Thread safety: run_with may run concurrently (each caller brings its own scratch).
class PackedDepthwise3x3 : public ConvKernel {
public:
    /// `op` is a Conv op of `graph` with kernel 3, padding 1 and groups = in_channels =
    /// out_channels, from a graph that models::validate_graph and validate_graph_accumulators
    /// accept (or one that keeps their int32 accumulator bound).
    /// @throws InputError naming the op when it is not such a conv or its sizes disagree.
    PackedDepthwise3x3(const models::Int8Graph& graph, const models::Int8Op& op);

    void run_with(KernelIsa isa,
                  const uint8_t* in,
                  int64_t height,
                  int64_t width,
                  uint8_t* out,
                  const uint8_t* lut,
                  std::vector<int16_t>& scratch) const override;

    int64_t channels() const { return channels_; }
    int64_t stride() const { return stride_; }

private:
    std::string name_;
    int64_t channels_ = 0;
    int64_t stride_ = 1;
    int32_t in_zero_point_ = 0;
    int32_t out_zero_point_ = 0;
    int32_t clamp_min_ = 0;
    int32_t clamp_max_ = 255;
    std::vector<int8_t> weight_; ///< [C][3][3]
    std::vector<int32_t> bias_;
    std::vector<int32_t> multiplier_;
    std::vector<int32_t> shift_;
    /// AVX2: per channel the 5 weight pairs (w0, w1) .. (w8, 0) as int16 pairs, and
    /// kYmmRequantInts epilogue constants (the channel's in all 8 lanes).
    std::vector<int16_t> pairs_y_;
    std::vector<int32_t> requant_y_;

    void run_portable(const uint8_t* in,
                      int64_t height,
                      int64_t width,
                      uint8_t* out,
                      const uint8_t* lut,
                      std::vector<int16_t>& scratch) const;
    void run_avx2(const uint8_t* in,
                  int64_t height,
                  int64_t width,
                  uint8_t* out,
                  const uint8_t* lut,
                  std::vector<int16_t>& scratch) const;
};

} // namespace triseg::engine
