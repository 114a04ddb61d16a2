// Fast exact integer kernels of the INT8 VGG: conv3x3 + requantize, 2x2 max-pool, classifier.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/int8/conv_kernel.h"
#include "models/spec/int8_model.h"

namespace triseg::engine {

/// Instruction sets of the conv kernel. Every one gives bit-identical results (exact int32
/// arithmetic); they differ only in speed.
enum class KernelIsa {
    Portable,   ///< plain C++ loops, any CPU
    Avx2,       ///< _mm256_madd_epi16 micro-kernels on int16 pairs (x86-64 with AVX2)
    Avx512Vnni, ///< _mm256_dpbusd_epi32 micro-kernel (AVX-512 VNNI + VL), u8 x s8 quads
    Avx512Zmm   ///< _mm512_dpbusd_epi32 micro-kernels (AVX-512 F + BW + VL + VNNI), 16 lanes
};

/// "portable", "AVX2", "AVX-512 VNNI" or "AVX-512 VNNI zmm", for messages.
const char* kernel_isa_name(KernelIsa isa);

/// The highest KernelIsa that the value of the environment variable TRISEG_KERNEL_ISA allows:
/// "portable", "avx2", "avx512vnni" (the 256-bit VNNI kernel) or "avx512zmm" (the 512-bit
/// one); null or empty allows every one. It makes a machine behave as one without zmm VNNI
/// (or without VNNI, or without AVX2), e.g. to run the test suite as such a machine would. @throws
/// ConfigError naming the variable, the value and the allowed values.
KernelIsa parse_kernel_isa_cap(const char* value);

/// Whether this CPU (and build) can run `isa` and TRISEG_KERNEL_ISA allows it: AVX2 needs the
/// avx2 CPU flag, Avx512Vnni needs avx2, avx512vl and avx512vnni, Avx512Zmm needs those and
/// avx512f and avx512bw (with the zmm state enabled by the OS), on an x86-64 build.
bool kernel_isa_supported(KernelIsa isa);

/// The fastest supported KernelIsa (Avx512Zmm, else Avx512Vnni, else Avx2, else Portable).
KernelIsa best_kernel_isa();

/// Checks a conv layer before any kernel runs it: channel counts >= 1; weight, weight_scale,
/// bias, multiplier and shift sizes; multiplier in [2^30, 2^31); shift in [1, 62]; zero
/// points in [0, 255]; and that no accumulator can leave int32:
///     |bias[oc]| + max(zp_in, 255 - zp_in) * sum_k |weight[oc, k]| <= INT32_MAX.
/// @throws InputError naming the layer and the offending field.
void validate_int8_conv(const models::Int8ConvLayer& layer);

/// The same checks for the classifier (sizes, zero point, int32 accumulator bound).
/// @throws InputError naming the classifier and the offending field.
void validate_int8_linear(const models::Int8LinearLayer& layer);

/// Weights of one Int8ConvLayer repacked for the fast kernel (done once per model).
///
/// Computes, exactly as models::Int8ConvLayer documents (padding with the input zero point),
/// with the output clamp of a graph conv (docs/int8-model.md, section 4):
///     out[oc, p] = lut[clamp(zp_out + rhu(bias[oc] + sum_k w[oc, k] * (x[k, p] - zp_in),
///                                         M[oc]), clamp_min, clamp_max)]
/// (lut = identity when null); [clamp_min, clamp_max] = [zp_out, 255] is the ReLU of a VGG
/// block, [0, 255] no activation, a clamp_max below 255 a ReLU6.
///
/// Method (direct convolution): the input is copied once per call into int16 channel pairs
/// with the zero point subtracted and a zero border, so that one 32-bit broadcast holds the
/// two channels (x[2c], x[2c+1]) at a pixel; the weights, widened to int16 once per model,
/// hold per (channel pair, tap) 8 output channels x (w[oc, 2c], w[oc, 2c+1]) per 256-bit
/// vector, so
///     acc[oc lanes] += madd_epi16(weights, broadcast(pixel pair))     (exact, no saturation)
/// The portable kernel runs these sums in plain loops.
///
/// The AVX2 kernel (KernelIsa::Avx2, engine/int8/conv3x3_ymm.h) keeps 12 accumulators in the
/// 16 ymm registers: register blocks of 6 positions x 16 output channels (12 x 8 for a
/// one-vector remainder), plus the block's weight vectors, a broadcast and a product. Each
/// weight vector is loaded once per tap and used for every position of the block, and the
/// output-channel block's weights stay in L1/L2 while its positions stream past. The
/// epilogue clamps acc + bias to [vmin, vcap] (per channel, computed once per model: the last
/// sum whose code is clamp_min and the first whose code is clamp_max; no code changes) and
/// adds an offset to the 64-bit product that makes it non-negative, so that a logical shift
/// (AVX2 has no arithmetic 64-bit one) gives the rounded value plus the offset, which fits
/// 32 bits and is clamped there (make_ymm_requant, conv3x3_ymm.h); it packs the codes to bytes in a
/// tile of 16 positions x 16 channels and stores the tile transposed (four unpack stages) into
/// [C_out][H][W]. Layers with C_in <= 3 (conv1_1) run on im2col rows instead: the 9 C_in window
/// values of a position as int16 pairs (5 pairs for one channel instead of 9 half-empty ones).
///
/// The VNNI variant packs raw codes as uint8 channel quads (border = the input zero point)
/// and int8 weight quads, and forms sum_k w * x with _mm256_dpbusd_epi32 (four u8 x s8
/// products summed into int32 without saturation, unlike maddubs); the zero point enters as
/// a per-channel constant, bias - zp_in * sum_k w. Partial sums may wrap in int32, but the
/// arithmetic is exact modulo 2^32 and the final value fits int32 (the bound above), so the
/// result equals the AVX2 kernel's bit for bit. (AVX2 alone has no such instruction:
/// vpmaddubsw would saturate its int16 pair sums, so the AVX2 kernel widens to int16.)
///
/// The zmm variant (KernelIsa::Avx512Zmm, engine/int8/conv3x3_zmm.h) uses the same quads
/// with 16 output channels per vector and register blocks of 6 positions x 64 channels
/// (12 x 32, 24 x 16 for narrow layers): 24 of the 32 zmm registers accumulate. Layers with
/// C_in <= 3 (conv1_1) run it on im2col rows instead: the 9 C_in window values of a position,
/// in quads, so one input channel costs 3 quads instead of 9 (for one channel the rows are
/// built 16 positions at a time with vpermb where the CPU has AVX-512 VBMI).
///
/// Thread safety: const methods may run concurrently (each caller brings its own scratch).
class PackedConv3x3 : public ConvKernel {
public:
    /// A VGG block: ReLU, clamp [zp_out, 255].
    /// @throws InputError (naming the layer) when validate_int8_conv rejects `layer`.
    explicit PackedConv3x3(const models::Int8ConvLayer& layer);

