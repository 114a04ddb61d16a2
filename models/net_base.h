// FloatNetImpl and QatNetImpl: what training, checkpoints, QAT and evaluation need of any
// network family (VGG chains, and the residual and depthwise graph networks).
#pragma once

#include <memory>
#include <vector>

#include <torch/nn/module.h>

#include "models/spec/int8_model.h"
#include "models/spec/model_options.h"

namespace triseg::models {

/// A float network: images [N, C, H, W] -> logits [N, classes].
class FloatNetImpl : public torch::nn::Module {
public:
    virtual torch::Tensor forward(torch::Tensor x) = 0;
    virtual const ModelOptions& options() const = 0;
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
};
using QatNet = std::shared_ptr<QatNetImpl>;

} // namespace triseg::models
