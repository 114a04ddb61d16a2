// KD loss and accuracy counts: against LibTorch's kl_div(batchmean) * T^2 on random logits of
// awkward sizes, identical logits, argmax ties, labels, and merging shards.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "common/rng.h"
#include "engine/int8/kd_loss.h"

namespace triseg::engine {
namespace {

/// Relative difference allowed between logit_stats (double) and LibTorch in double
/// precision: both are exact up to a few roundings of different summation orders.
constexpr double kKdTolerance = 1e-10;
/// Relative difference allowed against the original's float32 LibTorch computation.
constexpr double kKdFloat32Tolerance = 1e-4;
/// Absolute floor for the float32 comparison (float32 cancellation in small KL values).
constexpr double kKdFloat32Floor = 1e-6;
/// Relative difference allowed between merged shards and the whole (summation order).
constexpr double kMergeTolerance = 1e-13;

std::vector<float> random_logits(int64_t n, int64_t classes, double spread, Rng& rng) {
    std::vector<float> v(static_cast<size_t>(n * classes));
    for (auto& x : v) {
        x = static_cast<float>((rng.uniform01() - 0.5) * 2.0 * spread);
    }
    return v;
}

std::vector<int64_t> random_labels(int64_t n, int64_t classes, Rng& rng) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (auto& x : v) {
        x = static_cast<int64_t>(rng.uniform_below(static_cast<uint64_t>(classes)));
    }
    return v;
}

/// The original's loss in LibTorch: kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T^2.
double torch_kd(const std::vector<float>& teacher,
                const std::vector<float>& student,
                int64_t n,
                int64_t classes,
                double temperature,
                torch::Dtype dtype) {
    namespace F = torch::nn::functional;
    const auto t =
        torch::from_blob(const_cast<float*>(teacher.data()), {n, classes}, torch::kFloat32)
            .to(dtype);
    const auto s =
        torch::from_blob(const_cast<float*>(student.data()), {n, classes}, torch::kFloat32)
            .to(dtype);
    const auto loss = F::kl_div(F::log_softmax(s / temperature, F::LogSoftmaxFuncOptions(1)),
                                F::softmax(t / temperature, F::SoftmaxFuncOptions(1)),
                                F::KLDivFuncOptions().reduction(torch::kBatchMean)) *
                      (temperature * temperature);
    return loss.to(torch::kFloat64).item<double>();
}

/// argmax with ties to the lowest index, written independently of kd_loss.cpp.
int64_t first_argmax(const float* v, int64_t classes) {
    int64_t best = 0;
    for (int64_t c = 0; c < classes; ++c) {
        if (v[c] > v[best]) {
            best = c;
        }
    }
    return best;
}

TEST(KdLoss, MatchesLibTorchKlDivBatchMean) {
    Rng rng(5);
    int cases = 0;
    for (int64_t n : {1, 7, 33}) {
        for (int64_t classes : {10, 3}) {
            for (double temperature : {1.0, 2.0, 4.0}) {
                SCOPED_TRACE("n " + std::to_string(n) + " classes " + std::to_string(classes) +
                             " T " + std::to_string(temperature));
                const auto t = random_logits(n, classes, 6.0, rng);
                const auto s = random_logits(n, classes, 6.0, rng);
                const auto labels = random_labels(n, classes, rng);
                const LogitStats st =
                    logit_stats(t.data(), s.data(), labels.data(), n, classes, temperature);
                EXPECT_EQ(st.count, n);
                const double ours = st.kd_loss(temperature);
                const double ref64 = torch_kd(t, s, n, classes, temperature, torch::kFloat64);
                ASSERT_GT(ref64, 0.0);
                EXPECT_LE(std::abs(ours - ref64), kKdTolerance * ref64) << ours << " vs " << ref64;
                const double ref32 = torch_kd(t, s, n, classes, temperature, torch::kFloat32);
                EXPECT_LE(std::abs(ours - ref32), kKdFloat32Tolerance * ref64 + kKdFloat32Floor)
                    << ours << " vs " << ref32;
                ++cases;
            }
        }
    }
    EXPECT_EQ(cases, 18);
}

TEST(KdLoss, NearlyEqualAndExtremeLogitsMatchLibTorch) {
    Rng rng(6);
    constexpr int64_t kN = 9;
    constexpr int64_t kClasses = 10;
    auto t = random_logits(kN, kClasses, 3.0, rng);
    auto s = t;
    for (auto& x : s) {
        x += static_cast<float>((rng.uniform01() - 0.5) * 0.02); // tiny KL
    }
    // Very confident rows: softmax underflows in float32 for some classes.
    for (int64_t c = 0; c < kClasses; ++c) {
        t[c] = c == 3 ? 80.0f : -80.0f;
        s[c] = c == 5 ? 90.0f : -70.0f;
    }
    for (double temperature : {1.0, 4.0}) {
        const double ours = logit_stats(t.data(), s.data(), nullptr, kN, kClasses, temperature)
                                .kd_loss(temperature);
        const double ref64 = torch_kd(t, s, kN, kClasses, temperature, torch::kFloat64);
        EXPECT_LE(std::abs(ours - ref64), kKdTolerance * ref64) << ours << " vs " << ref64;
    }
}

TEST(KdLoss, IdenticalLogitsGiveZero) {
    Rng rng(7);
    for (int64_t classes : {3, 10}) {
        const auto t = random_logits(33, classes, 10.0, rng);
        for (double temperature : {1.0, 2.0, 4.0}) {
            const LogitStats st =
                logit_stats(t.data(), t.data(), nullptr, 33, classes, temperature);
            EXPECT_EQ(st.kd_sum, 0.0);
            EXPECT_EQ(st.kd_loss(temperature), 0.0);
            EXPECT_EQ(st.agree, 33);
            EXPECT_EQ(st.agreement(), 100.0);
        }
    }
}

TEST(KdLoss, KlIsNotSymmetricAndUsesTheTeacherAsTarget) {
    // Hand case, T = 1, two classes: p_t = softmax(0, 0) = (1/2, 1/2),
    // p_s = softmax(0, ln 3) = (1/4, 3/4). KL(p_t || p_s) = 1/2 ln 2 + 1/2 ln(2/3).
    constexpr double kHandTolerance = 1e-7; // float32 logits: ln 3 is rounded
    const std::vector<float> t = {0.0f, 0.0f};
    const std::vector<float> s = {0.0f, static_cast<float>(std::log(3.0))};
    const double expected = 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0);
    const double reverse = 0.25 * std::log(0.5) + 0.75 * std::log(1.5);
    EXPECT_NEAR(logit_stats(t.data(), s.data(), nullptr, 1, 2, 1.0).kd_loss(1.0), expected,
                kHandTolerance);
    EXPECT_NEAR(logit_stats(s.data(), t.data(), nullptr, 1, 2, 1.0).kd_loss(1.0), reverse,
                kHandTolerance);
    // T = 2 scales logits by 1/2 and the loss by 4.
    const std::vector<float> s2 = {0.0f, static_cast<float>(2.0 * std::log(3.0))};
    EXPECT_NEAR(logit_stats(t.data(), s2.data(), nullptr, 1, 2, 2.0).kd_loss(2.0), 4.0 * expected,
                4.0 * kHandTolerance);
}

