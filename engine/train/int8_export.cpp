// QAT -> Int8Model conversion.
#include "engine/train/int8_export.h"

#include <cmath>
#include <limits>
#include <map>

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

models::Int8Graph export_int8_graph(models::QatGraphImpl& qat,
                                    const std::vector<double>& mean,
                                    const std::vector<double>& std,
                                    const std::string& provenance) {
    torch::NoGradGuard no_grad;
    const auto qparams = qat.activation_qparams();
    const auto& names = qat.tensor_names();
    const auto& layout = qat.layout();
    const models::ModelOptions& o = qat.options();
    const std::vector<int64_t> sides = models::layout_sides(layout, o.image_size);
    models::Int8Graph g;
    g.model = o;
    g.input_mean = to_float(mean);
    g.input_std = to_float(std);
    g.provenance = provenance;
    std::map<std::string, int32_t> index;
    const auto add_tensor = [&](const std::string& name, int64_t c, int64_t side, bool point) {
        const auto slot =
            static_cast<size_t>(std::find(names.begin(), names.end(), name) - names.begin());
        TRISEG_CHECK(slot < names.size(), InputError, "no observer for tensor '" << name << "'");
        g.tensors.push_back({name, c, side, side, qparams[slot], point});
        index[name] = static_cast<int32_t>(g.tensors.size() - 1);
        return index[name];
    };
    add_tensor("input", o.in_channels, o.image_size, false);
    for (size_t i = 0; i < layout.size(); ++i) {
        const models::LayoutOp& l = layout[i];
        models::Int8Op op;
        op.name = l.name;
        for (const auto& in : l.inputs) {
            op.inputs.push_back(index.at(in));
        }
        const models::QuantParams in_q = g.tensors[static_cast<size_t>(op.inputs[0])].quant;
        if (l.kind == models::LayoutOp::Kind::Linear) {
            op.kind = models::Int8OpKind::Linear;
            op.in_channels = l.in_channels;
            op.out_channels = l.out_channels;
            quantize_weights(qat.fc()->weight, op.weight, op.weight_scale);
            op.bias = quantize_bias(qat.fc()->bias, in_q.scale, op.weight_scale, "fc");
            g.ops.push_back(std::move(op));
            continue;
        }
        const bool point = models::is_point(l);
        op.output = add_tensor(l.name, l.out_channels, sides[i], point);
        const models::QuantParams out_q = g.tensors[static_cast<size_t>(op.output)].quant;
        op.clamp_min = point ? out_q.zero_point : 0;
        op.clamp_max = 255;
        if (l.act == models::LayoutAct::Relu6) {
            const double six = std::nearbyint(6.0 / double(out_q.scale));
            op.clamp_max = static_cast<int32_t>(std::min(255.0, out_q.zero_point + six));
        }
        switch (l.kind) {
        case models::LayoutOp::Kind::Conv: {
            op.kind = models::Int8OpKind::Conv;
            op.kernel = l.kernel;
            op.stride = l.stride;
            op.padding = l.padding;
            op.groups = l.groups;
            op.in_channels = l.in_channels;
            op.out_channels = l.out_channels;
            auto& conv = qat.conv(l.name);
            quantize_weights(conv->weight, op.weight, op.weight_scale);
            op.bias = quantize_bias(conv->bias, in_q.scale, op.weight_scale, l.name);
            for (float sw : op.weight_scale) {
                const auto fm =
                    quantize_multiplier(double(in_q.scale) * double(sw) / double(out_q.scale));
                op.multiplier.push_back(fm.multiplier);
                op.shift.push_back(fm.shift);
            }
            break;
        }
        case models::LayoutOp::Kind::Add: {
            op.kind = models::Int8OpKind::Add;
            const models::QuantParams b_q = g.tensors[static_cast<size_t>(op.inputs[1])].quant;
            const AddMultipliers m = quantize_add_multipliers(
                double(in_q.scale) / double(out_q.scale), double(b_q.scale) / double(out_q.scale));
            op.multiplier = {m.a, m.b};
            op.shift = {m.shift};
            break;
        }
        case models::LayoutOp::Kind::GlobalAvgPool: {
            op.kind = models::Int8OpKind::GlobalAvgPool;
            const int64_t side = sides[static_cast<size_t>(
                std::find_if(layout.begin(), layout.end(),
                             [&l](const models::LayoutOp& x) { return x.name == l.inputs[0]; }) -
                layout.begin())];
            const auto fm = quantize_multiplier(double(in_q.scale) /
                                                (double(out_q.scale) * double(side * side)));
            op.multiplier = {fm.multiplier};
            op.shift = {fm.shift};
            break;
        }
        case models::LayoutOp::Kind::Linear:
            break;
        }
        g.ops.push_back(std::move(op));
    }
    return g;
}

} // namespace triseg::engine
