// `triseg eval-codes`: what a set of tri-segment codes costs on the full test set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct EvalCodesArgs {
    ConfigArgs config;
    std::string codes;          ///< --codes result.json (or front.json with --point / --all-points)
    int64_t point = -1;         ///< --point N: point N of a front.json (-1: none)
    bool all_points = false;    ///< --all-points: every point of a front.json, in one run
    bool evenly_spaced = false; ///< --evenly-spaced: the built-in code set for approx.tmax
    std::string model;          ///< --model FILE (default <run-dir>/int8/model.h5)
    std::string out;            ///< --out FILE (default: see --help)
    std::string split = "test"; ///< --split test|val
};

void add_eval_codes_options(po::options_description& desc, EvalCodesArgs& args);
int run_eval_codes(const EvalCodesArgs& args);
int main_eval_codes(const std::vector<std::string>& args);

} // namespace triseg::cli
