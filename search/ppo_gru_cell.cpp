// PpoGruCell: GRU forward and backward, each a fixed sequence of double operations (this file
// is compiled with -ffp-contract=off, as ppo_network.cpp; see there for why).
#include "search/ppo_gru_cell.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace triseg::search {

namespace {

/// sum_k w[k] x[k] + b in ascending k.
double dot(const double* w, const double* x, int64_t n, double b) {
    double a = 0.0;
    for (int64_t k = 0; k < n; ++k) {
        a += w[k] * x[k];
    }
    return a + b;
}

double sigmoid(double a) {
    return 1.0 / (1.0 + std::exp(-a));
}

} // namespace

PpoGruCell::PpoGruCell(int64_t size, int64_t offset) : size_(size), offset_(offset) {
    TRISEG_CHECK(size >= 1 && offset >= 0, ConfigError, "a GRU cell needs size >= 1, got " << size);
}

void PpoGruCell::initialize(Rng& rng, double* params) const {
    const double bound = 1.0 / std::sqrt(static_cast<double>(size_));
    for (int64_t i = 0; i < parameter_count(); ++i) {
        params[offset_ + i] = (2.0 * rng.uniform01() - 1.0) * bound;
    }
}

void PpoGruCell::forward(const double* params,
                         const double* x,
                         const double* h_prev,
                         Pass& pass) const {
    const auto n = static_cast<size_t>(size_);
    pass.h_prev.assign(h_prev, h_prev + size_);
    pass.hn.resize(n);
    pass.r.resize(n);
    pass.z.resize(n);
    pass.n.resize(n);
    pass.h.resize(n);
    const double* wi = params + w_ih();
    const double* wh = params + w_hh();
    const double* bi = params + b_ih();
    const double* bh = params + b_hh();
    const int64_t d = size_;
    for (int64_t j = 0; j < d; ++j) {
        const auto u = static_cast<size_t>(j);
        const int64_t jr = j;
        const int64_t jz = d + j;
        const int64_t jn = 2 * d + j;
        pass.r[u] = sigmoid(dot(wi + jr * d, x, d, bi[jr]) + dot(wh + jr * d, h_prev, d, bh[jr]));
        pass.z[u] = sigmoid(dot(wi + jz * d, x, d, bi[jz]) + dot(wh + jz * d, h_prev, d, bh[jz]));
        pass.hn[u] = dot(wh + jn * d, h_prev, d, bh[jn]);
        pass.n[u] = std::tanh(dot(wi + jn * d, x, d, bi[jn]) + pass.r[u] * pass.hn[u]);
        pass.h[u] = (1.0 - pass.z[u]) * pass.n[u] + pass.z[u] * h_prev[j];
    }
}

void PpoGruCell::backward(const double* params,
                          const double* x,
                          const Pass& pass,
                          const double* g_h,
                          double* grad,
                          double* g_x,
                          double* g_h_prev) const {
    const int64_t d = size_;
    // d loss / d of the gates' pre-activations: gi for the input rows (r, z, n), gh for the
    // hidden rows (r, z, and r * d/dn for n).
    std::vector<double> gi(static_cast<size_t>(3 * d));
    std::vector<double> gh(static_cast<size_t>(3 * d));
    for (int64_t j = 0; j < d; ++j) {
        const auto u = static_cast<size_t>(j);
        const double r = pass.r[u];
        const double z = pass.z[u];
        const double n = pass.n[u];
        const double gn = g_h[j] * (1.0 - z);                // h' = (1 - z) n + z h
        const double gz = g_h[j] * (pass.h_prev[u] - n);     // d h'/d z = h - n
        g_h_prev[j] += g_h[j] * z;                           // the direct path
        const double an = gn * (1.0 - n * n);                // tanh' = 1 - tanh^2
        const double ar = an * pass.hn[u] * (r * (1.0 - r)); // sigmoid' = s (1 - s)
        const double az = gz * (z * (1.0 - z));
        gi[u] = ar;
        gi[static_cast<size_t>(d + j)] = az;
        gi[static_cast<size_t>(2 * d + j)] = an;
        gh[u] = ar;
        gh[static_cast<size_t>(d + j)] = az;
        gh[static_cast<size_t>(2 * d + j)] = an * r;
    }
    // Each Linear: d/dW += g in^T, d/db += g, d/d in += W^T g; rows in ascending order.
    auto dense = [&](int64_t w, int64_t b, const std::vector<double>& g, const double* in,
                     double* g_in) {
        for (int64_t o = 0; o < 3 * d; ++o) {
            const double go = g[static_cast<size_t>(o)];
            grad[b + o] += go;
            const double* wr = params + w + o * d;
            double* gw = grad + w + o * d;
            for (int64_t k = 0; k < d; ++k) {
                gw[k] += go * in[k];
                g_in[k] += wr[k] * go;
            }
        }
    };
    dense(w_ih(), b_ih(), gi, x, g_x);
    dense(w_hh(), b_hh(), gh, pass.h_prev.data(), g_h_prev);
}

void PpoGruCell::forward_sequence(const double* params,
                                  const std::vector<std::vector<double>>& xs,
                                  const std::vector<bool>& starts,
                                  std::vector<Pass>& steps) const {
    steps.resize(xs.size());
    const std::vector<double> zeros(static_cast<size_t>(size_), 0.0);
    for (size_t i = 0; i < xs.size(); ++i) {
        const double* h = i == 0 || starts[i] ? zeros.data() : steps[i - 1].h.data();
        forward(params, xs[i].data(), h, steps[i]);
    }
}

void PpoGruCell::backward_sequence(const double* params,
                                   const std::vector<std::vector<double>>& xs,
                                   const std::vector<bool>& starts,
                                   const std::vector<Pass>& steps,
                                   const std::vector<std::vector<double>>& g_h,
                                   double* grad,
                                   std::vector<std::vector<double>>& g_x) const {
    const auto d = static_cast<size_t>(size_);
    g_x.assign(xs.size(), std::vector<double>(d, 0.0));
    std::vector<double> carry(d, 0.0); // d loss / d h_i through the later steps of its sequence
    std::vector<double> g(d);
    std::vector<double> g_prev(d);
    for (size_t i = xs.size(); i-- > 0;) {
        for (size_t k = 0; k < d; ++k) {
            g[k] = g_h[i][k] + carry[k];
        }
        std::fill(g_prev.begin(), g_prev.end(), 0.0);
        backward(params, xs[i].data(), steps[i], g.data(), grad, g_x[i].data(), g_prev.data());
        if (i == 0 || starts[i]) { // h = 0 is no parameter: the sequence's gradient ends here
            std::fill(carry.begin(), carry.end(), 0.0);
        } else {
            carry = g_prev;
        }
    }
}

} // namespace triseg::search
