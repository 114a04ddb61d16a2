// AdamOptimizer: torch.optim.Adam's default update on a flat vector of doubles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace triseg::search {

/// Adam (Kingma & Ba 2015) exactly as torch.optim.Adam computes it with its defaults (no
/// weight decay, no amsgrad), element by element in double precision:
///
///     t += 1
///     m = beta1 m + (1 - beta1) g
///     v = beta2 v + (1 - beta2) g g
///     denom = sqrt(v) / sqrt(1 - beta2^t) + eps        (eps added to sqrt(v_hat))
///     p = p + (-lr / (1 - beta1^t)) m / denom
///
/// Invariant: first_moment() and second_moment() have the size given at construction.
class AdamOptimizer {
public:
    /// `size` parameters, all moments zero, no step taken.
    AdamOptimizer(
        std::size_t size, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);

    /// One update of `params` with gradient `grad` (both of the size given at construction).
    /// @throws std::invalid_argument on a size mismatch.
    void step(std::vector<double>& params, const std::vector<double>& grad);

    /// Steps taken so far (torch's state "step").
    int64_t steps() const { return steps_; }
    const std::vector<double>& first_moment() const { return m_; }
    const std::vector<double>& second_moment() const { return v_; }

    /// Restores a state written from steps(), first_moment() and second_moment().
    /// @throws std::invalid_argument when the sizes differ or steps < 0.
    void restore(int64_t steps, std::vector<double> m, std::vector<double> v);

private:
    double lr_;
    double beta1_;
    double beta2_;
    double eps_;
    int64_t steps_ = 0;
    std::vector<double> m_;
    std::vector<double> v_;
};

} // namespace triseg::search