TEST(KdLoss, AccuracyAndAgreementOnAHandCaseWithTies) {
    constexpr int64_t kClasses = 3;
    // Rows: teacher, student, label; argmax ties go to the lowest index.
    const std::vector<float> teacher = {
        1,  3,  3,  // argmax 1 (tie 1/2)
        5,  5,  5,  // argmax 0 (three-way tie)
        0,  0,  9,  // argmax 2
        -1, -2, -1, // argmax 0 (tie 0/2)
        2,  7,  1,  // argmax 1
    };
    const std::vector<float> student = {
        2,  2,  0,  // argmax 0 (tie 0/1)
        4,  6,  6,  // argmax 1 (tie 1/2)
        1,  1,  1,  // argmax 0
        -3, -1, -1, // argmax 1 (tie 1/2)
        0,  8,  8,  // argmax 1 (tie 1/2)
    };
    const std::vector<int64_t> labels = {1, 1, 2, 0, 2};
    const LogitStats st =
        logit_stats(teacher.data(), student.data(), labels.data(), 5, kClasses, 2.0);
    EXPECT_EQ(st.count, 5);
    EXPECT_EQ(st.teacher_correct, 3); // rows 0, 2, 3
    EXPECT_EQ(st.student_correct, 1); // row 1
    EXPECT_EQ(st.agree, 1);           // row 4
    EXPECT_DOUBLE_EQ(st.teacher_accuracy(), 60.0);
    EXPECT_DOUBLE_EQ(st.student_accuracy(), 20.0);
    EXPECT_DOUBLE_EQ(st.agreement(), 20.0);
    // Cross-check the hand counts with an independent argmax.
    int64_t agree = 0;
    for (int64_t i = 0; i < 5; ++i) {
        agree += first_argmax(&teacher[i * kClasses], kClasses) ==
                 first_argmax(&student[i * kClasses], kClasses);
    }
    EXPECT_EQ(agree, st.agree);
}

