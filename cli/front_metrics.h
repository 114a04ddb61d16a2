// Accuracy-coverage fronts: the non-dominated set, its hypervolume in a reference box, and the
// mean front over seeds (`triseg report`, "Fronts (test set)").
#pragma once

#include <vector>

namespace triseg::cli {

/// One measured code set: `covered`, the share of block output codes <= their layer's tmax (in
/// [0, 1]), and `acc_drop`, teacher minus student accuracy in points. Higher coverage and a
/// lower drop are better.
struct FrontPoint {
    double covered = 0.0;
    double acc_drop = 0.0;

    bool operator==(const FrontPoint& o) const {
        return covered == o.covered && acc_drop == o.acc_drop;
    }
};

/// The box a front's hypervolume is measured in: coverage in [covered_min, covered_max], drop
/// in [drop_min, drop_max] points. The whole box has hypervolume 1.
struct ReferenceBox {
    double covered_min = 0.85;
    double covered_max = 0.99;
    double drop_min = 0.0;
    double drop_max = 5.0;
};

/// The points no other point dominates, sorted by coverage (ascending), each once. A point
/// dominates another when its coverage is at least as high and its drop at most as large, and
/// the two differ.
std::vector<FrontPoint> non_dominated(std::vector<FrontPoint> points);

/// The share of `box` the points dominate: the area of the union, over the points (c, d)
/// clamped into the box, of the rectangles [covered_min, c] x [d, drop_max], divided by the
/// box's area. So 0 for no points (or only points at or beyond the box's worst corner), 1 for a
/// point at coverage >= covered_max with drop <= drop_min; dominated points add nothing.
///
///     sort the clamped points by coverage, descending; best = drop_max; area = 0
///     for each point i: best = min(best, d_i)
///                       area += (c_i - c_{i+1}) * (drop_max - best)   (c_{n+1} = covered_min)
///     return area / ((covered_max - covered_min) * (drop_max - drop_min))
///
/// @throws InputError when the box is empty (a min not below its max).
double hypervolume(const std::vector<FrontPoint>& points, const ReferenceBox& box);

/// The mean front of several seeds' points: at coverage x, the mean over the seeds of each
/// seed's lowest drop among its points with coverage >= x. As a function of x it changes only
/// at the points' coverages, so it is returned as one point (coverage, mean drop) at each
/// distinct coverage, ascending, up to the lowest of the seeds' highest coverages (beyond it
/// some seed has no point); each value holds from the previous coverage (excluded) to its own.
/// Empty when there are no seeds or a seed has no points.
std::vector<FrontPoint> mean_front(const std::vector<std::vector<FrontPoint>>& seeds);

} // namespace triseg::cli
