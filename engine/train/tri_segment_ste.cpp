// TriSegmentSte implementation.
#include "engine/train/tri_segment_ste.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

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

/// sigmoid^-1(y) = log(y / (1 - y)), for 0 < y < 1.
double logit(double y) {
    return std::log(y / (1.0 - y));
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

SteStart fit_start_below(SteStart s, int32_t fixed_tmax, bool* adjusted) {
    const SteStart in = s;
    const double t = fixed_tmax;
    constexpr double kMargin = 0.25; // keeps sigmoid^-1 of the start finite
    s.tmax = t;
    s.t1 = std::clamp(s.t1, 1.0 + kMargin, t - 3.0 - kMargin);
    s.t2 = std::clamp(s.t2, s.t1 + 1.0 + kMargin, t - 1.0 - kMargin);
    if (!(s.v1 > s.t1 && s.v1 <= s.t2)) {
        s.v1 = 0.5 * (s.t1 + s.t2);
    }
    if (!(s.v2 > s.t2 && s.v2 <= s.tmax)) {
        s.v2 = 0.5 * (s.t2 + s.tmax);
    }
    if (adjusted) {
        *adjusted = s.t1 != in.t1 || s.t2 != in.t2 || s.tmax != in.tmax;
    }
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

namespace {

/// Elements per partial sum of the backward pass: the sums are formed chunk by chunk in a fixed
/// order, so gradients are identical for any thread count.
constexpr int64_t kChunk = 4096;

double sigmoid(double z) {
    return 1.0 / (1.0 + std::exp(-z));
}

/// The gates of one code and their derivatives (seed document 2.2.2).
struct Gates {
    double g1, g2, g3;                        // soft memberships
    double d1_t1, d2_t1, d2_t2, d3_t2, d3_tm; // d g / d threshold
    double d1_c, d2_c, d3_c;                  // d g / d c
};

Gates gates(double c, double t1, double t2, double tm, double beta) {
    const double s1 = sigmoid((t1 - c) / beta);
    const double a = sigmoid((c - t1) / beta);
    const double b = sigmoid((t2 - c) / beta);
    const double d = sigmoid((c - t2) / beta);
    const double e = sigmoid((tm - c) / beta);
    Gates g;
    g.g1 = s1;
    g.g2 = a * b;
    g.g3 = d * e;
    const double da = a * (1 - a) / beta; // d a / d c
    const double db = b * (1 - b) / beta; // d b / d t2 = -d b / d c
    const double dd = d * (1 - d) / beta; // d d / d c
    const double de = e * (1 - e) / beta; // d e / d tm = -d e / d c
    g.d1_t1 = s1 * (1 - s1) / beta;
    g.d2_t1 = -da * b;
    g.d2_t2 = a * db;
    g.d3_t2 = -dd * e;
    g.d3_tm = d * de;
    g.d1_c = -g.d1_t1;
    g.d2_c = da * b - a * db;
    g.d3_c = dd * e - d * de;
    return g;
}

/// Per code 0..255, everything the map's backward pass needs (the codes are integers, so the
/// gates depend on the code alone): d y / d (t1, t2, tmax, v1, v2, c) and d g_in / d (t1, t2,
/// tmax, c), plus g_in itself.
struct CodeTables {
    std::array<std::array<double, 256>, 6> dy;   ///< t1, t2, tmax, v1, v2, c
    std::array<std::array<double, 256>, 4> dgin; ///< t1, t2, tmax, c
    std::array<double, 256> gin;
};

CodeTables code_tables(const std::vector<double>& k, double beta, bool lsq) {
    CodeTables t{};
    for (int code = 0; code < 256; ++code) {
        const double c = code;
        const Gates g = gates(c, k[0], k[1], k[2], beta);
        // y_soft = (1 - g_in) c + g2 v1 + g3 v2; coverage = mean(g_in).
        t.dy[0][code] = -c * (g.d1_t1 + g.d2_t1) + k[3] * g.d2_t1;
        t.dy[1][code] = -c * (g.d2_t2 + g.d3_t2) + k[3] * g.d2_t2 + k[4] * g.d3_t2;
        t.dy[2][code] = (k[4] - c) * g.d3_tm;
        t.dgin[0][code] = g.d1_t1 + g.d2_t1;
        t.dgin[1][code] = g.d2_t2 + g.d3_t2;
        t.dgin[2][code] = g.d3_tm;
        t.gin[code] = g.g1 + g.g2 + g.g3;
        if (lsq) { // the hard map's derivatives; the activation passes straight, the gates
                   // pass nothing to it
            t.dy[3][code] = c > k[0] && c <= k[1] ? 1.0 : 0.0;
            t.dy[4][code] = c > k[1] && c <= k[2] ? 1.0 : 0.0;
            t.dy[5][code] = 1.0;
            t.dgin[3][code] = 0.0;
        } else {
            const double dgin_c = g.d1_c + g.d2_c + g.d3_c;
            t.dy[3][code] = g.g2;
            t.dy[4][code] = g.g3;
            t.dy[5][code] = (1 - t.gin[code]) - c * dgin_c + k[3] * g.d2_c + k[4] * g.d3_c;
            t.dgin[3][code] = dgin_c;
        }
    }
    return t;
}

int code_of(float v) {
    const int c = static_cast<int>(std::lround(v));
    return c < 0 ? 0 : c > 255 ? 255 : c;
}

/// Per chunk of kChunk elements: how many codes of each value, and the sum of the incoming
/// gradient over them; added up in chunk order (identical for any thread count).
struct CodeSums {
    std::array<double, 256> count{};
    std::array<double, 256> grad{};
};

CodeSums code_sums(const float* codes, const float* grad, int64_t n) {
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<CodeSums> part(static_cast<size_t>(chunks));
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t ch = begin; ch < end; ++ch) {
            auto& s = part[static_cast<size_t>(ch)];
            for (int64_t i = ch * kChunk; i < std::min(n, (ch + 1) * kChunk); ++i) {
                const int c = code_of(codes[i]);
                s.count[c] += 1.0;
                if (grad) {
                    s.grad[c] += grad[i];
                }
            }
        }
    });
    CodeSums total;
    for (const auto& s : part) {
        for (int c = 0; c < 256; ++c) {
            total.count[c] += s.count[c];
            total.grad[c] += s.grad[c];
        }
    }
    return total;
}

