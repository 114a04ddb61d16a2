// From the QAT network to the exported integer model.
#pragma once

#include <string>
#include <vector>

#include "models/graph_net.h"
#include "models/qat_vgg.h"
#include "models/spec/int8_graph.h"
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

/// The same for a graph network (ResNet, MobileNetV2): one tensor per observer slot (points:
/// the ReLU and ReLU6 outputs), convs as above (clamp [zp_out, 255] for ReLU, [zp_out,
/// min(255, zp_out + round(6 / s_out))] for ReLU6, [0, 255] when linear), adds with
/// quantize_add_multipliers(s_a / s_out, s_b / s_out), the global average pool with
/// quantize_multiplier(s_in / (s_out * H * W)), and the classifier "fc".
/// @throws InputError as export_int8.
models::Int8Graph export_int8_graph(models::QatGraphImpl& qat,
                                    const std::vector<double>& mean,
                                    const std::vector<double>& std,
                                    const std::string& provenance);

} // namespace triseg::engine
