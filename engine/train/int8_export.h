// From the QAT network to the exported integer model.
#pragma once

#include <string>
#include <vector>

#include "models/qat_vgg.h"
#include "models/spec/int8_model.h"

namespace triseg::engine {

/// Converts a calibrated QAT network into integer form, reproducing its fake quantization:
///
///     s_w[oc]   = symmetric_weight_scales(W)                      (float32)
///     w_q       = clamp(nearbyint(W * (1.0f / s_w[oc])), -127, 127)   (as fake_quantize does)
///     bias[oc]  = nearbyint(double(b[oc]) / (double(s_in) * double(s_w[oc])))   (int32)
///     M[oc]     = quantize_multiplier(double(s_in) * double(s_w[oc]) / double(s_out))
///
/// with s_in / s_out the observers' scales of the block's input and output.
/// `mean` / `std` are the input normalization (stored so the file alone can run inference).
/// @throws InputError when the observers are uncalibrated or a value leaves its integer range.
models::Int8Model export_int8(models::QatVggImpl& qat,
                              const std::vector<double>& mean,
                              const std::vector<double>& std,
                              const std::string& provenance);

} // namespace triseg::engine
