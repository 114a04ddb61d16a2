// PackedConv1x1: a graph's 1x1 one-group conv (any stride, any output clamp) as a GEMM on the
// fast kernels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/int8/conv_kernel.h"
#include "models/spec/int8_graph.h"

namespace triseg::engine {

/// A 1x1, one-group, unpadded Conv op packed once per model. Computes, exactly as
/// docs/int8-model.md's conv (section 4) with kernel 1:
///     out[oc, y, x] = lut[clamp(zp_out + rhu(bias[oc] + sum_c w[oc, c] *
///                                          (in[c, s y, s x] - zp_in), M[oc]))]
/// for the op's stride s (a stride-2 projection shortcut reads every other row and column).
///
/// Method: a GEMM over the channels on the register blocks of PackedConv3x3's micro-kernels
/// with one tap (conv3x3_ymm.h, conv3x3_zmm.h). The input is copied once per call into
/// the 3x3 kernels' padded planes, and output position (y, x) reads its pixel (s y, s x)
/// there, so a stride costs nothing more than its positions:
///  - KernelIsa::Avx2: int16 channel pairs, _mm256_madd_epi16 into blocks of 6 positions x
///    16 output channels (12 x 8), the clamped epilogue of make_ymm_requant, transposed
///    tile stores;
///  - KernelIsa::Avx512Vnni: the same blocks on uint8 channel quads and int8 weight quads
///    with _mm256_dpbusd_epi32, the zero point folded into the bias (bias - zp_in * sum w,
///    exact modulo 2^32);
///  - KernelIsa::Avx512Zmm: the quads with _mm512_dpbusd_epi32 into blocks of up to 6
///    positions x 64 output channels;
///  - KernelIsa::Portable: the input minus its zero point as int32 rows, one output plane at
///    a time in plain loops.
///
/// Thread safety: run_with may run concurrently (each caller brings its own scratch).
class PackedConv1x1 : public ConvKernel {
public:
    /// `op` is a Conv op of `graph` with kernel 1, padding 0 and one group, from a graph that
    /// models::validate_graph and validate_graph_accumulators accept (or one that keeps
    /// their int32 accumulator bound).
    /// @throws InputError naming the op when it is not such a conv or its sizes disagree.
    PackedConv1x1(const models::Int8Graph& graph, const models::Int8Op& op);

    void run_with(KernelIsa isa,
                  const uint8_t* in,
                  int64_t height,
                  int64_t width,
                  uint8_t* out,
                  const uint8_t* lut,
                  std::vector<int16_t>& scratch) const override;

    int64_t in_channels() const { return in_channels_; }
    int64_t out_channels() const { return out_channels_; }
    int64_t stride() const { return stride_; }

private:
    /// A register block of output channels: lanes [oc0, oc0 + lanes-per-vector * nv).
    struct Block {
        int64_t oc0 = 0;
        int nv = 0;
        int64_t offset = 0; ///< start of its weights
    };

    std::string name_;
    int64_t in_channels_ = 0;
    int64_t out_channels_ = 0;
    int64_t stride_ = 1;
    int32_t in_zero_point_ = 0;
    int32_t out_zero_point_ = 0;
    int32_t clamp_min_ = 0;
    int32_t clamp_max_ = 255;
    /// The op's weights [C_out][C_in], bias, multiplier and shift (portable kernel).
    std::vector<int8_t> weight_;
    std::vector<int32_t> bias_;
    std::vector<int32_t> multiplier_;
    std::vector<int32_t> shift_;
    /// AVX2: blocks of 2 (then 1) vectors of 8 channels, weights int16 [pair][8 nv][2] per
    /// block, and kYmmRequantInts epilogue constants per vector.
    std::vector<Block> blocks_y_;
    std::vector<int16_t> weights_y_;
    std::vector<int32_t> requant_y_;
    /// 256-bit VNNI: the same blocks, weights int8 [quad][8 nv][4] from offsets_q_[block],
    /// and the epilogue constants over the corrected bias.
    std::vector<int8_t> weights_q_;
    std::vector<int64_t> offsets_q_;
    std::vector<int32_t> requant_q_;
    /// zmm: blocks of 4, 2 or 1 vectors of 16 channels, weights int8 [quad][16 nv][4] per
    /// block, and the corrected bias, multiplier and shift padded to the last block's end.
    std::vector<Block> blocks_z_;
    std::vector<int8_t> weights_z_;
    std::vector<int32_t> bias_z_;
    std::vector<int32_t> multiplier_z_;
    std::vector<int32_t> shift_z_;

    void pack_ymm();
    void pack_zmm();
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
    void run_vnni(const uint8_t* in,
                  int64_t height,
                  int64_t width,
                  uint8_t* out,
                  const uint8_t* lut,
                  std::vector<int16_t>& scratch) const;
    void run_zmm(const uint8_t* in,
                 int64_t height,
                 int64_t width,
                 uint8_t* out,
                 const uint8_t* lut,
                 std::vector<int16_t>& scratch) const;
};

} // namespace triseg::engine
