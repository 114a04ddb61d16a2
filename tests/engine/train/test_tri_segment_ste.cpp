// The STE module against references: its forward pass is the lookup table of its rounded
// codes (both variants, every code), its backward pass the analytic gate derivatives, and its
// parametrization starts where it is told and stays a valid map.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <functional>

#include <torch/torch.h>

#include "engine/core/code_set.h"
#include "engine/train/ste_trainer.h"
#include "engine/train/tri_segment_ste.h"

namespace triseg::engine {
namespace {

/// float32 arithmetic against a double-precision formula: a few units in the last place of the
/// magnitudes involved (values up to ~100, derivatives up to ~1/beta).
constexpr double kFloatTolerance = 2e-5;

SteCodes leaf_codes(const LayerCodes& c) {
    auto leaf = [](int32_t v) {
        return torch::tensor(static_cast<float>(v)).set_requires_grad(true);
    };
    return {leaf(c.t1), leaf(c.t2), leaf(c.tmax), leaf(c.v1), leaf(c.v2)};
}

torch::Tensor all_codes() {
    return torch::arange(0, 256, torch::kFloat32);
}

/// The tri-segment table written out (make_table may check rules these codes break).
std::array<int, 256> table_of(const LayerCodes& k) {
    std::array<int, 256> t{};
    for (int c = 0; c < 256; ++c) {
        t[c] = c == 0 || c <= k.t1 ? 0 : c <= k.t2 ? k.v1 : c <= k.tmax ? k.v2 : c;
    }
    return t;
}

double sig(double z) {
    return 1.0 / (1.0 + std::exp(-z));
}

TEST(TriSegmentMap, ForwardIsTheTableOfTheCodesForBothVariants) {
    const std::vector<LayerCodes> cases = {{4, 13, 23, 31, 32},
                                           {2, 2, 5, 5, 12},
                                           {0, 0, 0, 0, 0},
                                           {1, 200, 2, 0, 255},
                                           {7, 3, 7, 9, 9}};
    for (const auto& codes : cases) {
        const auto table = table_of(codes);
        for (auto variant : {SteVariant::Original, SteVariant::Lsq}) {
            for (double beta : {0.2, 1.2}) {
                const auto y = tri_segment_map(all_codes(), leaf_codes(codes), beta, variant);
                for (int c = 0; c < 256; ++c) {
                    ASSERT_EQ(y[c].item<float>(), static_cast<float>(table[c]))
                        << to_string(codes) << " code " << c << " " << variant_name(variant);
                }
            }
        }
    }
}

/// d y_soft / d (t1, t2, tmax, v1, v2, c) at code c, in double precision.
std::array<double, 6> soft_gradient(double c, const LayerCodes& k, double beta) {
    const double s1 = sig((k.t1 - c) / beta);
    const double a = sig((c - k.t1) / beta);
    const double b = sig((k.t2 - c) / beta);
    const double d = sig((c - k.t2) / beta);
    const double e = sig((k.tmax - c) / beta);
    const double g1 = s1, g2 = a * b, g3 = d * e;
    const double dg1_t1 = s1 * (1 - s1) / beta;
    const double dg2_t1 = -a * (1 - a) / beta * b;
    const double dg2_t2 = a * b * (1 - b) / beta;
    const double dg3_t2 = -d * (1 - d) / beta * e;
    const double dg3_tm = d * e * (1 - e) / beta;
    const double dg1_c = -dg1_t1;
    const double dg2_c = a * (1 - a) / beta * b - a * b * (1 - b) / beta;
    const double dg3_c = d * (1 - d) / beta * e - d * e * (1 - e) / beta;
    return {-c * (dg1_t1 + dg2_t1) + k.v1 * dg2_t1,
            -c * (dg2_t2 + dg3_t2) + k.v1 * dg2_t2 + k.v2 * dg3_t2,
            -c * dg3_tm + k.v2 * dg3_tm,
            g2,
            g3,
            (1 - g1 - g2 - g3) - c * (dg1_c + dg2_c + dg3_c) + k.v1 * dg2_c + k.v2 * dg3_c};
}

/// The map written with plain tensor operations and autograd (what the fused node replaces).
torch::Tensor reference_map(const torch::Tensor& c,
                            const SteCodes& k,
                            double beta,
                            SteVariant variant,
                            torch::Tensor* soft_coverage) {
    const auto cd = c.detach();
    const auto hard = torch::where(
        cd <= k.t1.detach(), torch::zeros_like(cd),
        torch::where(cd <= k.t2.detach(), k.v1.detach().expand_as(cd),
                     torch::where(cd <= k.tmax.detach(), k.v2.detach().expand_as(cd), cd)));
    const bool lsq = variant == SteVariant::Lsq;
    const auto& x = lsq ? cd : c;
    const auto v1 = lsq ? k.v1.detach() : k.v1;
    const auto v2 = lsq ? k.v2.detach() : k.v2;
    const auto g1 = torch::sigmoid((k.t1 - x) / beta);
    const auto g2 = torch::sigmoid((x - k.t1) / beta) * torch::sigmoid((k.t2 - x) / beta);
    const auto g3 = torch::sigmoid((x - k.t2) / beta) * torch::sigmoid((k.tmax - x) / beta);
    const auto g_in = g1 + g2 + g3;
    const auto soft = (1 - g_in) * x + g2 * v1 + g3 * v2;
    *soft_coverage = g_in.mean();
    auto y = hard + (soft - soft.detach());
    if (lsq) {
        const auto in1 = ((cd > k.t1.detach()) & (cd <= k.t2.detach())).to(torch::kFloat32);
        const auto in2 = ((cd > k.t2.detach()) & (cd <= k.tmax.detach())).to(torch::kFloat32);
        y = y + (c - cd) + in1 * (k.v1 - k.v1.detach()) + in2 * (k.v2 - k.v2.detach());
    }
    return y;
}

TEST(TriSegmentMap, FusedNodeEqualsTheTensorOperationsOnABatch) {
    torch::manual_seed(5);
    const auto codes = torch::randint(0, 60, {3, 4, 50, 50}).to(torch::kFloat32);
    const auto weight = torch::randn({3, 4, 50, 50});
    const LayerCodes k{6, 9, 17, 30, 40};
    for (auto variant : {SteVariant::Original, SteVariant::Lsq}) {
        std::vector<std::vector<double>> got;
        for (bool fused : {true, false}) {
            const auto kc = leaf_codes(k);
            auto c = codes.clone().set_requires_grad(true);
            torch::Tensor cov;
            const auto y = fused ? tri_segment_map(c, kc, 0.7, variant, &cov)
                                 : reference_map(c, kc, 0.7, variant, &cov);
            ((y * weight).sum() / 1000 - 0.05 * cov).backward();
            std::vector<double> g = {cov.item<double>()};
            for (const auto& t : {kc.t1, kc.t2, kc.tmax, kc.v1, kc.v2}) {
                g.push_back(t.grad().item<double>());
            }
            g.push_back((c.grad() * weight).sum().item<double>());
            got.push_back(g);
        }
        for (size_t j = 0; j < got[0].size(); ++j) {
            // float32 sums over 30,000 elements in the reference: relative 1e-4.
            EXPECT_NEAR(got[0][j], got[1][j], 1e-4 * std::abs(got[1][j]) + 1e-6)
                << variant_name(variant) << " output " << j;
        }
    }
}

TEST(TriSegmentMap, BackwardIsTheAnalyticGateDerivative) {
    const LayerCodes k{4, 13, 23, 31, 32};
    for (auto variant : {SteVariant::Original, SteVariant::Lsq}) {
        for (double beta : {0.5, 1.2}) {
            for (int code : {0, 3, 4, 5, 13, 22, 23, 24, 31, 32, 33, 60}) {
                const auto codes = leaf_codes(k);
                auto c = torch::tensor(static_cast<float>(code)).set_requires_grad(true);
                tri_segment_map(c, codes, beta, variant).backward();
                const auto want = soft_gradient(code, k, beta);
                const std::string at = std::string(variant_name(variant)) + " beta " +
                                       std::to_string(beta) + " code " + std::to_string(code);
                // Thresholds: the soft gates in both variants.
                EXPECT_NEAR(codes.t1.grad().item<double>(), want[0], kFloatTolerance) << at;
                EXPECT_NEAR(codes.t2.grad().item<double>(), want[1], kFloatTolerance) << at;
                EXPECT_NEAR(codes.tmax.grad().item<double>(), want[2], kFloatTolerance) << at;
                if (variant == SteVariant::Original) {
                    EXPECT_NEAR(codes.v1.grad().item<double>(), want[3], kFloatTolerance) << at;
                    EXPECT_NEAR(codes.v2.grad().item<double>(), want[4], kFloatTolerance) << at;
                    EXPECT_NEAR(c.grad().item<double>(), want[5], kFloatTolerance) << at;
                } else { // the hard map's own derivatives; the activation passes straight
                    EXPECT_EQ(codes.v1.grad().item<double>(), code > 4 && code <= 23) << at;
                    EXPECT_EQ(codes.v2.grad().item<double>(), code > 23 && code <= 32) << at;
                    EXPECT_EQ(c.grad().item<double>(), 1.0) << at;
                }
            }
        }
    }
}

TEST(TriSegmentMap, SoftCoverageIsTheMeanGateSum) {
    const LayerCodes k{4, 13, 23, 31, 32};
    torch::Tensor cov;
    tri_segment_map(all_codes(), leaf_codes(k), 1.0, SteVariant::Original, &cov);
    double want = 0.0;
    for (int c = 0; c < 256; ++c) {
        want += sig((k.t1 - c) / 1.0) + sig((c - k.t1) / 1.0) * sig((k.t2 - c) / 1.0) +
                sig((c - k.t2) / 1.0) * sig((k.tmax - c) / 1.0);
    }
    EXPECT_NEAR(cov.item<double>(), want / 256, kFloatTolerance);
}

std::vector<SteLayer> two_layers() {
    return {{"a", 0.05f, 0, 100}, {"b", 0.1f, 0, 400}};
}

TEST(TriSegmentSte, StartsAtTheGivenCodesAndThePercentileRule) {
    const LayerCodes a{4, 13, 23, 31, 32};
    const LayerCodes b{2, 2, 5, 5, 12}; // the seed document's supervised result
    TriSegmentSte ste(two_layers(), std::vector<SteStart>{codes_start(a), codes_start(b)},
                      SteVariant::Original, 255);
    EXPECT_EQ(ste->codes().layers, (std::vector<LayerCodes>{a, b}));

    const auto p = percentile_start(12); // the document: t1 ~ 0.35*12, t2 ~ 0.7*12
    TriSegmentSte q(two_layers(), std::vector<SteStart>{p, percentile_start(2)},
                    SteVariant::Original, 255);
    EXPECT_EQ(q->codes().layers[0], (LayerCodes{4, 6, 8, 10, 12}));
    const auto small = q->codes().layers[1]; // tmax below 4 is raised to 4
    EXPECT_EQ(small.tmax, 4);
    EXPECT_LT(small.t1, small.t2);

    bool adjusted = false;
    codes_start({0, 0, 0, 0, 5}, &adjusted); // t1 = 0 and t1 = t2 cannot be expressed
    EXPECT_TRUE(adjusted);
    codes_start(a, &adjusted);
    EXPECT_FALSE(adjusted);
}

TEST(TriSegmentSte, CodesStayAValidMapAtTheExtremes) {
    TriSegmentSte ste(
        two_layers(),
        std::vector<SteStart>{codes_start({2, 1, 4, 6, 8}), codes_start({4, 13, 23, 31, 32})},
        SteVariant::Original, 255);
    torch::NoGradGuard no_grad;
    for (auto& p : ste->parameters()) {
        p.fill_(1e4); // far beyond 255
    }
    for (const auto& c : ste->codes().layers) {
        EXPECT_EQ(c.tmax, 255);
        EXPECT_LE(c.t1, c.t2);
        EXPECT_LE(c.t2, c.tmax);
        EXPECT_EQ(c.v1, 255);
    }
    for (auto& p : ste->parameters()) {
        p.fill_(-1e4);
    }
    for (const auto& c : ste->codes().layers) {
        EXPECT_EQ(c.t1, 1);
        EXPECT_EQ(c.t2, 2);
        EXPECT_EQ(c.tmax, 3);
        EXPECT_EQ(c.v1, 0);
    }
}

// ste.tmax: tmax stays the fixed code whatever the parameters and however they are trained,
// and t1 < t2 < tmax holds at the extremes; the start is the percentile rule's codes at T.
TEST(TriSegmentSte, AFixedTmaxHoldsForEveryParameterValueAndGradientStep) {
    constexpr int32_t kT = 24;
    const auto start = fit_start_below(percentile_start(kT), kT);
    bool adjusted = true;
    fit_start_below(start, kT, &adjusted);
    EXPECT_FALSE(adjusted);
    for (auto variant : {SteVariant::Original, SteVariant::Lsq}) {
        TriSegmentSte ste(two_layers(), std::vector<SteStart>{start, start}, variant, 255, kT);
        EXPECT_EQ(ste->codes().layers[0], (LayerCodes{8, 13, 17, 20, kT})) // 0.35 T, 0.7 T
            << variant_name(variant);
        torch::optim::Adam adam(ste->parameters(), torch::optim::AdamOptions(0.5));
        const auto x = torch::arange(0, 60, torch::kFloat32).reshape({1, 3, 4, 5}) * 0.1f;
        for (int step = 0; step < 40; ++step) { // pull everything up: t1, t2 towards tmax
            adam.zero_grad();
            ste->set_beta(0.7);
            ste->begin_batch();
            const auto y = ste->apply(0, x) + ste->apply(1, x);
            (-(y * y).sum() - 100 * ste->soft_coverage()).backward();
            adam.step();
            for (const auto& c : ste->codes().layers) {
                ASSERT_EQ(c.tmax, kT) << "step " << step;
                ASSERT_LT(c.t1, c.t2);
                ASSERT_LT(c.t2, c.tmax);
            }
        }
        torch::NoGradGuard no_grad;
        for (double v : {1e4, -1e4}) {
            for (auto& p : ste->parameters()) {
                p.fill_(v);
            }
            for (const auto& c : ste->codes().layers) {
                EXPECT_EQ(c.tmax, kT);
                EXPECT_GE(c.t1, 1);
                EXPECT_LT(c.t1, c.t2);
                EXPECT_LT(c.t2, kT);
            }
        }
    }
    // Codes of an --init file that do not fit below T are moved there.
    const auto moved = fit_start_below(codes_start({4, 13, 30, 31, 40}), kT, &adjusted);
    EXPECT_TRUE(adjusted);
    EXPECT_EQ(moved.tmax, kT);
    EXPECT_LT(moved.t2, kT - 1.0);
    EXPECT_THROW(TriSegmentSte(two_layers(), std::vector<SteStart>{start, start},
                               SteVariant::Original, 255, 30),
                 InputError); // a start made for another T
}

/// apply() maps fake-quantized values through the table, and lsq scales every parameter's
/// gradient by 1/sqrt(N*Q) relative to the same backward pass without the scale.
TEST(TriSegmentSte, ApplyMapsValuesAndLsqScalesTheGradients) {
    const std::vector<SteStart> start = {codes_start({4, 13, 23, 31, 32}),
                                         codes_start({3, 5, 9, 11, 16})};
    const auto x = torch::arange(0, 40, torch::kFloat32).reshape({1, 2, 4, 5}) * 0.1f;
    std::vector<std::vector<torch::Tensor>> grads;
    for (int64_t q : {255, 1}) {
        TriSegmentSte ste(two_layers(), start, SteVariant::Lsq, q);
        ste->set_beta(0.7);
        ste->begin_batch();
        const auto y = ste->apply(1, x);
        const auto table = table_of(ste->codes().layers[1]);
        for (int64_t i = 0; i < x.numel(); ++i) {
            const int code = static_cast<int>(std::lround(x.flatten()[i].item<float>() / 0.1f));
            EXPECT_FLOAT_EQ(y.flatten()[i].item<float>(), 0.1f * table[code]);
        }
        (y * y).sum().backward();
        std::vector<torch::Tensor> g;
        for (const auto& p : ste->parameters()) {
            g.push_back(p.grad().clone());
        }
        grads.push_back(g);
        EXPECT_NEAR(ste->covered(), 17.0 / 40.0, 1e-12); // codes 0..16 of 0..39 are <= tmax 16
    }
    const double scale = 1.0 / std::sqrt(400.0 * 255.0) / (1.0 / std::sqrt(400.0));
    for (size_t j = 0; j < grads[0].size(); ++j) {
        EXPECT_EQ(grads[0][j][0].item<float>(), 0.0f); // layer a was not applied
        EXPECT_NEAR(grads[0][j][1].item<double>(), scale * grads[1][j][1].item<double>(),
                    1e-5 * std::abs(grads[1][j][1].item<double>()) + 1e-12)
            << TriSegmentSteImpl::param_names()[j];
    }
}

TEST(SteTrainer, PercentileAndCodesMoved) {
    EXPECT_EQ(percentile({5, 1, 4, 2, 3}, 50), 3);
    EXPECT_EQ(percentile({5, 1, 4, 2, 3}, 1), 1);
    EXPECT_EQ(percentile({5, 1, 4, 2, 3}, 99), 5);
    EXPECT_EQ(percentile({}, 50), 0);
    CodeSet a{{{4, 13, 23, 31, 32}, {2, 2, 5, 5, 12}}};
    CodeSet b = a;
    EXPECT_EQ(codes_moved(a, b), 0);
    b.layers[1].tmax = 13;
    b.layers[0].t1 = 5;
    EXPECT_EQ(codes_moved(a, b), 2);
}

TEST(SteOptions, BetaScheduleAndRanges) {
    SteOptions o;
    EXPECT_DOUBLE_EQ(o.beta(1), 1.2);
    EXPECT_DOUBLE_EQ(o.beta(2), 1.2 * 0.85);
    EXPECT_DOUBLE_EQ(o.beta(100), 0.2);
    o.validate();
    const std::vector<std::function<void(SteOptions&)>> bad_values = {
        [](SteOptions& s) { s.alpha = -0.1; }, [](SteOptions& s) { s.alpha = 2; },
        [](SteOptions& s) { s.beta0 = 0; },    [](SteOptions& s) { s.epochs = 0; },
        [](SteOptions& s) { s.lr = 0; },       [](SteOptions& s) { s.lr = 5; },
        [](SteOptions& s) { s.tmax = 7; },     [](SteOptions& s) { s.tmax = 256; }};
    for (const auto& bad : bad_values) {
        SteOptions s;
        bad(s);
        EXPECT_THROW(s.validate(), ConfigError);
    }
}

} // namespace
} // namespace triseg::engine
