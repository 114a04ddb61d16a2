// FloatTrainer: SGD training of the float VGG with per-epoch checkpoints and resume.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "io/dataset_factory.h"
#include "io/run_config.h"

namespace triseg::engine {

/// Files a float training writes into its folder (`<run-dir>/float`).
struct FloatTrainFiles {
    static constexpr const char* kModel = "model.pt";        ///< final model (kind "float")
    static constexpr const char* kState = "last.pt";         ///< model + optimizer + epoch
    static constexpr const char* kHistory = "metrics.jsonl"; ///< one JSON object per epoch
    static constexpr const char* kSummary = "metrics.json";  ///< written last: marks "done"
};

/// Trains the float model of `config` on `data`:
///
///     for epoch in [start, epochs):                 # start > 0 when last.pt exists
///         for batch in shuffled, augmented train:   # order keyed by (seed, epoch)
///             lr = schedule(step); SGD step on cross-entropy
///         evaluate val (if any) and test; append metrics.jsonl; save last.pt atomically
///     save model.pt, then metrics.json
///
/// Because data order and augmentation depend only on (seed, epoch), a run resumed from
/// last.pt continues exactly where the interrupted one was.
class FloatTrainer {
public:
    /// `out_dir` must exist. `verbose` prints one line per epoch to stdout.
    FloatTrainer(const io::RunConfig& config,
                 const io::DatasetSplits& data,
                 std::string out_dir,
                 bool verbose = true);

    /// Runs (or resumes) the training and returns the summary written to metrics.json.
    /// With `max_epochs` > 0, stops after that many epochs of this call (last.pt then holds
    /// the state, for a later call to resume) and returns null unless training finished.
    /// @throws InputError when the data does not fit the model (channels, classes, size).
    nlohmann::json run(int64_t max_epochs = 0);

private:
    const io::RunConfig& config_;
    const io::DatasetSplits& data_;
    std::string out_dir_;
    bool verbose_;
};

/// Learning rate at optimizer step `step` of `total_steps` under `train`'s schedule
/// (`steps_per_epoch` is used by the step schedule).
double
scheduled_lr(const TrainOptions& train, int64_t step, int64_t total_steps, int64_t steps_per_epoch);

} // namespace triseg::engine
