// `triseg eval`: accuracy of a run's float model.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct EvalArgs {
    ConfigArgs config;
    std::string checkpoint;     ///< --checkpoint FILE (default <run-dir>/float/model.pt)
    std::string split = "test"; ///< --split test|val|train
};

void add_eval_options(po::options_description& desc, EvalArgs& args);

/// Evaluates and writes <run-dir>/float/eval_<split>.json. Returns the exit code.
int run_eval(const EvalArgs& args);

int main_eval(const std::vector<std::string>& args);

} // namespace triseg::cli
