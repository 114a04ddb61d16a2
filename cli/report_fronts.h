// `triseg report`: the accuracy-coverage fronts measured on the test set, per label and seed.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/front_metrics.h"

namespace triseg::cli {

/// What the fronts table reads of one search folder (search/<name>/ or ste/<name>/).
struct FrontSource {
    std::string run;           ///< the run folder, as given to `report`
    std::string folder;        ///< the search folder
    nlohmann::json result;     ///< its result.json (method, space, seed), or null
    nlohmann::json test;       ///< its eval_test.json (one point), or null
    nlohmann::json front_test; ///< its eval_front_test.json (every point of its front), or null
};

/// Prints the "Fronts (test set)" table of `sources` (nothing when no folder has a measured
/// point) and returns what it shows as JSON, the "fronts" key of `report --json`:
///
///     {"split": "test", "box": {"covered": [0.85, 0.99], "acc_drop": [0, 5]},
///      "labels": [{"run", "label", "method", "space", "seeds", "points", "hypervolume_mean",
///                  "hypervolume_sd", "mean_front": [{"covered", "acc_drop"}, ...],
///                  "per_seed": [{"seed", "hypervolume", "front": [{"covered", "acc_drop"}],
///                                "points": [{"covered", "acc_drop", "source", "point"}]}]}],
///      "comparisons": [{"run", "a", "b", "seeds": [...], "mean_difference", "p_value"}],
///      "notes": [...]}
///
/// Within each run folder, points are grouped by (label, seed): label is the method, with
/// "+alloc" when the space is "allocation" ("+<space>" for another space; none for "codes" or
/// no space); method, space and seed come from eval_front_test.json, else from result.json. A
/// folder's eval_test.json gives one point (its `covered`, or for files written before that
/// field the layers' `fraction_in_range` weighted by `codes_seen`), its eval_front_test.json
/// one per front point. Each (label, seed) is one front, its hypervolume measured in `box`
/// (front_metrics.h); per label the mean and sample sd over seeds (sd null for one seed); per
/// pair of labels of a run with at least 3 seeds in common, the exact paired sign-flip test
/// on the seeds' hypervolume differences (a minus b). What cannot be read (no method or seed,
/// no coverage, a value of another type) is left out with a printed note, also in "notes".
nlohmann::json report_fronts(const std::vector<FrontSource>& sources, const ReferenceBox& box = {});

} // namespace triseg::cli
