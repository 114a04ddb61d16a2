// `triseg dump-acts`: every block output of the int8 or float model for N images, in HDF5.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct DumpActsArgs {
    ConfigArgs config;
    std::string kind = "int8"; ///< --kind int8|float
    /// --model FILE (or its older spelling --model-file; default <run-dir>/int8/model.h5 or
    /// float/model.pt). `--model int8|float`, the older spelling of --kind, is still accepted.
    std::string model_file;
    std::string split = "test"; ///< --split test|val|train
    int64_t images = 0;         ///< --images N (0 = the whole split)
    std::string out;            ///< --out FILE (default <run-dir>/acts/acts_<kind>.h5)
    int compression = 4;        ///< --compression 0..9 (gzip level)
    int64_t batch = 256;        ///< --batch images per forward pass and write
};

void add_dump_acts_options(po::options_description& desc, DumpActsArgs& args);
int run_dump_acts(const DumpActsArgs& args);
int main_dump_acts(const std::vector<std::string>& args);

} // namespace triseg::cli
