// AdamOptimizer: torch/csrc/api/src/optim/adam.cpp's arithmetic, written out per element.
#include "search/adam_optimizer.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace triseg::search {

AdamOptimizer::AdamOptimizer(std::size_t size, double lr, double beta1, double beta2, double eps)
    : lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps), m_(size, 0.0), v_(size, 0.0) {}

void AdamOptimizer::step(std::vector<double>& params, const std::vector<double>& grad) {
    if (params.size() != m_.size() || grad.size() != m_.size()) {
        throw std::invalid_argument("AdamOptimizer::step: " + std::to_string(params.size()) +
                                    " parameters and " + std::to_string(grad.size()) +
                                    " gradients for an optimizer of " + std::to_string(m_.size()));
    }
    ++steps_;
    const auto t = static_cast<double>(steps_);
    const double bias_correction1 = 1.0 - std::pow(beta1_, t);
    const double bias_correction2 = 1.0 - std::pow(beta2_, t);
    const double root2 = std::sqrt(bias_correction2);
    const double step_size = lr_ / bias_correction1;
    double* p = params.data();
    const double* g = grad.data();
    double* m = m_.data();
    double* v = v_.data();
    const double beta1 = beta1_;
    const double beta2 = beta2_;
    const double eps = eps_;
    const std::size_t n = params.size();
    for (std::size_t i = 0; i < n; ++i) {
        m[i] = m[i] * beta1 + (1.0 - beta1) * g[i];        // exp_avg.mul_(b1).add_(g, 1 - b1)
        v[i] = v[i] * beta2 + (1.0 - beta2) * g[i] * g[i]; // .mul_(b2).addcmul_(g, g, 1 - b2)
        const double denom = std::sqrt(v[i]) / root2 + eps;
        p[i] = p[i] + (-step_size) * m[i] / denom;
    }
}

void AdamOptimizer::restore(int64_t steps, std::vector<double> m, std::vector<double> v) {
    if (steps < 0 || m.size() != m_.size() || v.size() != v_.size()) {
        throw std::invalid_argument("AdamOptimizer::restore: step " + std::to_string(steps) +
                                    " and moments of " + std::to_string(m.size()) + " and " +
                                    std::to_string(v.size()) + " values for an optimizer of " +
                                    std::to_string(m_.size()));
    }
    steps_ = steps;
    m_ = std::move(m);
    v_ = std::move(v);
}

} // namespace triseg::search
