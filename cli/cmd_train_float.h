// `triseg train-float`: float training of the configured VGG.
#pragma once

#include <string>
#include <vector>

#include "cli/training_command.h"

namespace triseg::cli {

/// Trains into <run-dir>/float; resumes from float/last.pt; a finished run is reported and
/// left alone unless --force. Returns the exit code.
int run_train_float(const TrainArgs& args);

/// Parses `args` and calls run_train_float.
int main_train_float(const std::vector<std::string>& args);

} // namespace triseg::cli
