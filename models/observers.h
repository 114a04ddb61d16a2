// ActivationObservers: the moving-average min/max observers and fake quantization that every
// QAT network shares (QatVgg, QatGraph).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>

#include "models/spec/int8_model.h"

namespace triseg::models {

/// Quantization constants shared by QAT, export and the integer kernels.
inline constexpr int64_t kActivationQmin = 0;
inline constexpr int64_t kActivationQmax = 255;
inline constexpr int64_t kWeightQmax = 127; ///< symmetric int8 weights in [-127, 127]

/// Affine uint8 parameters covering [min(lo,0), max(hi,0)], computed in float32 as PyTorch's
/// MinMax observers do: scale = (hi - lo) / 255 (at least float epsilon),
/// zero_point = clamp(-nearbyint(lo / scale), 0, 255).
QuantParams affine_qparams(float lo, float hi);

/// Per-output-channel symmetric weight scales max|w[oc]| / 127 (at least 1e-8), float32,
/// for a weight tensor whose first dimension is the output channel.
torch::Tensor symmetric_weight_scales(const torch::Tensor& weight);

/// `weight` fake-quantized per output channel, symmetric int8 (symmetric_weight_scales).
torch::Tensor fake_quant_weight(const torch::Tensor& weight);

/// One observer slot per activation tensor, in the module's buffers `observer_min`,
/// `observer_max` (float, [slots]) and `observer_batches` (int64, [1]), so checkpoints carry
/// them. The first observed batch sets min and max; later ones move them by `averaging`.
class ActivationObservers {
public:
    /// Registers the three buffers on `module`.
    void attach(torch::nn::Module& module, int64_t slots);

    void set_observing(bool on, double averaging) {
        observing_ = on;
        averaging_ = averaging;
    }
    bool observing() const { return observing_; }

    /// Updates slot `slot` with x's min and max (no gradients).
    void observe(size_t slot, const torch::Tensor& x);
    /// Counts one observed batch (after its last observe()).
    void batch_done();
    /// The quantization of every slot. @throws InputError before any observed batch.
    std::vector<QuantParams> qparams() const;
    /// `x` fake-quantized with slot `slot`'s current quantization.
    torch::Tensor fake_quant(const torch::Tensor& x, size_t slot) const;

private:
    torch::Tensor min_;
    torch::Tensor max_;
    torch::Tensor batches_;
    bool observing_ = false;
    double averaging_ = 0.01;
};

} // namespace triseg::models
