// Vgg implementation.
#include "models/vgg.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>

namespace triseg::models {

namespace F = torch::nn::functional;

ConvBlockImpl::ConvBlockImpl(int64_t in_channels, int64_t out_channels) {
    conv = register_module(
        "conv", torch::nn::Conv2d(
                    torch::nn::Conv2dOptions(in_channels, out_channels, 3).padding(1).bias(false)));
    bn = register_module("bn", torch::nn::BatchNorm2d(out_channels));
    // He initialization for ReLU networks (He et al. 2015), as torchvision's VGG.
    torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor ConvBlockImpl::forward(const torch::Tensor& x) {
    return bn->forward(conv->forward(x)).relu_();
}

VggImpl::VggImpl(const ModelOptions& options) : options_(options), layers_(vgg_layout(options)) {
    options_.validate();
    for (const auto& spec : layers_) {
        blocks_.push_back(
            register_module(spec.name, ConvBlock(spec.in_channels, spec.out_channels)));
    }
    // Five 2x2 pools: the final feature map is (image_size/32)^2 per channel.
    const int64_t side = options_.image_size / 32;
    const int64_t features = layers_.back().out_channels * side * side;
    classifier_ = register_module("classifier", torch::nn::Linear(features, options_.num_classes));
    torch::nn::init::normal_(classifier_->weight, 0.0, 0.01);
    torch::nn::init::zeros_(classifier_->bias);
}

std::vector<FloatPoint> VggImpl::points() const {
    std::vector<FloatPoint> out;
    int64_t side = options_.image_size;
    for (const auto& l : layers_) {
        out.push_back({l.name, l.out_channels, side, l.pool_after});
        side /= l.pool_after ? 2 : 1;
    }
    return out;
}

torch::Tensor VggImpl::forward(torch::Tensor x) {
    return run(std::move(x), nullptr);
}

torch::Tensor VggImpl::forward_points(torch::Tensor x, std::vector<torch::Tensor>& outputs) {
    outputs.clear();
    return run(std::move(x), &outputs);
}

torch::Tensor VggImpl::run(torch::Tensor x, std::vector<torch::Tensor>* outputs) {
    for (size_t i = 0; i < blocks_.size(); ++i) {
        x = blocks_[i]->forward(x);
        if (outputs != nullptr) {
            outputs->push_back(x);
        }
        if (layers_[i].pool_after) {
            x = F::max_pool2d(x, F::MaxPool2dFuncOptions(2).stride(2));
        }
    }
    return classifier_->forward(x.flatten(1));
}

} // namespace triseg::models
