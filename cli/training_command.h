// The shared flow of train-float and train-qat: run folder, resume, --force, --stop-after.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/options.h"
#include "cli/run_dir.h"
#include "io/dataset_factory.h"

namespace triseg::cli {

struct TrainArgs {
    ConfigArgs config;
    bool force = false; ///< --force: discard this stage's earlier training and start over
    bool quiet = false; ///< --quiet: no per-epoch lines
    std::optional<int64_t> stop_after; ///< --stop-after N >= 1: train at most N epochs now
};

void add_train_options(po::options_description& desc, TrainArgs& args);

/// One training stage of a run folder (`stage` is the sub-folder: "float" or "qat").
struct TrainingStage {
    std::string command;                         ///< "train-float"
    std::string stage;                           ///< "float"
    std::vector<RunDir::Guard> fixed_by_earlier; ///< config parts earlier stages fixed
    std::vector<RunDir::Guard> owns;             ///< config parts this stage's state depends on
    /// The model file this stage starts from, relative to the run folder ("float/model.pt"
    /// for train-qat; empty for none). Its SHA-256 is kept in <stage>/input.json, and a
    /// started or finished stage whose input has changed since is refused (use --force).
    std::string input;
    /// Checks this stage's inputs (e.g. the float model exists) before anything is written.
    std::function<void(const RunDir&)> check_inputs;
    /// Trains (or resumes) into `out`; returns the summary, or null when stopped early.
    std::function<nlohmann::json(const RunDir&,
                                 const io::DatasetSplits&,
                                 const std::string& out,
                                 bool verbose,
                                 int64_t stop_after)>
        train;
};

/// Locks <run-dir>/<stage> (io/stage_lock.h: a second process exits with 4), then: already
/// finished: report and exit 0 (unless --force); otherwise check the device, the data and the
/// stage's inputs, update the config snapshot, and train into <run-dir>/<stage>.
int run_training_stage(const TrainArgs& args, const TrainingStage& stage);

} // namespace triseg::cli
