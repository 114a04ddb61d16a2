// SgdTrainer: the epoch loop shared by float training and QAT (resumable, logged).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "engine/train/train_config.h"
#include "engine/train/train_options.h"
#include "io/dataset_factory.h"

namespace triseg::engine {

/// Files a training stage writes into its folder (`<run-dir>/float`, `<run-dir>/qat`).
struct TrainFiles {
    static constexpr const char* kModel = "model.pt";        ///< final model
    static constexpr const char* kState = "last.pt";         ///< model + optimizer + epoch
    static constexpr const char* kHistory = "metrics.jsonl"; ///< one JSON object per epoch
    static constexpr const char* kSummary = "metrics.json";  ///< written last: marks "done"
};

/// What SgdTrainer trains. `module` owns the parameters; `forward` maps a float batch to
/// logits; `write` / `read` put the model into / restore it from an archive (read must check
/// that the stored model fits); `before_step(step)` runs before each optimizer step (QAT
/// freezes its observers there).
struct TrainTarget {
    std::shared_ptr<torch::nn::Module> module;
    std::function<torch::Tensor(const torch::Tensor&)> forward;
    std::function<void(torch::serialize::OutputArchive&)> write;
    std::function<void(torch::serialize::InputArchive&, const std::string&)> read;
    std::function<void(int64_t)> before_step;
    std::string stage; ///< "train-float" / "train-qat", for messages
};

/// SGD with momentum on cross-entropy:
///
///     for epoch in [start, epochs):                 # start > 0 when last.pt exists
///         for batch in shuffled, augmented train:   # order keyed by (seed, epoch)
///             lr = schedule(step); before_step(step); SGD step
///         evaluate val (if any) and test; save last.pt; rewrite metrics.jsonl
///     save model.pt, then metrics.json
///
/// Data order and augmentation depend only on (seed, epoch), so a run resumed from last.pt
/// continues exactly where the interrupted one was.
class SgdTrainer {
public:
    /// `train` gives the optimizer settings (float training passes config.train; QAT its own);
    /// `config` gives data and runtime. `out_dir` must exist.
    SgdTrainer(TrainTarget target,
               TrainOptions train,
               const TrainConfig& config,
               const io::DatasetSplits& data,
               std::string out_dir,
               bool verbose);

    /// Runs or resumes. With `max_epochs` > 0, stops after that many epochs of this call and
    /// returns null unless the training finished; otherwise returns the summary written to
    /// metrics.json.
    nlohmann::json run(int64_t max_epochs = 0);

private:
    TrainTarget target_;
    TrainOptions train_;
    const TrainConfig config_;
    const io::DatasetSplits& data_;
    std::string out_dir_;
    bool verbose_;
};

/// Learning rate at optimizer step `step` of `total_steps` under `train`'s schedule
/// (`steps_per_epoch` is used by the step schedule).
double
scheduled_lr(const TrainOptions& train, int64_t step, int64_t total_steps, int64_t steps_per_epoch);

/// Throws InputError unless the dataset fits the model (channels, classes, image size).
void check_data_fits(const models::VggOptions& model,
                     const io::ImageDataset& data,
                     int64_t image_size);

} // namespace triseg::engine
