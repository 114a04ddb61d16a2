// DriverState: everything the search loop needs to continue exactly where it stopped.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "search/driver/search_driver.h"

namespace triseg::search {

/// The driver's counters and bests; saved in the checkpoint (driver_checkpoint.h).
struct DriverState {
    int64_t episodes = 0;
    int64_t evaluations = 0;       ///< reward-set evaluations of search candidates
    int64_t extra_evaluations = 0; ///< reward-set evaluations of proposals
    int64_t holdout_evaluations = 0;
    int64_t generations = 0;
    /// Int8 MACs on the reward set: search candidates plus anchor fills (the search.max_macs
    /// budget), proposals scored on the reward set, held-out rounds.
    int64_t macs = 0;
    int64_t extra_macs = 0;
    int64_t holdout_macs = 0;
    /// The anchor last handed to the evaluator (a new one is charged anchor_macs()).
    std::optional<CodeSet> anchor;
    int64_t next_eval_at = 0;
    double elapsed = 0.0; ///< seconds spent by earlier calls
    uint64_t history_bytes = 0;
    bool finished = false;
    std::optional<ScoredCodes> best;        ///< best reward so far
    std::optional<ScoredCodes> period_best; ///< best reward since the last held-out round
    std::vector<ScoredCodes> evaluated;     ///< everything scored on the held-out subset
};

} // namespace triseg::search
