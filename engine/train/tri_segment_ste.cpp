// TriSegmentSte implementation.
#include "engine/train/tri_segment_ste.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "common/error.h"

namespace triseg::engine {

namespace {

/// The smallest softplus output a start may ask for (softplus(x) > 0 for every finite x).
constexpr double kMinGap = 0.05;

/// softplus^-1(y) = y + log(1 - exp(-y)), for y > 0.
double inverse_softplus(double y) {
    return y + std::log(-std::expm1(-y));
}

/// x rounded in the forward pass, identity in the backward pass.
torch::Tensor ste_round(const torch::Tensor& x) {
    return x + (x.round() - x).detach();
}

/// The value of p, with its gradient multiplied by `scale` (LSQ's grad_scale).
torch::Tensor grad_scale(const torch::Tensor& p, const torch::Tensor& scale) {
    const auto scaled = p * scale;
    return scaled + (p - scaled).detach();
}

/// Makes a start expressible: 1 < t1, t1 + 1 < t2, t2 + 1 < tmax (by at least kMinGap).
SteStart fit(SteStart s, bool* adjusted) {
    const SteStart in = s;
    s.t1 = std::max(s.t1, 1.0 + kMinGap);
    s.t2 = std::max(s.t2, s.t1 + 1.0 + kMinGap);
    s.tmax = std::max(s.tmax, s.t2 + 1.0 + kMinGap);
    if (adjusted) {
        *adjusted = s.t1 != in.t1 || s.t2 != in.t2 || s.tmax != in.tmax;
    }
    return s;
}

} // namespace

SteStart percentile_start(int32_t tmax_code) {
    SteStart s;
    s.tmax = std::max(tmax_code, 4);
    s.t1 = 0.35 * s.tmax;
    s.t2 = 0.7 * s.tmax;
    s = fit(s, nullptr);
    s.v1 = 0.5 * (s.t1 + s.t2);
    s.v2 = 0.5 * (s.t2 + s.tmax);
    return s;
}

SteStart codes_start(const LayerCodes& codes, bool* adjusted) {
    SteStart s;
    s.t1 = codes.t1;
    s.t2 = codes.t2;
    s.tmax = codes.tmax;
    s.v1 = codes.v1;
    s.v2 = codes.v2;
    return fit(s, adjusted);
}

torch::Tensor tri_segment_map(const torch::Tensor& c,
                              const SteCodes& k,
                              double beta,
                              SteVariant variant,
                              torch::Tensor* soft_coverage) {
    const auto cd = c.detach();
    const auto t1 = k.t1.detach();
    const auto t2 = k.t2.detach();
    const auto tm = k.tmax.detach();
    const auto v1 = k.v1.detach();
    const auto v2 = k.v2.detach();
    // The hard map: exactly the table of the rounded codes.
    const auto hard = torch::where(
        cd <= t1, torch::zeros_like(cd),
        torch::where(cd <= t2, v1.expand_as(cd), torch::where(cd <= tm, v2.expand_as(cd), cd)));

    const bool lsq = variant == SteVariant::Lsq;
    const auto& x = lsq ? cd : c; // lsq: the gates pass no gradient to the activations
    const auto& sv1 = lsq ? v1 : k.v1;
    const auto& sv2 = lsq ? v2 : k.v2;
    const auto g1 = torch::sigmoid((k.t1 - x) / beta);
    const auto g2 = torch::sigmoid((x - k.t1) / beta) * torch::sigmoid((k.t2 - x) / beta);
    const auto g3 = torch::sigmoid((x - k.t2) / beta) * torch::sigmoid((k.tmax - x) / beta);
    const auto g_in = g1 + g2 + g3;
    const auto soft = (1 - g_in) * x + g2 * sv1 + g3 * sv2;
    if (soft_coverage) {
        *soft_coverage = g_in.mean();
    }
    // Forward value: hard + exact zeros. Backward: the soft map's gradient (+ lsq's terms).
    auto y = hard + (soft - soft.detach());
    if (lsq) {
        const auto in1 = ((cd > t1) & (cd <= t2)).to(c.scalar_type());
        const auto in2 = ((cd > t2) & (cd <= tm)).to(c.scalar_type());
        y = y + (c - cd) + in1 * (k.v1 - v1) + in2 * (k.v2 - v2);
    }
    return y;
}

const std::array<const char*, 5>& TriSegmentSteImpl::param_names() {
    static const std::array<const char*, 5> names = {"t1_base_p", "dt12_p", "dt2m_p", "v1_code_p",
                                                     "v2_code_p"};
    return names;
}

TriSegmentSteImpl::TriSegmentSteImpl(std::vector<SteLayer> layers,
                                     const std::vector<SteStart>& start,
                                     SteVariant variant,
                                     int64_t lsq_levels)
    : layers_(std::move(layers)), variant_(variant) {
    TRISEG_CHECK(!layers_.empty() && start.size() == layers_.size(), InputError,
                 "the STE module needs one start per layer: " << layers_.size() << " layers, "
                                                              << start.size() << " starts");
    const auto n = static_cast<int64_t>(layers_.size());
    std::vector<float> a(n), b(n), c(n), v1(n), v2(n), scale(n);
    for (int64_t l = 0; l < n; ++l) {
        const auto& s = start[static_cast<size_t>(l)];
        TRISEG_CHECK(s.t1 > 1.0 && s.t2 > s.t1 + 1.0 && s.tmax > s.t2 + 1.0, InputError,
                     "the STE start of layer " << layers_[static_cast<size_t>(l)].name
                                               << " needs 1 < t1, t1 + 1 < t2, t2 + 1 < tmax");
        a[l] = static_cast<float>(inverse_softplus(s.t1 - 1.0));
        b[l] = static_cast<float>(inverse_softplus(s.t2 - s.t1 - 1.0));
        c[l] = static_cast<float>(inverse_softplus(s.tmax - s.t2 - 1.0));
        v1[l] = static_cast<float>(s.v1);
        v2[l] = static_cast<float>(s.v2);
        const double nq =
            static_cast<double>(layers_[static_cast<size_t>(l)].activations) * lsq_levels;
        scale[l] = static_cast<float>(1.0 / std::sqrt(std::max(nq, 1.0)));
    }
    auto vec = [](const std::vector<float>& v) { return torch::tensor(v, torch::kFloat32); };
    t1_base_p_ = register_parameter("t1_base_p", vec(a));
    dt12_p_ = register_parameter("dt12_p", vec(b));
    dt2m_p_ = register_parameter("dt2m_p", vec(c));
    v1_code_p_ = register_parameter("v1_code_p", vec(v1));
    v2_code_p_ = register_parameter("v2_code_p", vec(v2));
    lsq_scale_ = register_buffer("lsq_scale", vec(scale));
}

std::vector<torch::Tensor> TriSegmentSteImpl::raw() const {
    return {t1_base_p_, dt12_p_, dt2m_p_, v1_code_p_, v2_code_p_};
}

SteCodes TriSegmentSteImpl::layer_codes(int64_t layer) const {
    auto p = raw();
    for (auto& t : p) {
        t = t.select(0, layer);
        if (variant_ == SteVariant::Lsq) {
            t = grad_scale(t, lsq_scale_.select(0, layer));
        }
    }
    namespace F = torch::nn::functional;
    const auto t1 = 1 + F::softplus(p[0]);
    const auto t2 = t1 + 1 + F::softplus(p[1]);
    const auto tm = t2 + 1 + F::softplus(p[2]);
    SteCodes k;
    k.t1 = ste_round(t1).clamp_max(255);
    k.t2 = ste_round(t2).clamp_max(255);
    k.tmax = ste_round(tm).clamp_max(255);
    k.v1 = ste_round(p[3].clamp(0, 255));
    k.v2 = ste_round(p[4].clamp(0, 255));
    return k;
}

void TriSegmentSteImpl::begin_batch() {
    coverages_.clear();
    covered_ = 0;
    mapped_ = 0;
}

torch::Tensor TriSegmentSteImpl::apply(int64_t layer, const torch::Tensor& x) {
    const auto& spec = layers_.at(static_cast<size_t>(layer));
    const float zp = static_cast<float>(spec.zero_point);
    const auto codes = x / spec.scale + zp;
    const auto c = codes.detach().round() + (codes - codes.detach()); // exact integer values
    const auto k = layer_codes(layer);
    torch::Tensor coverage;
    const auto y = tri_segment_map(c, k, beta_, variant_, &coverage);
    coverages_.push_back(coverage);
    covered_ += (c.detach() <= k.tmax.detach()).sum().item<int64_t>();
    mapped_ += c.numel();
    return (y - zp) * spec.scale;
}

torch::Tensor TriSegmentSteImpl::soft_coverage() const {
    TRISEG_CHECK(!coverages_.empty(), InputError,
                 "soft_coverage() before any layer was mapped in this batch");
    return torch::stack(coverages_).mean();
}

double TriSegmentSteImpl::covered() const {
    return mapped_ ? static_cast<double>(covered_) / static_cast<double>(mapped_) : 0.0;
}

CodeSet TriSegmentSteImpl::codes() const {
    torch::NoGradGuard no_grad;
    CodeSet out;
    for (int64_t l = 0; l < static_cast<int64_t>(layers_.size()); ++l) {
        const auto k = layer_codes(l);
        auto code = [](const torch::Tensor& t) { return static_cast<int32_t>(t.item<float>()); };
        LayerCodes lc;
        lc.t1 = code(k.t1);
        lc.v1 = code(k.v1);
        lc.t2 = code(k.t2);
        lc.v2 = code(k.v2);
        lc.tmax = code(k.tmax);
        out.layers.push_back(lc);
    }
    return out;
}

std::vector<std::array<double, 5>> TriSegmentSteImpl::params() const {
    const auto p = raw();
    std::vector<std::array<double, 5>> out(layers_.size());
    for (size_t j = 0; j < p.size(); ++j) {
        const auto v = p[j].detach().contiguous();
        for (size_t l = 0; l < out.size(); ++l) {
            out[l][j] = v[static_cast<int64_t>(l)].item<double>();
        }
    }
    return out;
}

std::vector<std::array<double, 5>> TriSegmentSteImpl::grad_norms() const {
    const auto p = raw();
    std::vector<std::array<double, 5>> out(layers_.size(), std::array<double, 5>{});
    for (size_t j = 0; j < p.size(); ++j) {
        const auto& g = p[j].grad();
        if (!g.defined()) {
            continue;
        }
        const auto a = g.detach().abs().to(torch::kFloat64).contiguous();
        for (size_t l = 0; l < out.size(); ++l) {
            out[l][j] = a[static_cast<int64_t>(l)].item<double>();
        }
    }
    return out;
}

} // namespace triseg::engine
