// front.json: a multi-objective search's non-dominated set (nsga2's accuracy-coverage front).
#pragma once

#include <string>
#include <vector>

#include "engine/core/code_set.h"
#include "engine/core/fitness.h"
#include "search/driver/search_driver.h"

namespace triseg::search {

/// Writes <out_dir>/front.json atomically:
///
///     {"method", "seed", "objectives": ["kd_loss", "covered"], "reward_set", "holdout_set",
///      "points": [{"point": i, "layers": {<result.json's per-layer codes>}, "tmax": [...],
///                  "kd_loss", "covered", "holdout_acc_drop", "reward": {...}, "holdout": {...}},
///                 ...]}
///
/// Points in the order given (sorted by reward KD loss); `reward[i]` and `holdout[i]` score
/// `codes[i]`. `triseg eval-codes --codes front.json --point i` measures point i on the test set.
/// @throws IoError.
void write_front(const DriverSettings& settings,
                 const std::vector<CodeSet>& codes,
                 const std::vector<Fitness>& reward,
                 const std::vector<Fitness>& holdout);

} // namespace triseg::search