    /// Output codes clamped to [clamp_min, clamp_max] instead, and windows `stride` apart:
    /// output (y, x) of [C_out][(H - 1) / stride + 1][(W - 1) / stride + 1] reads the window
    /// centred on input (stride y, stride x) (padding 1 as always).
    /// @throws InputError (naming the layer) when validate_int8_conv rejects `layer`, the
    /// clamp is not 0 <= clamp_min <= clamp_max <= 255, or stride < 1.
    PackedConv3x3(const models::Int8ConvLayer& layer,
                  int32_t clamp_min,
                  int32_t clamp_max,
                  int64_t stride = 1);

    /// One image: `in` is [C_in][H][W] uint8 codes, `out` is [C_out][H_out][W_out] uint8
    /// codes (H_out = H, W_out = W at stride 1).
    /// `lut` is null or a 256-entry table applied to the block's output codes.
    /// `scratch` is caller-owned work memory, resized as needed (no allocation once warm).
    /// Runs best_kernel_isa().
    /// @throws InputError unless height, width >= 1.
    void run(const uint8_t* in,
             int64_t height,
             int64_t width,
             uint8_t* out,
             const uint8_t* lut,
             std::vector<int16_t>& scratch) const;

    /// As run(), on a chosen instruction set (for tests and benchmarks).
    /// @throws InputError when `isa` is not supported here.
    void run_with(KernelIsa isa,
                  const uint8_t* in,
                  int64_t height,
                  int64_t width,
                  uint8_t* out,
                  const uint8_t* lut,
                  std::vector<int16_t>& scratch) const override;

    int64_t in_channels() const { return in_channels_; }
    int64_t out_channels() const { return out_channels_; }
    const std::string& name() const { return name_; }

private:
    /// One register block of output channels: lanes [oc0, oc0 + 8 * nv) (zero-padded).
    struct OcBlock {
        int64_t oc0 = 0;    ///< first output channel
        int nv = 0;         ///< vectors of 8 output channels (1 or 2)
        int64_t offset = 0; ///< start of this block's weights in weights_
    };

