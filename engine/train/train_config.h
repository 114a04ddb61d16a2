// TrainConfig: what a training stage reads of a run's configuration.
#pragma once

#include "engine/core/runtime_options.h"
#include "engine/train/qat_options.h"
#include "engine/train/train_options.h"
#include "io/data_options.h"
#include "models/spec/model_options.h"

namespace triseg::engine {

/// The sections the trainers use (the cli builds it from the run configuration).
struct TrainConfig {
    io::DataOptions data;
    models::ModelOptions model;
    RuntimeOptions runtime;
    TrainOptions train;
    QatOptions qat;
};

} // namespace triseg::engine
