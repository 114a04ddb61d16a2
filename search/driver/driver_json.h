// The JSON spelling of codes, fitness and scored candidates shared by the driver's files
// (history lines, result files, the checkpoint's driver state).
#pragma once

#include <nlohmann/json.hpp>

#include "engine/core/code_set.h"
#include "engine/core/fitness.h"
#include "search/driver/search_driver.h"

namespace triseg::search::detail {

/// [[t1, v1, t2, v2, tmax], ...], one entry per layer.
nlohmann::json codes_json(const CodeSet& c);
/// The inverse of codes_json. @throws nlohmann::json::exception on a malformed value.
CodeSet codes_from(const nlohmann::json& a);

/// {"kd_loss", "acc_student", "acc_teacher", "agreement", "coverage", "zeroed", "images"}.
nlohmann::json fitness_json(const Fitness& f);
/// The inverse of fitness_json. @throws nlohmann::json::exception on a malformed value.
Fitness fitness_from(const nlohmann::json& j);

/// {"codes", "reward", "episode", "source"[, "holdout"]}.
nlohmann::json scored_json(const ScoredCodes& s);
/// The inverse of scored_json. @throws nlohmann::json::exception on a malformed value.
ScoredCodes scored_from(const nlohmann::json& j);

} // namespace triseg::search::detail
