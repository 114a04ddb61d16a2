// Non-dominated sets, hypervolume and mean fronts.
#include "cli/front_metrics.h"

#include <algorithm>
#include <limits>

#include "common/error.h"

namespace triseg::cli {

std::vector<FrontPoint> non_dominated(std::vector<FrontPoint> points) {
    // Highest coverage first, and at equal coverage the lowest drop first: a point is kept
    // when its drop is below every drop seen before it.
    std::sort(points.begin(), points.end(), [](const FrontPoint& a, const FrontPoint& b) {
        return a.covered != b.covered ? a.covered > b.covered : a.acc_drop < b.acc_drop;
    });
    std::vector<FrontPoint> out;
    double best = std::numeric_limits<double>::infinity();
    for (const auto& p : points) {
        if (p.acc_drop < best) {
            out.push_back(p);
            best = p.acc_drop;
        }
    }
    std::reverse(out.begin(), out.end());
    return out;
}

double hypervolume(const std::vector<FrontPoint>& points, const ReferenceBox& box) {
    TRISEG_CHECK(box.covered_min < box.covered_max && box.drop_min < box.drop_max, InputError,
                 "the hypervolume's box must have covered_min < covered_max and drop_min < "
                 "drop_max, got coverage ["
                     << box.covered_min << ", " << box.covered_max << "] x drop [" << box.drop_min
                     << ", " << box.drop_max << "]");
    std::vector<FrontPoint> clamped;
    clamped.reserve(points.size());
    for (const auto& p : points) {
        clamped.push_back({std::clamp(p.covered, box.covered_min, box.covered_max),
                           std::clamp(p.acc_drop, box.drop_min, box.drop_max)});
    }
    std::sort(clamped.begin(), clamped.end(),
              [](const FrontPoint& a, const FrontPoint& b) { return a.covered > b.covered; });
    double area = 0.0;
    double best = box.drop_max;
    for (size_t i = 0; i < clamped.size(); ++i) {
        best = std::min(best, clamped[i].acc_drop);
        const double next = i + 1 < clamped.size() ? clamped[i + 1].covered : box.covered_min;
        area += (clamped[i].covered - next) * (box.drop_max - best);
    }
    return area / ((box.covered_max - box.covered_min) * (box.drop_max - box.drop_min));
}

std::vector<FrontPoint> mean_front(const std::vector<std::vector<FrontPoint>>& seeds) {
    if (seeds.empty()) {
        return {};
    }
    double reach = std::numeric_limits<double>::infinity(); // lowest highest coverage
    std::vector<double> grid;
    for (const auto& s : seeds) {
        if (s.empty()) {
            return {};
        }
        double top = -std::numeric_limits<double>::infinity();
        for (const auto& p : s) {
            top = std::max(top, p.covered);
            grid.push_back(p.covered);
        }
        reach = std::min(reach, top);
    }
    std::sort(grid.begin(), grid.end());
    grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
    std::vector<FrontPoint> out;
    for (double x : grid) {
        if (x > reach) {
            break;
        }
        double sum = 0.0;
        for (const auto& s : seeds) {
            double best = std::numeric_limits<double>::infinity();
            for (const auto& p : s) {
                if (p.covered >= x) {
                    best = std::min(best, p.acc_drop);
                }
            }
            sum += best;
        }
        out.push_back({x, sum / static_cast<double>(seeds.size())});
    }
    return out;
}

} // namespace triseg::cli
