// `triseg describe`: the approximation points of an integer model, in forward order.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct DescribeArgs {
    std::string run_dir;     ///< --run-dir: <dir>/int8/model.h5 (and acts/percentiles.h5)
    std::string model;       ///< --model: an int8 model file instead
    std::string percentiles; ///< --percentiles: a percentiles file instead of the run's
    bool json = false;       ///< --json: one JSON object instead of the table
};

void add_describe_options(po::options_description& desc, DescribeArgs& args);
int run_describe(const DescribeArgs& args);
int main_describe(const std::vector<std::string>& args);

} // namespace triseg::cli
