// `triseg analyze-sensitivity`: per-layer sensitivity (leave-one-out or leave-one-in), ranked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct AnalyzeSensitivityArgs {
    ConfigArgs config;
    std::string model_file;     ///< --model-file (default <run-dir>/int8/model.h5)
    std::string codes;          ///< --codes result.json
    bool heuristic = false;     ///< --heuristic: histogram-based codes per layer
    std::string percentiles;    ///< --percentiles FILE: histograms for --heuristic
    std::string split = "test"; ///< --split test|val|train
    int64_t images = 0;         ///< --images N (0 = all)
    std::string out;            ///< --out FILE (default <run-dir>/analysis/sensitivity.json)
    int64_t batch = 256;        ///< --batch
    std::string mode = "leave-one-out"; ///< --mode leave-one-out|leave-one-in
};

void add_analyze_sensitivity_options(po::options_description& desc, AnalyzeSensitivityArgs& args);
int run_analyze_sensitivity(const AnalyzeSensitivityArgs& args);
int main_analyze_sensitivity(const std::vector<std::string>& args);

} // namespace triseg::cli
