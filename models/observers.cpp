// ActivationObservers implementation (the arithmetic QatVgg always used).
#include "models/observers.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "common/error.h"

namespace triseg::models {

namespace {
constexpr float kMinWeightScale = 1e-8f;
} // namespace

QuantParams affine_qparams(float lo, float hi) {
    lo = std::min(lo, 0.0f);
    hi = std::max(hi, 0.0f);
    QuantParams q;
    q.scale = std::max((hi - lo) / static_cast<float>(kActivationQmax - kActivationQmin),
                       std::numeric_limits<float>::epsilon());
    const auto zp = static_cast<int64_t>(kActivationQmin - std::nearbyint(lo / q.scale));
    q.zero_point = static_cast<int32_t>(std::clamp<int64_t>(zp, kActivationQmin, kActivationQmax));
    return q;
}

torch::Tensor symmetric_weight_scales(const torch::Tensor& weight) {
    return std::get<0>(weight.detach().abs().flatten(1).max(1))
        .div(static_cast<float>(kWeightQmax))
        .clamp_min(kMinWeightScale)
        .to(torch::kFloat32);
}

torch::Tensor fake_quant_weight(const torch::Tensor& w) {
    const auto scales = symmetric_weight_scales(w);
    const auto zero_points =
        torch::zeros({w.size(0)}, torch::TensorOptions(torch::kInt32).device(w.device()));
    return torch::fake_quantize_per_channel_affine(w, scales.to(w.device()), zero_points, 0,
                                                   -kWeightQmax, kWeightQmax);
}

void ActivationObservers::attach(torch::nn::Module& module, int64_t slots) {
    min_ = module.register_buffer("observer_min", torch::zeros({slots}));
    max_ = module.register_buffer("observer_max", torch::zeros({slots}));
    batches_ = module.register_buffer("observer_batches", torch::zeros({1}, torch::kInt64));
}

void ActivationObservers::observe(size_t slot, const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    const auto s = static_cast<int64_t>(slot);
    const float lo = x.min().item<float>();
    const float hi = x.max().item<float>();
    if (batches_.item<int64_t>() == 0) {
        min_[s].fill_(lo);
        max_[s].fill_(hi);
        return;
    }
    const auto a = static_cast<float>(averaging_);
    const float old_lo = min_[s].item<float>();
    const float old_hi = max_[s].item<float>();
    min_[s].fill_(old_lo + a * (lo - old_lo));
    max_[s].fill_(old_hi + a * (hi - old_hi));
}

void ActivationObservers::batch_done() {
    torch::NoGradGuard no_grad;
    batches_ += 1;
}

std::vector<QuantParams> ActivationObservers::qparams() const {
    TRISEG_CHECK(batches_.item<int64_t>() > 0, InputError,
                 "the QAT network's activation observers have seen no data; calibrate first");
    std::vector<QuantParams> out;
    const auto mins = min_.to(torch::kCPU);
    const auto maxs = max_.to(torch::kCPU);
    for (int64_t s = 0; s < mins.size(0); ++s) {
        out.push_back(affine_qparams(mins[s].item<float>(), maxs[s].item<float>()));
    }
    return out;
}

torch::Tensor ActivationObservers::fake_quant(const torch::Tensor& x, size_t slot) const {
    const auto s = static_cast<int64_t>(slot);
    const QuantParams q = affine_qparams(min_[s].item<float>(), max_[s].item<float>());
    return torch::fake_quantize_per_tensor_affine(x, q.scale, q.zero_point, kActivationQmin,
                                                  kActivationQmax);
}

} // namespace triseg::models
