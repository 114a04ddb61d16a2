// QatVgg: the BN-folded VGG with fake quantization (QAT network and fake-quant student).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "models/net_base.h"
#include "models/observers.h"
#include "models/spec/int8_model.h"
#include "models/vgg.h"

namespace triseg::models {

/// The VGG with every BatchNorm folded into its conv (w' = w*g/sqrt(v+eps),
/// b' = beta - mean*g/sqrt(v+eps)) and fake quantization as the integer network computes:
///
///     x = fq(x, q[0])                                     # input codes, affine uint8
///     for block i: x = fq(relu(conv(x, fq_w(W_i), b_i)), q[i+1]); maxpool when pool_after
///     logits = linear(flatten(x), fq_w(W_fc), b_fc)
///
/// fq is per-tensor affine uint8 fake quantization, fq_w per-channel symmetric int8. The
/// activation ranges q[0..L] come from moving-average min/max observers, kept in buffers
/// (`observer_min`, `observer_max`, `observer_batches`) so checkpoints carry them. Observing
/// is switched on for calibration and early fine-tuning and off once frozen; in eval mode with
/// observing off this is the fake-quant student of the STE baseline.
///
/// An optional block hook sees (and may replace) each block's output: forward calls
/// `x = hook(i, x)` right after fq(..., q[i+1]) and before the block's pool, so the hook gets
/// [N, out_channels_i, side_i, side_i] fake-quantized activations, blocks in order.
class QatVggImpl : public QatNetImpl {
public:
    /// Folds the BN of `float_model` (its running statistics) into a new QAT network.
    explicit QatVggImpl(VggImpl& float_model);
    /// Architecture only, for loading a QAT checkpoint.
    explicit QatVggImpl(const ModelOptions& options);

    torch::Tensor forward(torch::Tensor x) override;

    /// Called with (block index, block output) in forward; returns the tensor to pass on.
    using BlockHook = PointHook;
    /// Sets the block hook (null: none, and forward does no extra work). Not saved in
    /// checkpoints.
    void set_block_hook(BlockHook hook) { block_hook_ = std::move(hook); }
    /// The block hook: a VGG's points are its blocks.
    void set_point_hook(PointHook hook) override { set_block_hook(std::move(hook)); }
    /// The conv layers' names.
    std::vector<std::string> point_names() const override;
    /// activation_qparams() without the input's.
    std::vector<QuantParams> point_qparams() const override;

    /// Turns the activation observers on or off (on: each forward updates min/max with
    /// factor `averaging`; the first observed batch sets them directly).
    void set_observing(bool on, double averaging = 0.01) override {
        observers_.set_observing(on, averaging);
    }
    bool observing() const override { return observers_.observing(); }
    size_t folded_convs() const override { return convs_.size(); }

    /// Current activation quantization: [0] the input, [i+1] the output of block i.
    /// @throws InputError when the observers have seen no batch yet.
    std::vector<QuantParams> activation_qparams() const { return observers_.qparams(); }

    const ModelOptions& options() const override { return options_; }
    const std::vector<VggLayerSpec>& layers() const { return layers_; }
    torch::nn::Conv2d& conv(size_t i) { return convs_.at(i); }
    torch::nn::Linear& classifier() { return classifier_; }

private:
    void build();

    ModelOptions options_;
    std::vector<VggLayerSpec> layers_;
    std::vector<torch::nn::Conv2d> convs_;
    torch::nn::Linear classifier_{nullptr};
    ActivationObservers observers_; ///< [L+1] slots: the input, then each block's output
    BlockHook block_hook_;
};
TORCH_MODULE(QatVgg);

} // namespace triseg::models
