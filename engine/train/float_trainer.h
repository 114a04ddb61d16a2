// FloatTrainer: SGD training of the float VGG of a config (see TrainLoop for the loop).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/train/train_config.h"
#include "io/dataset_factory.h"

namespace triseg::engine {

/// Trains `config.model` with `config.train` on `data` into `out_dir` (model.pt, last.pt,
/// metrics.jsonl, metrics.json; see TrainFiles in engine/train/train_loop.h). Initialization is
/// seeded by runtime.seed; a run resumed from last.pt equals an uninterrupted one.
class FloatTrainer {
public:
    FloatTrainer(const TrainConfig& config,
                 const io::DatasetSplits& data,
                 std::string out_dir,
                 bool verbose = true);

    /// See TrainLoop::run. @throws InputError when the data does not fit the model, or
    /// last.pt holds another model.
    nlohmann::json run(int64_t max_epochs = 0);

private:
    const TrainConfig config_;
    const io::DatasetSplits& data_;
    std::string out_dir_;
    bool verbose_;
};

} // namespace triseg::engine
