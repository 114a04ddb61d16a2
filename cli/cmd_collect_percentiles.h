// `triseg collect-percentiles`: per layer a code histogram, percentiles and the fraction of
// codes <= tmax, in HDF5.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct CollectPercentilesArgs {
    ConfigArgs config;
    std::string model_file;     ///< --model-file (default <run-dir>/int8/model.h5)
    std::string acts;           ///< --acts FILE: read codes from an int8 dump instead
    std::string split = "test"; ///< --split test|val|train
    int64_t images = 0;         ///< --images N (0 = all)
    int64_t tmax = 0;           ///< --tmax (0 = approx.tmax, or 32 without a run)
    std::string out;            ///< --out FILE
    int64_t batch = 256;        ///< --batch (reading a dump)
};

void add_collect_percentiles_options(po::options_description& desc, CollectPercentilesArgs& args);
int run_collect_percentiles(const CollectPercentilesArgs& args);
int main_collect_percentiles(const std::vector<std::string>& args);

} // namespace triseg::cli
