// non_dominated: a plain double loop (a front holds at most a few hundred points).
#include "search/pareto.h"

#include <algorithm>

namespace triseg::search {

std::vector<size_t> non_dominated(const std::vector<engine::Fitness>& scores) {
    std::vector<size_t> out;
    for (size_t i = 0; i < scores.size(); ++i) {
        const auto& a = scores[i];
        bool keep = true;
        for (size_t j = 0; j < scores.size() && keep; ++j) {
            const auto& b = scores[j];
            const bool no_worse = b.kd_loss <= a.kd_loss && b.covered >= a.covered;
            const bool better = b.kd_loss < a.kd_loss || b.covered > a.covered;
            const bool earlier_twin = j < i && b.kd_loss == a.kd_loss && b.covered == a.covered;
            keep = !(no_worse && better) && !earlier_twin;
        }
        if (keep) {
            out.push_back(i);
        }
    }
    std::stable_sort(out.begin(), out.end(),
                     [&](size_t x, size_t y) { return scores[x].kd_loss < scores[y].kd_loss; });
    return out;
}

} // namespace triseg::search
