// The accuracy-coverage non-dominated set of scored candidates.
#pragma once

#include <cstddef>
#include <vector>

#include "engine/core/fitness.h"

namespace triseg::search {

/// The indices of the candidates no other one dominates on (kd_loss, lower is better;
/// covered, higher is better): j dominates i when it is no worse on both and better on one.
/// Of candidates with equal (kd_loss, covered) only the first is kept. Sorted by kd_loss
/// ascending (then by index). O(n^2), for the few hundred points of a front.
std::vector<size_t> non_dominated(const std::vector<engine::Fitness>& scores);

} // namespace triseg::search
