// QatTrainer: BN folding, observer calibration and fake-quant fine-tuning (train-qat).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/train/train_config.h"
#include "io/dataset_factory.h"

namespace triseg::engine {

/// Quantization-aware fine-tuning of a trained float model:
///
///     qat = fold_bn(load(float_checkpoint))         # models::QatVgg
///     observe activations on calibration_batches training batches (no augmentation)
///     SGD on fake-quant forward, cosine lr from qat.lr; observers update until
///     qat.freeze_observers_after steps, then scales and zero points stay fixed
///
/// Writes model.pt (kind "qat"), last.pt, metrics.jsonl and metrics.json into `out_dir`;
/// resumes from last.pt like TrainLoop (calibration only happens on a fresh start).
class QatTrainer {
public:
    QatTrainer(const TrainConfig& config,
               const io::DatasetSplits& data,
               std::string float_checkpoint,
               std::string out_dir,
               bool verbose = true);

    /// See TrainLoop::run.
    /// @throws IoError / InputError when the float checkpoint is missing or does not fit.
    nlohmann::json run(int64_t max_epochs = 0);

private:
    const TrainConfig config_;
    const io::DatasetSplits& data_;
    std::string float_checkpoint_;
    std::string out_dir_;
    bool verbose_;
};

} // namespace triseg::engine
