// Int8Model: the exported integer network as plain data (what export-int8 writes to HDF5).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/spec/model_options.h"

namespace triseg::models {

/// Per-tensor affine uint8 quantization: real = scale * (code - zero_point).
struct QuantParams {
    float scale = 1.0f;
    int32_t zero_point = 0;

    bool operator==(const QuantParams& o) const {
        return scale == o.scale && zero_point == o.zero_point;
    }
};

/// One fused block in integer form: conv3x3 (stride 1, zero padding 1 in real terms, i.e.
/// padding with the input zero point) + folded BN bias + ReLU, requantized to uint8 codes.
///
///     acc[oc,p]  = bias[oc] + sum_{ic,ky,kx} weight[oc,ic,ky,kx] * (x[ic,p+k] - input.zero_point)
///     code[oc,p] = clamp(output.zero_point + round_half_up(acc * M[oc]), output.zero_point, 255)
///     M[oc]      = multiplier[oc] * 2^-shift[oc]  ~=  input.scale * weight_scale[oc] /
///     output.scale
///
/// followed by a 2x2 max-pool on codes when pool_after.
struct Int8ConvLayer {
    std::string name; ///< conv1_1 ...
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    bool pool_after = false;
    std::vector<int8_t> weight;      ///< [out][in][3][3], symmetric, in [-127, 127]
    std::vector<float> weight_scale; ///< [out], real weight = weight_scale * weight
    std::vector<int32_t> bias;       ///< [out], accumulator units: round(b / (s_in * s_w[oc]))
    QuantParams input;               ///< codes entering the block
    QuantParams output;              ///< codes leaving the block (after ReLU)
    std::vector<int32_t> multiplier; ///< [out], in [2^30, 2^31)
    std::vector<int32_t> shift;      ///< [out], in [1, 62]
};

/// The classifier: uint8 codes (the last block's output, flattened) times int8 weights,
/// int32 accumulation, dequantized exactly to float logits:
///     logit[o] = float( double(bias[o] + sum_i weight[o,i] * (x[i] - input.zero_point))
///                       * double(input.scale) * double(weight_scale[o]) )
struct Int8LinearLayer {
    int64_t in_features = 0;
    int64_t out_features = 0;
    std::vector<int8_t> weight;      ///< [out][in]
    std::vector<float> weight_scale; ///< [out]
    std::vector<int32_t> bias;       ///< [out], accumulator units
    QuantParams input;
};

/// The whole integer network.
/// Invariants: convs follow vgg_layout(model) in order; convs[i+1].input == convs[i].output;
/// classifier.input == convs.back().output; input quantizes the normalized float image;
/// input_mean and input_std hold model.in_channels values (finite, std > 0).
struct Int8Model {
    ModelOptions model; ///< architecture (as in the float checkpoint)
    QuantParams input;  ///< normalized image -> uint8 codes
    /// per channel, pixels/255 are normalized as (p - mean) / std before input quantization
    std::vector<float> input_mean;
    std::vector<float> input_std;     ///< per channel, > 0; both have model.in_channels entries
    std::vector<Int8ConvLayer> convs; ///< forward order
    Int8LinearLayer classifier;
    std::string provenance; ///< free text: source checkpoint, config, date
};

} // namespace triseg::models
