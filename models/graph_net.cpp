// GraphNet and QatGraph implementation.
#include "models/graph_net.h"

#include <algorithm>

#include <torch/torch.h>

#include "common/error.h"

namespace triseg::models {

namespace F = torch::nn::functional;

namespace {

torch::Tensor activate(const torch::Tensor& x, LayoutAct act) {
    switch (act) {
    case LayoutAct::Relu:
        return x.relu();
    case LayoutAct::Relu6:
        return x.clamp(0.0, 6.0);
    case LayoutAct::None:
        break;
    }
    return x;
}

torch::nn::Conv2d make_conv(const LayoutOp& op, bool bias) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(op.in_channels, op.out_channels, op.kernel)
                                 .stride(op.stride)
                                 .padding(op.padding)
                                 .groups(op.groups)
                                 .bias(bias));
}

} // namespace

std::string module_name(const std::string& name) {
    std::string out = name;
    std::replace(out.begin(), out.end(), '.', '_');
    return out;
}

GraphNetImpl::GraphNetImpl(const ModelOptions& options)
    : options_(options), layout_(graph_layout(options)) {
    options_.validate();
    for (const LayoutOp& op : layout_) {
        if (op.kind == LayoutOp::Kind::Conv) {
            auto conv = register_module(module_name(op.name), make_conv(op, false));
            torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
            convs_.emplace(op.name, conv);
            bns_.emplace(op.name, register_module(module_name(op.name) + "_bn",
                                                  torch::nn::BatchNorm2d(op.out_channels)));
        } else if (op.kind == LayoutOp::Kind::Linear) {
            fc_ = register_module("fc", torch::nn::Linear(op.in_channels, op.out_channels));
            torch::nn::init::normal_(fc_->weight, 0.0, 0.01);
            torch::nn::init::zeros_(fc_->bias);
        }
    }
}

std::vector<FloatPoint> GraphNetImpl::points() const {
    const auto sides = layout_sides(layout_, options_.image_size);
    std::vector<FloatPoint> out;
    for (size_t i = 0; i < layout_.size(); ++i) {
        if (is_point(layout_[i])) {
            out.push_back({layout_[i].name, layout_[i].out_channels, sides[i], false});
        }
    }
    return out;
}

torch::Tensor GraphNetImpl::forward(torch::Tensor x) {
    std::vector<torch::Tensor> outputs;
    return forward_points(std::move(x), outputs);
}

torch::Tensor GraphNetImpl::forward_points(torch::Tensor x, std::vector<torch::Tensor>& outputs) {
    outputs.clear();
    std::map<std::string, torch::Tensor> t{{"input", x}};
    for (const LayoutOp& op : layout_) {
        const torch::Tensor& in = t.at(op.inputs[0]);
        switch (op.kind) {
        case LayoutOp::Kind::Conv:
            t[op.name] =
                activate(bns_.at(op.name)->forward(convs_.at(op.name)->forward(in)), op.act);
            break;
        case LayoutOp::Kind::Add:
            t[op.name] = activate(in + t.at(op.inputs[1]), op.act);
            break;
        case LayoutOp::Kind::GlobalAvgPool:
            t[op.name] = in.mean({2, 3}, true);
            break;
        case LayoutOp::Kind::Linear:
            return fc_->forward(in.flatten(1));
        }
        if (is_point(op)) {
            outputs.push_back(t.at(op.name));
        }
    }
    TRISEG_THROW(InputError, "the graph layout has no classifier");
}

QatGraphImpl::QatGraphImpl(const ModelOptions& options)
    : options_(options), layout_(graph_layout(options)) {
    options_.validate();
    build();
}

