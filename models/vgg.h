// Vgg: the float VGG network (conv + BN + ReLU blocks, max-pools, linear classifier).
#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "models/net_base.h"
#include "models/spec/model_options.h"
#include "models/spec/vgg_layout.h"

namespace triseg::models {

/// One fused block: conv3x3 (no bias) -> BatchNorm2d -> ReLU.
class ConvBlockImpl : public torch::nn::Module {
public:
    ConvBlockImpl(int64_t in_channels, int64_t out_channels);
    torch::Tensor forward(const torch::Tensor& x);
    torch::nn::Conv2d conv{nullptr};
    torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(ConvBlock);

/// VGG for 32x32-style inputs: blocks named conv1_1 ... conv5_3 (see vgg_layout), a 2x2
/// max-pool after each stage, then flatten and one Linear to num_classes. Parameters are
/// registered as "<name>.conv.weight", "<name>.bn.running_mean", ..., "classifier.weight".
/// Deterministic initialization: call torch::manual_seed before constructing.
class VggImpl : public FloatNetImpl {
public:
    explicit VggImpl(const ModelOptions& options);

    /// x: [N, in_channels, image_size, image_size] float -> logits [N, num_classes].
    torch::Tensor forward(torch::Tensor x) override;

    /// Every block output (after its ReLU, before any pool), one point per layers() entry.
    std::vector<FloatPoint> points() const override;
    torch::Tensor forward_points(torch::Tensor x, std::vector<torch::Tensor>& outputs) override;

    const ModelOptions& options() const override { return options_; }
    const std::vector<VggLayerSpec>& layers() const { return layers_; }
    /// Block `i` in forward order (same order as layers()).
    ConvBlock& block(size_t i) { return blocks_.at(i); }
    torch::nn::Linear& classifier() { return classifier_; }

private:
    /// forward(), also appending each block's output to `outputs` unless it is null.
    torch::Tensor run(torch::Tensor x, std::vector<torch::Tensor>* outputs);

    ModelOptions options_;
    std::vector<VggLayerSpec> layers_;
    std::vector<ConvBlock> blocks_;
    torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(Vgg);

} // namespace triseg::models
