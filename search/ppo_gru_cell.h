// PpoGruCell: the GRU cell of PPO's recurrent policy (ppo.policy: gru), forward and explicit
// backward in plain double precision, on parameters held by PpoNetwork.
#pragma once

#include <cstdint>
#include <vector>

#include "common/rng.h"

namespace triseg::search {

/// A GRU cell of `size` inputs and `size` hidden units, PyTorch's torch.nn.GRUCell (Cho et al.
/// 2014) with the gates in PyTorch's order r, z, n:
///
///     r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
///     z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
///     n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
///     h' = (1 - z) * n + z * h
///
/// Its parameters are four tensors, at `offset` in the owner's flat vector in this order:
/// weight_ih [3 size][size], weight_hh [3 size][size], bias_ih [3 size], bias_hh [3 size]
/// (rows r, z, n), as torch.nn.GRUCell names and lays them out.
///
/// Invariant: every result is a fixed sequence of IEEE double operations (each dot product in
/// ascending index; compiled with -ffp-contract=off), plus libm's exp and tanh.
class PpoGruCell {
public:
    /// What one step keeps for the backward pass.
    struct Pass {
        std::vector<double> h_prev; ///< h_{t-1}
        std::vector<double> hn;     ///< W_hn h + b_hn (size values)
        std::vector<double> r;
        std::vector<double> z;
        std::vector<double> n;
        std::vector<double> h; ///< h_t
    };

    PpoGruCell() = default;
    PpoGruCell(int64_t size, int64_t offset);

    int64_t size() const { return size_; }
    int64_t parameter_count() const { return 6 * size_ * size_ + 6 * size_; }

    /// Offsets of the four tensors in the owner's parameters.
    int64_t w_ih() const { return offset_; }
    int64_t w_hh() const { return offset_ + 3 * size_ * size_; }
    int64_t b_ih() const { return offset_ + 6 * size_ * size_; }
    int64_t b_hh() const { return offset_ + 6 * size_ * size_ + 3 * size_; }

    /// PyTorch's init: every parameter uniform in +-1/sqrt(size), drawn from `rng` in the order
    /// of tensors().
    void initialize(Rng& rng, double* params) const;

    /// One step: pass.h = h' of input x (size values) after h_prev (size values).
    void forward(const double* params, const double* x, const double* h_prev, Pass& pass) const;

    /// Given g_h = d loss / d h' of `pass` (whose input was x), adds d loss / d parameters into
    /// `grad` (same layout as params) and d loss / d x into g_x and d loss / d h_prev into
    /// g_h_prev (size values each, added to).
    void backward(const double* params,
                  const double* x,
                  const Pass& pass,
                  const double* g_h,
                  double* grad,
                  double* g_x,
                  double* g_h_prev) const;

    /// The cell over a sequence of inputs xs (size values each): step i starts from h = 0 where
    /// starts[i] (always at i = 0), else from step i - 1's h.
    void forward_sequence(const double* params,
                          const std::vector<std::vector<double>>& xs,
                          const std::vector<bool>& starts,
                          std::vector<Pass>& steps) const;

    /// Back-propagation through time of forward_sequence(): given g_h[i] = d loss / d h of step
    /// i from outside the cell, adds d loss / d parameters into `grad` and sets g_x[i] = d loss /
    /// d xs[i]. Steps are visited last to first.
    void backward_sequence(const double* params,
                           const std::vector<std::vector<double>>& xs,
                           const std::vector<bool>& starts,
                           const std::vector<Pass>& steps,
                           const std::vector<std::vector<double>>& g_h,
                           double* grad,
                           std::vector<std::vector<double>>& g_x) const;

private:
    int64_t size_ = 0;
    int64_t offset_ = 0;
};

} // namespace triseg::search
