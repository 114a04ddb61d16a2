// `triseg train-float`: float training of the configured VGG.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct TrainFloatArgs {
    ConfigArgs config;
    bool force = false;     ///< --force: discard a finished or partial training and start over
    bool quiet = false;     ///< --quiet: no per-epoch lines
    int64_t stop_after = 0; ///< --stop-after N: train at most N epochs in this call
};

void add_train_float_options(po::options_description& desc, TrainFloatArgs& args);

/// Trains into <run-dir>/float; resumes from float/last.pt; a finished run is reported and
/// left alone unless --force. Returns the exit code.
int run_train_float(const TrainFloatArgs& args);

/// Parses `args` and calls run_train_float.
int main_train_float(const std::vector<std::string>& args);

} // namespace triseg::cli