/// The tri-segment map as one autograd node over integer-valued codes: the hard table in the
/// forward pass, and in the backward pass per-code derivative tables (256 entries) applied to
/// per-code sums, instead of some thirty tensor operations on every block output.
class TriSegmentFunction : public torch::autograd::Function<TriSegmentFunction> {
public:
    /// Inputs: c (float codes, any shape), then the 0-dim float codes t1, t2, tmax, v1, v2.
    /// Outputs: y (the table of the codes applied to c) and mean(g_in).
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                  const torch::Tensor& c,
                                                  const torch::Tensor& t1,
                                                  const torch::Tensor& t2,
                                                  const torch::Tensor& tm,
                                                  const torch::Tensor& v1,
                                                  const torch::Tensor& v2,
                                                  double beta,
                                                  int64_t variant) {
        const auto x = c.contiguous().to(torch::kFloat32);
        const std::vector<double> k = {t1.item<double>(), t2.item<double>(), tm.item<double>(),
                                       v1.item<double>(), v2.item<double>()};
        const bool lsq = variant == static_cast<int64_t>(SteVariant::Lsq);
        const auto tables = code_tables(k, beta, lsq);
        std::array<float, 256> hard{};
        for (int code = 0; code < 256; ++code) {
            hard[code] = code <= k[0]   ? 0.0f
                         : code <= k[1] ? static_cast<float>(k[3])
                         : code <= k[2] ? static_cast<float>(k[4])
                                        : static_cast<float>(code);
        }
        auto y = torch::empty_like(x);
        const float* in = x.data_ptr<float>();
        float* out = y.data_ptr<float>();
        const int64_t n = x.numel();
        at::parallel_for(0, n, kChunk, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) {
                out[i] = hard[code_of(in[i])];
            }
        });
        const auto sums = code_sums(in, nullptr, n);
        double covered = 0.0;
        for (int code = 0; code < 256; ++code) {
            covered += sums.count[code] * tables.gin[code];
        }
        ctx->save_for_backward({x});
        ctx->saved_data["codes"] = k;
        ctx->saved_data["beta"] = beta;
        ctx->saved_data["lsq"] = lsq;
        ctx->saved_data["shape"] = c.sizes().vec();
        return {y.view(c.sizes()),
                torch::tensor(n ? covered / static_cast<double>(n) : 0.0, torch::kFloat32)};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const auto x = ctx->get_saved_variables()[0];
        const auto k = ctx->saved_data["codes"].toDoubleVector();
        const auto tables =
            code_tables(k, ctx->saved_data["beta"].toDouble(), ctx->saved_data["lsq"].toBool());
        const int64_t n = x.numel();
        const auto gy =
            grads[0].defined() ? grads[0].contiguous().to(torch::kFloat32) : torch::zeros_like(x);
        // d mean(g_in) = sum(d g_in) / n.
        const double gcov =
            (grads[1].defined() ? grads[1].item<double>() : 0.0) / std::max<int64_t>(n, 1);
        const float* in = x.data_ptr<float>();
        const float* up = gy.data_ptr<float>();
        const auto sums = code_sums(in, up, n);
        std::array<double, 5> g{}; // t1, t2, tmax, v1, v2
        for (int code = 0; code < 256; ++code) {
            for (size_t j = 0; j < 5; ++j) {
                g[j] += sums.grad[code] * tables.dy[j][code];
            }
            for (size_t j = 0; j < 3; ++j) {
                g[j] += gcov * sums.count[code] * tables.dgin[j][code];
            }
        }
        std::array<float, 256> dc_up{};
        std::array<float, 256> dc_cov{};
        for (int code = 0; code < 256; ++code) {
            dc_up[code] = static_cast<float>(tables.dy[5][code]);
            dc_cov[code] = static_cast<float>(gcov * tables.dgin[3][code]);
        }
        auto gc = torch::empty_like(x);
        float* down = gc.data_ptr<float>();
        at::parallel_for(0, n, kChunk, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) {
                const int c = code_of(in[i]);
                down[i] = up[i] * dc_up[c] + dc_cov[c];
            }
        });
        auto scalar = [](double v) { return torch::tensor(v, torch::kFloat32); };
        return {gc.view(ctx->saved_data["shape"].toIntVector()),
                scalar(g[0]),
                scalar(g[1]),
                scalar(g[2]),
                scalar(g[3]),
                scalar(g[4]),
                torch::Tensor(),
                torch::Tensor()};
    }
};

} // namespace

