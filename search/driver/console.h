// The driver's console output on rank 0: the resume line and the held-out round lines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "search/driver/search_driver.h"

namespace triseg::search {

namespace detail {
/// `v` printed with the printf `format` ("%.5f", ...).
std::string fmt(const char* format, double v);
} // namespace detail

/// Prints "resuming from <checkpoint>: episode E, generation G, S s spent before".
void print_resume_line(const std::string& checkpoint_path,
                       int64_t episodes,
                       int64_t generations,
                       double seconds_before);

/// The line after a held-out round: "episode E[/total]: best KD k (episode e)[, held-out acc
/// a% drop d][; proposal KD k acc a% drop d]; R ep/s[, ETA t]". `best_holdout` is the best's
/// held-out entry (nullptr when it has none); `fresh` the candidates scored in this round;
/// `rate` episodes per second of this call.
std::string holdout_round_line(int64_t episodes,
                               int64_t total,
                               const ScoredCodes& best,
                               const ScoredCodes* best_holdout,
                               const std::vector<ScoredCodes>& fresh,
                               double rate);

/// Prints `line` and flushes stdout.
void print_line(const std::string& line);

} // namespace triseg::search
