// result.json and result_unconstrained.json of a finished search.
#pragma once

#include <string>

#include "search/driver/driver_state.h"
#include "search/driver/search_driver.h"
#include "search/driver/selection.h"

namespace triseg::search {

/// Writes <out_dir>/result.json (the constrained best, or the closest candidate when none met
/// the drop limit, as its "selection" says) and <out_dir>/result_unconstrained.json (the best
/// reward, reported with `best_episode`) through io::write_result_file (atomic).
/// `wall_seconds` is the search's total time. @throws IoError.
void write_search_results(const DriverSettings& settings,
                          const DriverState& state,
                          const Selection& selection,
                          int64_t best_episode,
                          double wall_seconds);

} // namespace triseg::search