QatGraphImpl::QatGraphImpl(GraphNetImpl& float_model) : QatGraphImpl(float_model.options()) {
    torch::NoGradGuard no_grad;
    for (auto& [name, conv] : convs_) {
        const auto& bn = float_model.bn(name);
        const auto inv_std = torch::rsqrt(bn->running_var + bn->options.eps());
        const auto gain = bn->weight * inv_std;
        conv->weight.copy_(float_model.conv(name)->weight * gain.view({-1, 1, 1, 1}));
        conv->bias.copy_(bn->bias - bn->running_mean * gain);
    }
    fc_->weight.copy_(float_model.fc()->weight);
    fc_->bias.copy_(float_model.fc()->bias);
}

void QatGraphImpl::build() {
    tensor_names_.push_back("input");
    int64_t points = 0;
    for (const LayoutOp& op : layout_) {
        point_of_op_.push_back(is_point(op) ? points++ : -1);
        if (op.kind == LayoutOp::Kind::Conv) {
            convs_.emplace(op.name, register_module(module_name(op.name), make_conv(op, true)));
        } else if (op.kind == LayoutOp::Kind::Linear) {
            fc_ = register_module("fc", torch::nn::Linear(op.in_channels, op.out_channels));
            continue;
        }
        tensor_names_.push_back(op.name);
    }
    for (size_t s = 0; s < tensor_names_.size(); ++s) {
        slot_of_[tensor_names_[s]] = s;
    }
    observers_.attach(*this, static_cast<int64_t>(tensor_names_.size()));
}

std::vector<std::string> QatGraphImpl::point_names() const {
    std::vector<std::string> names;
    for (size_t i = 0; i < layout_.size(); ++i) {
        if (point_of_op_[i] >= 0) {
            names.push_back(layout_[i].name);
        }
    }
    return names;
}

std::vector<QuantParams> QatGraphImpl::point_qparams() const {
    const auto all = observers_.qparams();
    std::vector<QuantParams> q;
    for (const auto& name : point_names()) {
        q.push_back(all.at(slot_of_.at(name)));
    }
    return q;
}

torch::Tensor QatGraphImpl::forward(torch::Tensor x) {
    std::map<std::string, torch::Tensor> t;
    return forward_tensors(std::move(x), t);
}

torch::Tensor QatGraphImpl::forward_tensors(torch::Tensor x,
                                            std::map<std::string, torch::Tensor>& t) {
    const bool observe_now = observers_.observing() && is_training();
    t.clear();
    const auto finish = [&](const std::string& name, torch::Tensor y) {
        const size_t slot = slot_of_.at(name);
        if (observe_now) {
            observers_.observe(slot, y);
        }
        t[name] = observers_.fake_quant(y, slot);
    };
    finish("input", x);
    for (size_t i = 0; i < layout_.size(); ++i) {
        const LayoutOp& op = layout_[i];
        const torch::Tensor& in = t.at(op.inputs[0]);
        switch (op.kind) {
        case LayoutOp::Kind::Conv: {
            auto& conv = convs_.at(op.name);
            finish(op.name, activate(F::conv2d(in, fake_quant_weight(conv->weight),
                                               F::Conv2dFuncOptions()
                                                   .bias(conv->bias)
                                                   .stride(op.stride)
                                                   .padding(op.padding)
                                                   .groups(op.groups)),
                                     op.act));
            break;
        }
        case LayoutOp::Kind::Add:
            finish(op.name, activate(in + t.at(op.inputs[1]), op.act));
            break;
        case LayoutOp::Kind::GlobalAvgPool:
            finish(op.name, in.mean({2, 3}, true));
            break;
        case LayoutOp::Kind::Linear:
            if (observe_now) {
                observers_.batch_done();
            }
            return F::linear(in.flatten(1), fake_quant_weight(fc_->weight), fc_->bias);
        }
        if (point_hook_ && point_of_op_[i] >= 0) {
            auto& y = t.at(op.name);
            y = point_hook_(point_of_op_[i], y);
        }
    }
    TRISEG_THROW(InputError, "the graph layout has no classifier");
}

} // namespace triseg::models
