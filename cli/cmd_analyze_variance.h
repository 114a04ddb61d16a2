// `triseg analyze-variance`: per-layer weight and activation statistics as JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct AnalyzeVarianceArgs {
    ConfigArgs config;
    std::string model_file;     ///< --model-file (default <run-dir>/int8/model.h5)
    std::string acts;           ///< --acts FILE: activations from an int8 dump
    std::string split = "test"; ///< --split test|val|train
    int64_t images = 0;         ///< --images N (0 = all)
    std::string out_dir;        ///< --out-dir DIR (default <run-dir>/analysis)
    int64_t batch = 256;        ///< --batch (reading a dump)
};

void add_analyze_variance_options(po::options_description& desc, AnalyzeVarianceArgs& args);
int run_analyze_variance(const AnalyzeVarianceArgs& args);
int main_analyze_variance(const std::vector<std::string>& args);

} // namespace triseg::cli
