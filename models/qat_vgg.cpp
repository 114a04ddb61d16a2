// QatVgg implementation: BN folding, observers, fake quantization.
#include "models/qat_vgg.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "common/error.h"

namespace triseg::models {

namespace F = torch::nn::functional;

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
    const auto slots = static_cast<int64_t>(layers_.size() + 1);
    observer_min_ = register_buffer("observer_min", torch::zeros({slots}));
    observer_max_ = register_buffer("observer_max", torch::zeros({slots}));
    observer_batches_ = register_buffer("observer_batches", torch::zeros({1}, torch::kInt64));
}

void QatVggImpl::set_observing(bool on, double averaging) {
    observing_ = on;
    averaging_ = averaging;
}

void QatVggImpl::observe(size_t slot, const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    const auto s = static_cast<int64_t>(slot);
    const float lo = x.min().item<float>();
    const float hi = x.max().item<float>();
    if (observer_batches_.item<int64_t>() == 0) {
        observer_min_[s].fill_(lo);
        observer_max_[s].fill_(hi);
        return;
    }
    const auto a = static_cast<float>(averaging_);
    const float old_lo = observer_min_[s].item<float>();
    const float old_hi = observer_max_[s].item<float>();
    observer_min_[s].fill_(old_lo + a * (lo - old_lo));
    observer_max_[s].fill_(old_hi + a * (hi - old_hi));
}

std::vector<QuantParams> QatVggImpl::activation_qparams() const {
    TRISEG_CHECK(observer_batches_.item<int64_t>() > 0, InputError,
                 "the QAT network's activation observers have seen no data; calibrate first");
    std::vector<QuantParams> out;
    const auto mins = observer_min_.to(torch::kCPU);
    const auto maxs = observer_max_.to(torch::kCPU);
    for (int64_t s = 0; s < mins.size(0); ++s) {
        out.push_back(affine_qparams(mins[s].item<float>(), maxs[s].item<float>()));
    }
    return out;
}

torch::Tensor QatVggImpl::fake_quant(const torch::Tensor& x, size_t slot) const {
    const auto s = static_cast<int64_t>(slot);
    const QuantParams q =
        affine_qparams(observer_min_[s].item<float>(), observer_max_[s].item<float>());
    return torch::fake_quantize_per_tensor_affine(x, q.scale, q.zero_point, kActivationQmin,
                                                  kActivationQmax);
}

namespace {
torch::Tensor fake_quant_weight(const torch::Tensor& w) {
    const auto scales = symmetric_weight_scales(w);
    const auto zero_points =
        torch::zeros({w.size(0)}, torch::TensorOptions(torch::kInt32).device(w.device()));
    return torch::fake_quantize_per_channel_affine(w, scales.to(w.device()), zero_points, 0,
                                                   -kWeightQmax, kWeightQmax);
}
} // namespace

torch::Tensor QatVggImpl::forward(torch::Tensor x) {
    const bool observe_now = observing_ && is_training();
    if (observe_now) {
        observe(0, x);
    }
    x = fake_quant(x, 0);
    for (size_t i = 0; i < convs_.size(); ++i) {
        auto& conv = convs_[i];
        x = F::conv2d(x, fake_quant_weight(conv->weight),
                      F::Conv2dFuncOptions().bias(conv->bias).padding(1))
                .relu();
        if (observe_now) {
            observe(i + 1, x);
        }
        x = fake_quant(x, i + 1);
        if (block_hook_) {
            x = block_hook_(static_cast<int64_t>(i), x);
        }
        if (layers_[i].pool_after) {
            x = F::max_pool2d(x, F::MaxPool2dFuncOptions(2).stride(2));
        }
    }
    if (observe_now) {
        observer_batches_ += 1;
    }
    return F::linear(x.flatten(1), fake_quant_weight(classifier_->weight), classifier_->bias);
}

} // namespace triseg::models
