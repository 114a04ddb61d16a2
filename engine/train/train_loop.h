// TrainLoop: the one epoch loop of every trainer (pluggable loss and optimizer; resumable, logged).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
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

/// One training batch as the loss sees it. `images` and `labels` are on the training device;
/// `logits` are the target's forward(images); `indices` are the images' positions in the
/// training set (for losses against per-image targets computed in advance, e.g. a teacher's).
struct LossInput {
    const torch::Tensor& images;
    const torch::Tensor& labels;
    const torch::Tensor& logits;
    const std::vector<int64_t>& indices;
};

/// The loss of one training batch -> a scalar tensor to minimize.
using LossFn = std::function<torch::Tensor(const LossInput& batch)>;

/// Cross-entropy of the logits against the labels, with `label_smoothing` in [0, 1) (the
/// default loss: float training and QAT).
LossFn cross_entropy_loss(double label_smoothing);

/// How the loop makes its optimizer and applies the scheduled learning rate.
struct OptimizerFactory {
    /// Builds the optimizer over the module's parameters (in Module::parameters() order).
    std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::Tensor>)> make;
    /// Sets the learning rate before a step; null sets `lr` in every parameter group's options.
    std::function<void(torch::optim::Optimizer&, double)> set_lr;
};

/// SGD with `train`'s momentum, nesterov flag and weight decay (the default optimizer).
OptimizerFactory sgd_optimizer(const TrainOptions& train);

/// Sets `lr` in every parameter group of `opt` (OptimizerOptions::set_lr).
void set_learning_rate(torch::optim::Optimizer& opt, double lr);

/// What TrainLoop trains. `module` owns the parameters; `forward` maps a float batch to
/// logits; `write` / `read` put the model into / restore it from an archive (read must check
/// that the stored model fits); `before_step(step)` runs before each optimizer step (QAT
/// freezes its observers there); `loss` (null: cross-entropy with train.label_smoothing) and
/// `optimizer` (null make: sgd_optimizer(train)) choose what is minimized and how.
/// Optional: `after_step(step, epoch)` runs after each optimizer step (gradients still set:
/// diagnostics); `after_epoch(epoch, record)` after an epoch's evaluation and before its
/// checkpoint (it may add fields to the epoch's metrics record, and write its own files,
/// which then are at least as new as last.pt); `should_stop()` is polled before every batch:
/// true ends run() before that batch, at the last saved epoch (stopped_early() then says so).
struct TrainTarget {
    std::shared_ptr<torch::nn::Module> module;
    std::function<torch::Tensor(const torch::Tensor&)> forward;
    std::function<void(torch::serialize::OutputArchive&)> write;
    std::function<void(torch::serialize::InputArchive&, const std::string&)> read;
    std::function<void(int64_t)> before_step;
    std::function<void(int64_t step, int64_t epoch)> after_step;
    std::function<void(int64_t epoch, nlohmann::json& record)> after_epoch;
    std::function<bool()> should_stop;
    LossFn loss;
    OptimizerFactory optimizer;
    std::string stage; ///< "train-float" / "train-qat", for messages
};

/// The epoch loop:
///
///     for epoch in [start, epochs):                 # start > 0 when last.pt exists
///         for batch in shuffled, augmented train:   # order keyed by (seed, epoch)
///             lr = schedule(step); before_step(step)
///             minimize loss(images, labels, forward(images)) by one optimizer step
///         evaluate val (if any) and test; save last.pt; rewrite metrics.jsonl
///     save model.pt, then metrics.json
///
/// Data order and augmentation depend only on (seed, epoch), so a run resumed from last.pt
/// continues exactly where the interrupted one was. Evaluation reports top-1 accuracy and
/// cross-entropy whatever the training loss.
class TrainLoop {
public:
    /// `train` gives the schedule and batch sizes (float training passes config.train; QAT its
    /// own); `config` gives data and runtime. `out_dir` must exist.
    TrainLoop(TrainTarget target,
              TrainOptions train,
              const TrainConfig& config,
              const io::DatasetSplits& data,
              std::string out_dir,
              bool verbose);
    ~TrainLoop();

    /// Runs or resumes. With `max_epochs` > 0, stops after that many epochs of this call and
    /// returns null unless the training finished; otherwise returns the summary written to
    /// metrics.json.
    nlohmann::json run(int64_t max_epochs = 0);

    /// True when the last run() returned because should_stop() said so (mid-epoch work is
    /// dropped; last.pt holds the last finished epoch).
    bool stopped_early() const { return stopped_early_; }

private:
    struct State; // device, optimizer, loaders, history: one run() call

    void resume(State& s);
    nlohmann::json train_epoch(State& s, int64_t epoch);
    void evaluate(State& s, nlohmann::json& rec);
    void save_epoch(State& s, int64_t epoch, double wall_seconds);
    void print_epoch(const State& s, int64_t epoch, const nlohmann::json& rec) const;
    nlohmann::json finish(const State& s);

    TrainTarget target_;
    TrainOptions train_;
    const TrainConfig config_;
    const io::DatasetSplits& data_;
    std::string out_dir_;
    bool verbose_;
    bool stopped_early_ = false;
};

/// Learning rate at optimizer step `step` of `total_steps` under `train`'s schedule
/// (`steps_per_epoch` is used by the step schedule).
double
scheduled_lr(const TrainOptions& train, int64_t step, int64_t total_steps, int64_t steps_per_epoch);

/// Throws InputError unless the dataset fits the model (channels, classes, image size).
void check_data_fits(const models::ModelOptions& model,
                     const io::ImageDataset& data,
                     int64_t image_size);

} // namespace triseg::engine