    std::string name_;
    int64_t in_channels_ = 0;
    int64_t out_channels_ = 0;
    int64_t channel_pairs_ = 0; ///< ceil(C_in / 2)
    int32_t in_zero_point_ = 0;
    int32_t out_zero_point_ = 0;
    int32_t clamp_min_ = 0; ///< output codes are clamped to [clamp_min_, clamp_max_]
    int32_t clamp_max_ = 255;
    int64_t stride_ = 1; ///< output (y, x) reads the window centred on input (s y, s x)
    /// Weights, int16, block after block (blocks_): within a block of nv vectors,
    /// [channel pair][ky][kx][8 * nv lanes][2], lane l = output channel oc0 + l and the
    /// pair = (w[oc, 2c, ky, kx], w[oc, 2c + 1, ky, kx]); missing channels are zero.
    std::vector<int16_t> weights_;
    std::vector<OcBlock> blocks_;
    /// Requantization per output channel, padded to a multiple of 8 channels.
    std::vector<int32_t> bias_;
    std::vector<int32_t> multiplier_;
    std::vector<int32_t> shift_;
    /// VNNI packing: weights [quad][ky][kx][8 * nv lanes][4] as int8, block after block,
    /// and bias - zp_in * sum w per lane (modulo 2^32), also as the epilogue's constants
    /// (make_ymm_requant, kYmmRequantInts per vector of 8 output channels).
    std::vector<int8_t> weights_q_;
    std::vector<int32_t> bias_q_;
    std::vector<int32_t> requant_q_;
    int64_t channel_quads_ = 0;

    /// The zmm packing: blocks of nv in {1, 2, 4} vectors of 16 output channels, weights
    /// [quad][ky][kx][16 nv][4] int8 (or [quad][16 nv][4] over im2col rows when im2col_),
    /// and bias / multiplier / shift padded to a multiple of 64 lanes.
    struct ZmmBlock {
        int64_t oc0 = 0;
        int nv = 0;
        int64_t offset = 0; ///< start in weights_z_
    };
    std::vector<ZmmBlock> blocks_z_;
    std::vector<int8_t> weights_z_;
    std::vector<int32_t> bias_z_;
    std::vector<int32_t> multiplier_z_;
    std::vector<int32_t> shift_z_;
    bool im2col_ = false;      ///< C_in <= 3: reduce over im2col rows of 9 C_in values
    int64_t im2col_quads_ = 0; ///< ceil(9 C_in / 4)

    /// The AVX2 kernel's extras: requantization constants, 64 int32 per vector of 8 output
    /// channels (make_ymm_requant, conv3x3_ymm.h), and for im2col_ the weights
    /// [pair][8 nv lanes][2] over im2col rows of im2col_pairs_ pairs, block after block
    /// (blocks_).
    std::vector<int32_t> requant_y_;
    bool lower_y_ = true; ///< ymm_needs_lower_clamp(requant_y_)
    std::vector<int16_t> weights_y_;
    int64_t im2col_pairs_ = 0; ///< ceil(9 C_in / 2)

    void pack_ymm(const models::Int8ConvLayer& layer);
    void run_avx2(const uint8_t* in,
                  int64_t height,
                  int64_t width,
                  uint8_t* out,
                  const uint8_t* lut,
                  std::vector<int16_t>& scratch) const;

    void pack_zmm(const models::Int8ConvLayer& layer);
    void run_zmm(const uint8_t* in,
                 int64_t height,
                 int64_t width,
                 uint8_t* out,
                 const uint8_t* lut,
                 std::vector<int16_t>& scratch) const;

    void run_portable(const uint8_t* in,
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
};

/// 2x2 max-pool, stride 2, on codes: in [C][H][W] -> out [C][H/2][W/2].
/// @throws InputError unless channels >= 1 and H, W are even and >= 2.
void maxpool2x2_u8(
    const uint8_t* in, int64_t channels, int64_t height, int64_t width, uint8_t* out);

/// The classifier: x [in_features] codes -> logits [out_features], exactly as
/// models::Int8LinearLayer documents (int32 accumulation, dequantized in double).
/// @throws InputError when validate_int8_linear rejects `layer`.
void linear_u8(const models::Int8LinearLayer& layer, const uint8_t* x, float* logits);

/// linear_u8 without the validation, for callers that ran validate_int8_linear(layer) once
/// (Int8Network does in its constructor). Same bits as linear_u8.
void linear_u8_prevalidated(const models::Int8LinearLayer& layer, const uint8_t* x, float* logits);

/// Quantizes a normalized float image to input codes, in float32 exactly as written:
///     inv = 1.0f / q.scale;  out = clamp(std::nearbyint(x * inv) + q.zero_point, 0, 255)
/// (nearbyint in the default rounding mode: ties to even).
/// @throws InputError for a non-positive or non-finite scale, a zero point outside [0, 255],
/// or a NaN input value.
void quantize_input(const float* x, int64_t count, models::QuantParams q, uint8_t* out);

} // namespace triseg::engine