torch::Tensor tri_segment_map(const torch::Tensor& c,
                              const SteCodes& k,
                              double beta,
                              SteVariant variant,
                              torch::Tensor* soft_coverage) {
    auto out = TriSegmentFunction::apply(c, k.t1, k.t2, k.tmax, k.v1, k.v2, beta,
                                         static_cast<int64_t>(variant));
    if (soft_coverage) {
        *soft_coverage = out[1];
    }
    return out[0];
}

const std::array<const char*, 5>& TriSegmentSteImpl::param_names() {
    static const std::array<const char*, 5> names = {"t1_base_p", "dt12_p", "dt2m_p", "v1_code_p",
                                                     "v2_code_p"};
    return names;
}

TriSegmentSteImpl::TriSegmentSteImpl(std::vector<SteLayer> layers,
                                     const std::vector<SteStart>& start,
                                     SteVariant variant,
                                     int64_t lsq_levels,
                                     int64_t fixed_tmax)
    : layers_(std::move(layers)), variant_(variant), fixed_tmax_(fixed_tmax) {
    TRISEG_CHECK(!layers_.empty() && start.size() == layers_.size(), InputError,
                 "the STE module needs one start per layer: " << layers_.size() << " layers, "
                                                              << start.size() << " starts");
    TRISEG_CHECK(fixed_tmax == 0 || (fixed_tmax >= kMinFixedTmax && fixed_tmax <= 255), InputError,
                 "a fixed tmax must be a code in [" << kMinFixedTmax << ", 255], got "
                                                    << fixed_tmax);
    const auto n = static_cast<int64_t>(layers_.size());
    std::vector<float> a(n), b(n), c(n), v1(n), v2(n), scale(n);
    for (int64_t l = 0; l < n; ++l) {
        const auto& s = start[static_cast<size_t>(l)];
        TRISEG_CHECK(s.t1 > 1.0 && s.t2 > s.t1 + 1.0 && s.tmax > s.t2 + 1.0, InputError,
                     "the STE start of layer " << layers_[static_cast<size_t>(l)].name
                                               << " needs 1 < t1, t1 + 1 < t2, t2 + 1 < tmax");
        if (fixed_tmax_ > 0) {
            const double t = static_cast<double>(fixed_tmax_);
            TRISEG_CHECK(s.tmax == t && s.t1 > 1.0 && s.t1 < t - 2.0 && s.t2 > s.t1 + 1.0 &&
                             s.t2 < t - 1.0,
                         InputError,
                         "the STE start of layer " << layers_[static_cast<size_t>(l)].name
                                                   << " does not fit below the fixed tmax " << t);
            a[l] = static_cast<float>(logit((s.t1 - 1.0) / (t - 3.0)));
            b[l] = static_cast<float>(logit((s.t2 - s.t1 - 1.0) / (t - s.t1 - 2.0)));
            c[l] = 0.0F;
        } else {
            a[l] = static_cast<float>(inverse_softplus(s.t1 - 1.0));
            b[l] = static_cast<float>(inverse_softplus(s.t2 - s.t1 - 1.0));
            c[l] = static_cast<float>(inverse_softplus(s.tmax - s.t2 - 1.0));
        }
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
    SteCodes k;
    if (fixed_tmax_ > 0) {
        const auto t = static_cast<double>(fixed_tmax_);
        const auto t1 = 1 + (t - 3) * torch::sigmoid(p[0]);
        const auto t2 = t1 + 1 + (t - 2 - t1) * torch::sigmoid(p[1]);
        k.t1 = ste_round(t1);
        k.t2 = ste_round(t2);
        k.tmax = torch::full({}, t, p[0].options()); // no gradient: held fixed
    } else {
        const auto t1 = 1 + F::softplus(p[0]);
        const auto t2 = t1 + 1 + F::softplus(p[1]);
        const auto tm = t2 + 1 + F::softplus(p[2]);
        k.t1 = ste_round(t1).clamp_max(255);
        k.t2 = ste_round(t2).clamp_max(255);
        k.tmax = ste_round(tm).clamp_max(255);
    }
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
