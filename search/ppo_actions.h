// PpoActions: what PPO's four head picks mean (codes, allocation or relative offsets), each
// head's allowed range, and masked categorical draws.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "common/rng.h"
#include "engine/core/code_set.h"
#include "search/allocation_space.h"
#include "search/code_space.h"

namespace triseg::search {

/// The picks of PPO's heads t1, t2, v1, v2 for one layer.
using PpoAction = std::array<int32_t, 4>;

/// The meaning of PPO's actions in one search:
///   codes space, absolute: the codes t1, t2, v1, v2, each head masked to what the earlier
///     picks allow (CodeSpace's ranges);
///   codes space, relative (ppo.encoding: relative): t1, then t2 - t1 in [4, tmax-4-t1min],
///     v1 - t1 in [1, tmax-5-t1min], v2 - t2 in [1, tmax-4-t1min], fixed ranges whose offsets
///     are capped at their segment's end, so every action is a valid code set;
///   allocation space: head t1 picks the layer's tmax, the others the single code 0.
class PpoActions {
public:
    /// `allocation` null: the codes space.
    PpoActions(CodeSpace space, std::shared_ptr<const AllocationSpace> allocation, bool relative);

    /// The allowed range of head h (0..3) given the earlier picks of `a`.
    CodeRange range(int h, const PpoAction& a) const;
    /// The codes of layer `layer` for the action `a` (whose picks lie in their ranges).
    engine::LayerCodes codes(int64_t layer, const PpoAction& a) const;
    /// The action whose codes are `c` (valid codes of the codes space; in the allocation space
    /// the action of the tmax `tmax`). codes(l, action(c, 0)) == c in the codes space.
    PpoAction action(const engine::LayerCodes& c, int32_t tmax) const;
    /// The largest pick of any head: codes 0..top() hold every head's range.
    int32_t top() const;
    /// Whether actions are relative offsets (ppo.encoding: relative in the codes space).
    bool relative() const { return relative_; }

private:
    CodeSpace space_;
    std::shared_ptr<const AllocationSpace> allocation_;
    bool relative_;
};

/// Samples from softmax(logits) restricted to `r`; returns the pick and adds its
/// log-probability to `logp`.
int32_t sample_masked(const double* logits, CodeRange r, Rng& rng, double& logp);

/// The most likely pick of softmax(logits) restricted to `r` (the lowest at a tie).
int32_t argmax_masked(const double* logits, CodeRange r);

} // namespace triseg::search
