// `triseg train-qat`: BN folding and quantization-aware fine-tuning.
#pragma once

#include <string>
#include <vector>

#include "cli/training_command.h"

namespace triseg::cli {

/// Fine-tunes <run-dir>/float/model.pt with fake quantization into <run-dir>/qat.
int run_train_qat(const TrainArgs& args);

int main_train_qat(const std::vector<std::string>& args);

} // namespace triseg::cli
