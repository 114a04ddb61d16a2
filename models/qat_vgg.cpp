// QatVgg implementation: BN folding and the fake-quant forward.
#include "models/qat_vgg.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "common/error.h"

namespace triseg::models {

namespace F = torch::nn::functional;

QatVggImpl::QatVggImpl(const ModelOptions& options)
    : options_(options), layers_(vgg_layout(options)) {
    options_.validate();
    build();
}

QatVggImpl::QatVggImpl(VggImpl& float_model) : QatVggImpl(float_model.options()) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < layers_.size(); ++i) {
        auto& block = float_model.block(i);
        const auto& bn = block->bn;
        const auto inv_std = torch::rsqrt(bn->running_var + bn->options.eps());
        const auto gain = bn->weight * inv_std;
        convs_[i]->weight.copy_(block->conv->weight * gain.view({-1, 1, 1, 1}));
        convs_[i]->bias.copy_(bn->bias - bn->running_mean * gain);
    }
    classifier_->weight.copy_(float_model.classifier()->weight);
    classifier_->bias.copy_(float_model.classifier()->bias);
}

void QatVggImpl::build() {
    for (const auto& spec : layers_) {
        convs_.push_back(register_module(
            spec.name,
            torch::nn::Conv2d(
                torch::nn::Conv2dOptions(spec.in_channels, spec.out_channels, 3).padding(1))));
    }
    const int64_t side = options_.image_size / 32;
    classifier_ =
        register_module("classifier", torch::nn::Linear(layers_.back().out_channels * side * side,
                                                        options_.num_classes));
    observers_.attach(*this, static_cast<int64_t>(layers_.size() + 1));
}

std::vector<std::string> QatVggImpl::point_names() const {
    std::vector<std::string> names;
    for (const auto& spec : layers_) {
        names.push_back(spec.name);
    }
    return names;
}

std::vector<QuantParams> QatVggImpl::point_qparams() const {
    auto q = observers_.qparams();
    q.erase(q.begin()); // the input's
    return q;
}

torch::Tensor QatVggImpl::forward(torch::Tensor x) {
    const bool observe_now = observers_.observing() && is_training();
    if (observe_now) {
        observers_.observe(0, x);
    }
    x = observers_.fake_quant(x, 0);
    for (size_t i = 0; i < convs_.size(); ++i) {
        auto& conv = convs_[i];
        x = F::conv2d(x, fake_quant_weight(conv->weight),
                      F::Conv2dFuncOptions().bias(conv->bias).padding(1))
                .relu();
        if (observe_now) {
            observers_.observe(i + 1, x);
        }
        x = observers_.fake_quant(x, i + 1);
        if (block_hook_) {
            x = block_hook_(static_cast<int64_t>(i), x);
        }
        if (layers_[i].pool_after) {
            x = F::max_pool2d(x, F::MaxPool2dFuncOptions(2).stride(2));
        }
    }
    if (observe_now) {
        observers_.batch_done();
    }
    return F::linear(x.flatten(1), fake_quant_weight(classifier_->weight), classifier_->bias);
}

} // namespace triseg::models
