// LloydSweep: `--method lloyd` in the allocation space: Lloyd-Max codes along a coverage axis,
// scored once each, their non-dominated set as the accuracy-coverage front.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "search/algorithm.h"
#include "search/allocation_space.h"

namespace triseg::search {

/// The coverage quantiles of LloydSweep's per-layer points: 0.85, 0.86, ..., 0.99.
std::vector<double> lloyd_sweep_quantiles();

/// One generation, no search: the distinct code sets of
///   - the same tmax at every layer, for every tmax in [tmax_min, tmax_max]
///     (AllocationSpace::uniform), in ascending tmax;
///   - per layer the tmax of a coverage quantile p (AllocationSpace::quantile_tmax) for each p
///     of lloyd_sweep_quantiles(), in ascending p;
/// all with the Lloyd-Max codes of their tmax. After they are told, finished() is true and
/// front() is their non-dominated set on the reward set (KD loss, covered), so the driver
/// scores it on the held-out subset and writes front.json; with `search.target_drop` the
/// result is the point of highest held-out coverage within that drop. A budget smaller than
/// the sweep scores a prefix of it (the uniform points first).
class LloydSweep final : public Algorithm {
public:
    /// @throws ConfigError when generation < 1.
    LloydSweep(std::shared_ptr<const AllocationSpace> space, int64_t generation);

    std::vector<CodeSet> ask() override;
    void tell(const std::vector<CodeSet>& candidates, const std::vector<Fitness>& scores) override;
    std::vector<CodeSet> front() const override;
    bool finished() const override { return told_; }
    void save(Checkpoint& checkpoint) const override;
    void load(const Checkpoint& checkpoint) override;
    std::string name() const override { return "lloyd"; }

    /// The sweep's code sets in asking order.
    const std::vector<CodeSet>& points() const { return points_; }

private:
    std::vector<CodeSet> points_;
    std::vector<CodeSet> told_codes_;
    std::vector<Fitness> told_scores_;
    bool told_ = false;
    bool asked_ = false;
};

} // namespace triseg::search
