// `triseg eval-int8`: float, QAT and true INT8 accuracy of a run, side by side.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct EvalInt8Args {
    ConfigArgs config;
    std::string model; ///< --model FILE (default <run-dir>/int8/model.h5)
};

void add_eval_int8_options(po::options_description& desc, EvalInt8Args& args);
int run_eval_int8(const EvalInt8Args& args);
int main_eval_int8(const std::vector<std::string>& args);

} // namespace triseg::cli
