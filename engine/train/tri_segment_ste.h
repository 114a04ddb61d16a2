// TriSegmentSte: the differentiable tri-segment map of the STE baseline (train-ste).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "engine/core/code_set.h"
#include "engine/train/ste_options.h"

namespace triseg::engine {

/// Where one layer's trainable codes start, as real numbers in code units. They must satisfy
/// 1 < t1, t1 + 1 < t2, t2 + 1 < tmax (what the softplus parametrization can express).
struct SteStart {
    double t1 = 0.0;
    double t2 = 0.0;
    double tmax = 0.0;
    double v1 = 0.0;
    double v2 = 0.0;
};

/// The original's start for a layer whose codes have the percentile `tmax_code`:
/// tmax = max(tmax_code, 4), t1 = 0.35 tmax, t2 = 0.7 tmax, v1 and v2 the midpoints of
/// (t1, t2] and (t2, tmax] (then moved apart where a gap is below the parametrization's minimum).
SteStart percentile_start(int32_t tmax_code);

/// A start for a fixed tmax T (`ste.tmax`): tmax = T, and t1, t2 moved (when needed) to the
/// nearest values with 1 < t1, t1 + 1 < t2, t2 + 1 < T by a margin; v1 and v2 kept when they
/// still lie in their segments, else their midpoints. `adjusted` (if not null) says whether
/// t1, t2 or tmax changed.
SteStart fit_start_below(SteStart s, int32_t fixed_tmax, bool* adjusted = nullptr);

/// A start at given integer codes. Codes the parametrization cannot express (t1 < 1, or a
/// gap t2 - t1 or tmax - t2 below 1) are moved to the nearest it can; `adjusted` says so.
SteStart codes_start(const LayerCodes& codes, bool* adjusted = nullptr);

/// One approximated block output: its uint8 quantization and its size per image.
struct SteLayer {
    std::string name;
    float scale = 1.0f;
    int32_t zero_point = 0;
    int64_t activations = 0; ///< C*H*W of the block output (N of the lsq gradient scale)
};

/// Rounded codes of one layer as tensors (0-dim float), with straight-through gradients to
/// the parameters; t1 <= t2 <= tmax <= 255 and v1, v2 in [0, 255].
struct SteCodes {
    torch::Tensor t1, t2, tmax, v1, v2;
};

/// The tri-segment map on a tensor of codes `c` (any shape, integer-valued floats), hard in
/// the forward pass (exactly the table of the rounded codes) with the variant's backward pass
/// (docs/search.md):
///   original: the gradient of y_soft = (1 - g_in) c + g2 v1 + g3 v2, where
///             g1 = s((t1 - c)/beta), g2 = s((c - t1)/beta) s((t2 - c)/beta),
///             g3 = s((c - t2)/beta) s((tmax - c)/beta), g_in = g1 + g2 + g3, s = sigmoid,
///             to c, the thresholds and the values;
///   lsq:      to the thresholds as original (c and the values held fixed); to v1 and v2 the
///             hard map's own derivative 1[t1 < c <= t2] and 1[t2 < c <= tmax]; to c, 1.
/// `soft_coverage` (if not null) gets mean(g_in), differentiable in the thresholds.
torch::Tensor tri_segment_map(const torch::Tensor& c,
                              const SteCodes& codes,
                              double beta,
                              SteVariant variant,
                              torch::Tensor* soft_coverage = nullptr);

/// The trainable parameters of every layer, in the original's parametrization:
///
///     t1   = 1 + softplus(t1_base_p)        v1 = v1_code_p
///     t2   = t1 + 1 + softplus(dt12_p)      v2 = v2_code_p
///     tmax = t2 + 1 + softplus(dt2m_p)
///
/// each rounded to an integer code by STE (clamped to 255; values to [0, 255]). In the lsq
/// variant every parameter's gradient is scaled by 1/sqrt(N * lsq_levels) first.
/// apply(layer, x) maps a block's fake-quantized output x = scale * (code - zero_point):
/// code -> table code -> scale * (table code - zero_point).
class TriSegmentSteImpl : public torch::nn::Module {
public:
    /// Parameter names in the order of params() and grad_norms() columns.
    static const std::array<const char*, 5>& param_names();

    /// `fixed_tmax` 0: the parametrization above. Else every layer's tmax is that code and
    ///     t1 = 1 + (T - 3) sigmoid(t1_base_p),  t2 = t1 + 1 + (T - t1 - 2) sigmoid(dt12_p)
    /// (T = fixed_tmax; dt2m_p is unused), so that 1 < t1, t1 + 1 < t2, t2 + 1 < T for every
    /// parameter value; each start's t1 and t2 must already lie inside (fit_start_below).
    TriSegmentSteImpl(std::vector<SteLayer> layers,
                      const std::vector<SteStart>& start,
                      SteVariant variant,
                      int64_t lsq_levels,
                      int64_t fixed_tmax = 0);

    /// Sets the soft-gate temperature. Call begin_batch() before each forward of the network.
    void set_beta(double beta) { beta_ = beta; }
    double beta() const { return beta_; }
    void begin_batch();

    /// The block hook: the mapped block output of layer `layer`.
    torch::Tensor apply(int64_t layer, const torch::Tensor& x);

    /// Mean over the layers applied since begin_batch() of mean(g_in): the loss's coverage.
    torch::Tensor soft_coverage() const;
    /// Share of all codes mapped since begin_batch() that are <= their layer's tmax.
    double covered() const;

    /// The rounded codes of every layer now.
    CodeSet codes() const;
    /// [layer][param] current values and |gradient| (0 where no gradient is set).
    std::vector<std::array<double, 5>> params() const;
    std::vector<std::array<double, 5>> grad_norms() const;

    const std::vector<SteLayer>& layers() const { return layers_; }
    SteVariant variant() const { return variant_; }
    int64_t fixed_tmax() const { return fixed_tmax_; }

private:
    SteCodes layer_codes(int64_t layer) const;
    std::vector<torch::Tensor> raw() const;

    std::vector<SteLayer> layers_;
    SteVariant variant_;
    int64_t fixed_tmax_ = 0;
    torch::Tensor lsq_scale_;                                           ///< [L] 1/sqrt(N*Q)
    torch::Tensor t1_base_p_, dt12_p_, dt2m_p_, v1_code_p_, v2_code_p_; ///< [L] each
    double beta_ = 1.0;
    std::vector<torch::Tensor> coverages_;
    int64_t covered_ = 0;
    int64_t mapped_ = 0;
};
TORCH_MODULE(TriSegmentSte);

} // namespace triseg::engine
