// The lines of history.jsonl: one per episode, per algorithm log record and per held-out score.
#pragma once

#include <cstdint>

#include "engine/core/code_set.h"
#include "engine/core/fitness.h"
#include "search/algorithm.h"
#include "search/driver/history_log.h"
#include "search/driver/search_driver.h"

namespace triseg::search {

/// {"type": "episode", "episode", "generation", "reward", "kd_loss", "acc_student",
/// "agreement", "coverage", "covered", "macs", "total_macs", "codes"}, and "images" (the
/// reward images the score is over) when `with_images` (under racing).
void write_episode_line(HistoryLog& history,
                        int64_t episode,
                        int64_t generation,
                        const Fitness& score,
                        const CodeSet& codes,
                        int64_t total_macs = 0,
                        bool with_images = false);

/// {"type": record.kind, "episode", then the record's values} (a PPO "update", ...).
void write_algorithm_line(HistoryLog& history, int64_t episode, const LogRecord& record);

/// {"type": "eval", "episode", "source", "found_at_episode", "reward_kd_loss", "holdout",
/// "codes"}: `scored` was scored on the held-out subset after `episode` episodes.
void write_eval_line(HistoryLog& history, int64_t episode, const ScoredCodes& scored);

} // namespace triseg::search
