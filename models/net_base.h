// FloatNetImpl and QatNetImpl: what training, checkpoints, QAT and evaluation need of any
// network family (VGG chains, and the residual and depthwise graph networks).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "models/spec/int8_model.h"
#include "models/spec/model_options.h"

namespace triseg::models {

/// An approximation point of a float network, named as the integer model's point it becomes.
struct FloatPoint {
    std::string name;        ///< "conv1_1", "layer2.0.out", "features.3.dw"
    int64_t channels = 0;    ///< output channels
    int64_t side = 0;        ///< output height and width for an options().image_size input
    bool pool_after = false; ///< a 2x2 max-pool reads it (VGG)
};

/// A float network: images [N, C, H, W] -> logits [N, classes].
class FloatNetImpl : public torch::nn::Module {
public:
    virtual torch::Tensor forward(torch::Tensor x) = 0;
    virtual const ModelOptions& options() const = 0;
    /// The approximation points (every ReLU or ReLU6 output) in forward order: the integer
    /// model's points, in its order and with its names.
    virtual std::vector<FloatPoint> points() const = 0;
    /// forward() that also sets `outputs` to every point's output (after its ReLU or ReLU6),
    /// [N, channels, side, side] each, in points() order.
    virtual torch::Tensor forward_points(torch::Tensor x, std::vector<torch::Tensor>& outputs) = 0;
};
using FloatNet = std::shared_ptr<FloatNetImpl>;

/// A BN-folded, fake-quantized network with activation observers (train-qat, export-int8).
class QatNetImpl : public torch::nn::Module {
public:
    virtual torch::Tensor forward(torch::Tensor x) = 0;
    virtual const ModelOptions& options() const = 0;
    /// Turns the activation observers on or off (on: each training forward updates min/max
    /// with factor `averaging`; the first observed batch sets them directly).
    virtual void set_observing(bool on, double averaging = 0.01) = 0;
    virtual bool observing() const = 0;
    /// Convs with BatchNorm folded in.
    virtual size_t folded_convs() const = 0;

    /// Called with (point index, the point's output) in forward; returns the tensor to pass on.
    using PointHook = std::function<torch::Tensor(int64_t point, const torch::Tensor& output)>;
    /// Sets the point hook (null: none, and forward does no extra work). Forward calls
    /// `y = hook(k, y)` on every approximation point k (a ReLU or ReLU6 output) right after its
    /// fake quantization, points in forward order, and every later op reads the returned
    /// tensor. Not saved in checkpoints.
    virtual void set_point_hook(PointHook hook) = 0;
    /// The approximation points' names in forward order (the integer model's points, whose
    /// index the hook receives).
    virtual std::vector<std::string> point_names() const = 0;
    /// Quantization of each point's output, in point_names() order.
    /// @throws InputError when the observers have seen no batch yet.
    virtual std::vector<QuantParams> point_qparams() const = 0;
};
using QatNet = std::shared_ptr<QatNetImpl>;

} // namespace triseg::models
