// GraphNet and QatGraph: the residual and depthwise networks (ResNet, MobileNetV2) built from
// their layout (models/spec/graph_layout.h), float and BN-folded fake-quant.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "models/net_base.h"
#include "models/observers.h"
#include "models/spec/graph_layout.h"

namespace triseg::models {

/// The float network of a graph layout: each conv op is conv (no bias) -> BatchNorm2d ->
/// its activation (ReLU, ReLU6 = clamp to [0, 6], or none); an add sums its two inputs and
/// applies its activation; "gap" averages over H and W; "fc" is a Linear. Parameters are
/// registered as "<op name with '.' as '_'>.weight" for convs, "<...>_bn.*" for their
/// BatchNorms, "fc.*". Deterministic initialization (He normal, fan out, for convs; N(0, 0.01)
/// for fc): call torch::manual_seed before constructing.
class GraphNetImpl : public FloatNetImpl {
public:
    explicit GraphNetImpl(const ModelOptions& options);
    torch::Tensor forward(torch::Tensor x) override;
    /// The outputs of the layout's point ops (is_point), in layout order.
    std::vector<FloatPoint> points() const override;
    torch::Tensor forward_points(torch::Tensor x, std::vector<torch::Tensor>& outputs) override;
    const ModelOptions& options() const override { return options_; }
    const std::vector<LayoutOp>& layout() const { return layout_; }
    torch::nn::Conv2d& conv(const std::string& op) { return convs_.at(op); }
    torch::nn::BatchNorm2d& bn(const std::string& op) { return bns_.at(op); }
    torch::nn::Linear& fc() { return fc_; }

private:
    ModelOptions options_;
    std::vector<LayoutOp> layout_;
    std::map<std::string, torch::nn::Conv2d> convs_;
    std::map<std::string, torch::nn::BatchNorm2d> bns_;
    torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(GraphNet);

/// The BN-folded fake-quant network of a graph layout, computed as the integer graph does:
///
///     x = fq(x, q["input"])
///     conv: y = fq(act(conv(x, fq_w(W), b)), q[op])      (b, W with BN folded in)
///     add:  y = fq(act(a + b), q[op])                     (a, b already fake-quantized)
///     gap:  y = fq(mean over H, W, q["gap"])
///     fc:   logits = linear(y, fq_w(W_fc), b_fc)
///
/// with moving-average min/max observers per tensor (buffers `observer_min`, `observer_max`,
/// `observer_batches`, one slot per tensor in tensor_names() order). The approximation points
/// are the outputs of the ops with a ReLU or ReLU6 (conv or add), in layout order; an optional
/// point hook sees (and may replace) each of them: `y = hook(k, y)` right after fq(..., q[op]),
/// so every op that reads the point, skip connections included, reads what the hook returned.
class QatGraphImpl : public QatNetImpl {
public:
    /// Folds the BatchNorms of `float_model` (running statistics) into a new QAT network.
    explicit QatGraphImpl(GraphNetImpl& float_model);
    /// Architecture only, for loading a QAT checkpoint.
    explicit QatGraphImpl(const ModelOptions& options);

    torch::Tensor forward(torch::Tensor x) override;
    /// forward() that also returns every fake-quantized tensor by name (tensor_names(); a
    /// point's as the point hook returned it).
    torch::Tensor forward_tensors(torch::Tensor x, std::map<std::string, torch::Tensor>& tensors);
    const ModelOptions& options() const override { return options_; }
    void set_observing(bool on, double averaging = 0.01) override {
        observers_.set_observing(on, averaging);
    }
    bool observing() const override { return observers_.observing(); }
    size_t folded_convs() const override { return convs_.size(); }
    void set_point_hook(PointHook hook) override { point_hook_ = std::move(hook); }
    std::vector<std::string> point_names() const override;
    std::vector<QuantParams> point_qparams() const override;

    const std::vector<LayoutOp>& layout() const { return layout_; }
    /// "input", then every op's output but fc's, in forward order (the observer slots).
    const std::vector<std::string>& tensor_names() const { return tensor_names_; }
    /// Quantization of each tensor of tensor_names().
    /// @throws InputError when the observers have seen no batch yet.
    std::vector<QuantParams> activation_qparams() const { return observers_.qparams(); }
    torch::nn::Conv2d& conv(const std::string& op) { return convs_.at(op); }
    torch::nn::Linear& fc() { return fc_; }

private:
    void build();

    ModelOptions options_;
    std::vector<LayoutOp> layout_;
    std::vector<std::string> tensor_names_;
    std::map<std::string, size_t> slot_of_;
    std::vector<int64_t> point_of_op_; ///< per layout op: its point index, or -1
    PointHook point_hook_;
    std::map<std::string, torch::nn::Conv2d> convs_;
    torch::nn::Linear fc_{nullptr};
    ActivationObservers observers_; ///< one slot per tensor_names() entry
};
TORCH_MODULE(QatGraph);

/// The module name of op `name` ('.' replaced by '_': LibTorch forbids dots there).
std::string module_name(const std::string& name);

} // namespace triseg::models
