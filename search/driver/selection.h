// Selection: which candidates the driver keeps, scores on the held-out subset and reports.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/core/code_set.h"
#include "engine/core/fitness.h"
#include "search/driver/search_driver.h"

namespace triseg::search {

/// Accuracy is a ratio of image counts: a drop within this much of the limit meets it.
constexpr double kDropSlack = 1e-9;

/// Replaces `best` by `s` when there is none yet or `s` has a strictly higher reward (the
/// first of equal rewards stays). A candidate that leaves a layer exact (codes LayerCodes{}, the
/// identity: PPO's layer curriculum) is never kept, so that every result approximates every
/// layer.
void keep_best_reward(std::optional<ScoredCodes>& best, const ScoredCodes& s);

/// The last entry of `evaluated` with codes `c`, or nullptr.
const ScoredCodes* find_scored(const std::vector<ScoredCodes>& evaluated, const CodeSet& c);

/// Appends `s` to `fresh` under the name `source`, unless it is empty, already in `evaluated`
/// (scored on the held-out subset before) or already in `fresh`.
void add_holdout_candidate(std::vector<ScoredCodes>& fresh,
                           const std::vector<ScoredCodes>& evaluated,
                           const std::optional<ScoredCodes>& s,
                           const std::string& source);

/// The candidates the results report.
struct Selection {
    /// Highest held-out accuracy (then lowest held-out KD loss; then the earliest) among those
    /// with acc_drop <= max_acc_drop + kDropSlack; with a target drop (>= 0) instead the
    /// highest held-out `covered` (then the lowest held-out KD loss; then the earliest) among
    /// those with acc_drop <= target_drop + kDropSlack. When none qualifies, the smallest drop
    /// (the earliest of equals).
    /// With a coverage target, only candidates that meet it on the reward set (no penalty) take
    /// part, unless none does (then coverage_met is false and every candidate takes part).
    const ScoredCodes* constrained = nullptr;
    /// The held-out entry of the best-reward codes (the last entry with those codes).
    const ScoredCodes* unconstrained = nullptr;
    bool constraint_met = false;
    /// False only when a coverage target was set and no held-out candidate met it.
    bool coverage_met = true;
};

/// Selects from `evaluated` (entries without a held-out score are ignored).
/// @throws std::logic_error when nothing was scored on the held-out subset or `best` has no
/// held-out entry.
/// `coverage_target`: search.target_coverage is set (a candidate meets it when its reward-set
/// Fitness::penalty is 0).
Selection select_results(const std::vector<ScoredCodes>& evaluated,
                         const std::optional<ScoredCodes>& best,
                         double max_acc_drop,
                         double target_drop = -1.0,
                         bool coverage_target = false);

} // namespace triseg::search
