// The original's KD loss and accuracy counts on logits held in plain arrays.
#pragma once

#include <cstdint>
#include <vector>

namespace triseg::engine {

/// Sums over a batch of teacher/student logits, kept as sums so shards can be combined in a
/// fixed order. All arithmetic is double precision in a fixed order (deterministic).
struct LogitStats {
    double kd_sum = 0.0; ///< sum over images of KL(teacher || student) at temperature T
    int64_t count = 0;   ///< images
    int64_t student_correct = 0;
    int64_t teacher_correct = 0;
    int64_t agree = 0; ///< student argmax == teacher argmax

    /// The original's loss: kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T^2,
    /// i.e. mean over images of sum_c p_t(c) * (log p_t(c) - log p_s(c)), times T^2.
    double kd_loss(double temperature) const;
    double student_accuracy() const; ///< percent
    double teacher_accuracy() const; ///< percent
    double agreement() const;        ///< percent

    /// Adds another shard's sums (in the caller's fixed order).
    void merge(const LogitStats& other);
};

/// Statistics of `n` images: logits are [n][classes]; labels may be empty (accuracy then 0).
/// Argmax ties go to the lowest class index.
LogitStats logit_stats(const float* teacher,
                       const float* student,
                       const int64_t* labels,
                       int64_t n,
                       int64_t classes,
                       double temperature);

} // namespace triseg::engine