TEST(KdLoss, NoLabelsMeansZeroAccuracy) {
    const std::vector<float> t = {1, 2, 3, 3, 2, 1};
    const LogitStats st = logit_stats(t.data(), t.data(), nullptr, 2, 3, 1.0);
    EXPECT_EQ(st.teacher_correct, 0);
    EXPECT_EQ(st.student_correct, 0);
    EXPECT_EQ(st.teacher_accuracy(), 0.0);
    EXPECT_EQ(st.agree, 2);
}

TEST(KdLoss, EmptyStatsAreZero) {
    const LogitStats st = logit_stats(nullptr, nullptr, nullptr, 0, 10, 2.0);
    EXPECT_EQ(st.count, 0);
    EXPECT_EQ(st.kd_loss(2.0), 0.0);
    EXPECT_EQ(st.teacher_accuracy(), 0.0);
    EXPECT_EQ(st.student_accuracy(), 0.0);
    EXPECT_EQ(st.agreement(), 0.0);
}

TEST(KdLoss, MergedShardsEqualTheWhole) {
    Rng rng(8);
    constexpr int64_t kN = 33;
    constexpr int64_t kClasses = 10;
    constexpr double kT = 4.0;
    const auto t = random_logits(kN, kClasses, 5.0, rng);
    auto s = t;
    for (size_t i = 0; i < s.size(); i += 3) {
        s[i] += static_cast<float>(rng.uniform01() * 4.0); // some argmaxes change
    }
    const auto labels = random_labels(kN, kClasses, rng);
    const LogitStats whole = logit_stats(t.data(), s.data(), labels.data(), kN, kClasses, kT);
    EXPECT_GT(whole.agree, 0);
    EXPECT_LT(whole.agree, kN);
    for (int64_t cut : {int64_t{0}, int64_t{1}, int64_t{13}, kN}) {
        LogitStats a = logit_stats(t.data(), s.data(), labels.data(), cut, kClasses, kT);
        const LogitStats b = logit_stats(t.data() + cut * kClasses, s.data() + cut * kClasses,
                                         labels.data() + cut, kN - cut, kClasses, kT);
        a.merge(b);
        SCOPED_TRACE("cut " + std::to_string(cut));
        EXPECT_EQ(a.count, whole.count);
        EXPECT_EQ(a.teacher_correct, whole.teacher_correct);
        EXPECT_EQ(a.student_correct, whole.student_correct);
        EXPECT_EQ(a.agree, whole.agree);
        EXPECT_LE(std::abs(a.kd_sum - whole.kd_sum), kMergeTolerance * whole.kd_sum);
        EXPECT_LE(std::abs(a.kd_loss(kT) - whole.kd_loss(kT)), kMergeTolerance * whole.kd_loss(kT));
    }
}

TEST(KdLoss, IsDeterministic) {
    Rng rng(9);
    const auto t = random_logits(33, 10, 5.0, rng);
    const auto s = random_logits(33, 10, 5.0, rng);
    const LogitStats a = logit_stats(t.data(), s.data(), nullptr, 33, 10, 2.0);
    const LogitStats b = logit_stats(t.data(), s.data(), nullptr, 33, 10, 2.0);
    EXPECT_EQ(a.kd_sum, b.kd_sum); // bit for bit
}

} // namespace
} // namespace triseg::engine
