// QAT -> Int8Model conversion.
#include "engine/train/int8_export.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "common/error.h"
#include "engine/core/requant.h"

namespace triseg::engine {

namespace {

/// Weights quantized per output channel exactly as torch::fake_quantize_per_channel_affine.
void quantize_weights(const torch::Tensor& weight,
                      std::vector<int8_t>& q,
                      std::vector<float>& scales) {
    const auto w = weight.detach().to(torch::kCPU).contiguous();
    const auto s = models::symmetric_weight_scales(w).contiguous();
    const int64_t out = w.size(0);
    const int64_t per = w.numel() / out;
    const float* wp = w.data_ptr<float>();
    scales.assign(s.data_ptr<float>(), s.data_ptr<float>() + out);
    q.resize(static_cast<size_t>(w.numel()));
    for (int64_t o = 0; o < out; ++o) {
        const float inv = 1.0f / scales[o];
        for (int64_t k = 0; k < per; ++k) {
            const float v = std::nearbyint(wp[o * per + k] * inv);
            const float c =
                std::min<float>(std::max<float>(v, -models::kWeightQmax), models::kWeightQmax);
            q[o * per + k] = static_cast<int8_t>(c);
        }
    }
}

/// Float bias in accumulator units of s_in * s_w[oc].
std::vector<int32_t> quantize_bias(const torch::Tensor& bias,
                                   float input_scale,
                                   const std::vector<float>& weight_scales,
                                   const std::string& layer) {
    const auto b = bias.detach().to(torch::kCPU).to(torch::kFloat64).contiguous();
    std::vector<int32_t> out(weight_scales.size());
    for (size_t o = 0; o < out.size(); ++o) {
        const double v = std::nearbyint(b.data_ptr<double>()[o] /
                                        (double(input_scale) * double(weight_scales[o])));
        TRISEG_CHECK(std::abs(v) < 2147483647.0, InputError,
                     "bias " << o << " of " << layer << " does not fit int32 in accumulator "
                             << "units (" << v << ")");
        out[o] = static_cast<int32_t>(v);
    }
    return out;
}

std::vector<float> to_float(const std::vector<double>& v) {
    return {v.begin(), v.end()};
}

} // namespace

models::Int8Model export_int8(models::QatVggImpl& qat,
                              const std::vector<double>& mean,
                              const std::vector<double>& std,
                              const std::string& provenance) {
    torch::NoGradGuard no_grad;
    const auto qparams = qat.activation_qparams();
    models::Int8Model m;
    m.model = qat.options();
    m.input = qparams[0];
    m.input_mean = to_float(mean);
    m.input_std = to_float(std);
    m.provenance = provenance;
    const auto& layers = qat.layers();
    for (size_t i = 0; i < layers.size(); ++i) {
        models::Int8ConvLayer l;
        l.name = layers[i].name;
        l.in_channels = layers[i].in_channels;
        l.out_channels = layers[i].out_channels;
        l.pool_after = layers[i].pool_after;
        l.input = qparams[i];
        l.output = qparams[i + 1];
        quantize_weights(qat.conv(i)->weight, l.weight, l.weight_scale);
        l.bias = quantize_bias(qat.conv(i)->bias, l.input.scale, l.weight_scale, l.name);
        for (float sw : l.weight_scale) {
            const auto fm =
                quantize_multiplier(double(l.input.scale) * double(sw) / double(l.output.scale));
            l.multiplier.push_back(fm.multiplier);
            l.shift.push_back(fm.shift);
        }
        m.convs.push_back(std::move(l));
    }
    auto& fc = m.classifier;
    fc.in_features = qat.classifier()->weight.size(1);
    fc.out_features = qat.classifier()->weight.size(0);
    fc.input = qparams.back();
    quantize_weights(qat.classifier()->weight, fc.weight, fc.weight_scale);
    fc.bias = quantize_bias(qat.classifier()->bias, fc.input.scale, fc.weight_scale, "classifier");
    return m;
}

} // namespace triseg::engine
