// Shared flow of the training commands.
#include "cli/training_command.h"

#include <cstdio>
#include <filesystem>

#include "common/error.h"
#include "common/option_checks.h"
#include "engine/train/device.h"
#include "engine/train/train_loop.h"
#include "io/atomic_file.h"
#include "io/content_hash.h"
#include "io/dataset_factory.h"
#include "io/stage_lock.h"
#include "models/spec/vgg_layout.h"

namespace triseg::cli {

namespace {

constexpr const char* kInputRecord = "input.json";

/// Refuses a started or finished stage whose input model changed since it was recorded.
void check_same_input(const RunDir& run, const std::string& out, const TrainingStage& stage) {
    const std::string record_path = out + "/" + kInputRecord;
    const std::string input = run.file(stage.input);
    if (stage.input.empty() || !io::file_exists(record_path) || !io::file_exists(input)) {
        return; // nothing recorded (a folder from an older triseg), or nothing to compare
    }
    std::string recorded;
    try {
        recorded = nlohmann::json::parse(io::read_file(record_path, "", io::kMaxSmallFileBytes))
                       .at("sha256");
    } catch (const nlohmann::json::exception& e) {
        TRISEG_THROW(InputError, "'" << record_path << "' is damaged (" << e.what()
                                     << "); use --force to redo " << stage.command);
    }
    const std::string now = io::sha256_file(input);
    TRISEG_CHECK(now == recorded, ConfigError,
                 "'" << out << "' was trained from another " << stage.input << " (sha256 "
                     << recorded.substr(0, 12) << "..., now " << now.substr(0, 12)
                     << "...): it changed since; use --force to redo " << stage.command
                     << " from the current one");
}

/// Records what the stage is trained from: its input model (when it has one) and every
/// dataset file, by content.
void record_input(const RunDir& run,
                  const std::string& out,
                  const TrainingStage& stage,
                  const io::DatasetSplits& data) {
    nlohmann::json j = {{"data", io::source_lines(data.sources)}};
    if (!stage.input.empty()) {
        j["file"] = stage.input;
        j["sha256"] = io::sha256_file(run.file(stage.input));
    }
    io::write_file_atomic(out + "/" + kInputRecord, j.dump(2) + "\n");
}

/// Refuses to resume a stage whose dataset files changed since it started.
void check_same_data(const std::string& out,
                     const TrainingStage& stage,
                     const io::DatasetSplits& data) {
    const std::string record_path = out + "/" + kInputRecord;
    if (!io::file_exists(record_path)) {
        return; // a folder from a triseg that did not record its data
    }
    std::vector<std::string> recorded;
    try {
        const auto j =
            nlohmann::json::parse(io::read_file(record_path, "", io::kMaxSmallFileBytes));
        if (!j.contains("data")) {
            return;
        }
        recorded = j.at("data").get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
        TRISEG_THROW(InputError, "'" << record_path << "' is damaged (" << e.what()
                                     << "); use --force to redo " << stage.command);
    }
    io::check_same_sources(recorded, data.sources, "'" + out + "' was trained on",
                           "use --force to redo " + stage.command + " on the current data");
}

/// The largest --stop-after: train.epochs and qat.epochs are at most 100000.
constexpr int64_t kMaxEpochs = 100000;

} // namespace

void add_train_options(po::options_description& desc, TrainArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("force,f", po::bool_switch(&args.force),
        "discard this stage's earlier training in the run folder and start over");
    add("quiet,q", po::bool_switch(&args.quiet), "print only the final summary");
    add("stop-after",
        optional_in_range<int64_t>(args.stop_after, "stop-after", 1, kMaxEpochs)->value_name("N"),
        "train at most N >= 1 epochs in this call, then exit 0 with the state in last.pt; "
        "the same command continues (for time-limited batch jobs; without it: all epochs)");
}

int run_training_stage(const TrainArgs& args, const TrainingStage& stage) {
    if (args.stop_after) {
        detail::check_range<int64_t>("--stop-after", *args.stop_after, 1, kMaxEpochs);
    }
    const RunDir run(args.config);
    const auto& cfg = run.config();
    const std::string out = run.file(stage.stage);
    // One process at a time: taken before this stage's state is read or written.
    const io::StageLock lock(out, io::StageLock::Scope::Folder, stage.command);
    const std::string summary_path = out + "/" + engine::TrainFiles::kSummary;
    const bool finished = io::file_exists(summary_path);
    const bool started = io::file_exists(out + "/" + engine::TrainFiles::kState);

    std::vector<RunDir::Guard> guarded = stage.fixed_by_earlier;
    if ((started || finished) && !args.force) {
        guarded.insert(guarded.end(), stage.owns.begin(), stage.owns.end());
    }
    if ((started || finished) && !args.force) {
        check_same_input(run, out, stage);
    }
    if (finished && !args.force) {
        run.update_snapshot(guarded);
        double test_acc = 0.0;
        try {
            test_acc = nlohmann::json::parse(
                           io::read_file(summary_path, "summary", io::kMaxSmallFileBytes))
                           .at("test_acc")
                           .get<double>();
        } catch (const nlohmann::json::exception& e) {
            TRISEG_THROW(InputError, "'" << summary_path << "' is damaged (" << e.what()
                                         << "); use --force to redo " << stage.command);
        }
        std::printf("already trained: %s (test accuracy %.2f%%); use --force to train again\n",
                    summary_path.c_str(), test_acc);
        return 0;
    }
    // Check everything that can fail before anything is written into the run folder.
    engine::resolve_device(cfg.runtime.device);
    if (stage.check_inputs) {
        stage.check_inputs(run);
    }
    const auto data = io::load_dataset(cfg.data, static_cast<uint64_t>(cfg.runtime.seed));
    if (started && !args.force) {
        check_same_data(out, stage, data);
    }
    run.update_snapshot(guarded);
    if (args.force) {
        lock.clear_folder({engine::TrainFiles::kModel, engine::TrainFiles::kState,
                           engine::TrainFiles::kHistory, engine::TrainFiles::kSummary, kInputRecord,
                           "eval_*.json"});
    }
    run.stage_dir(stage.stage);
    if (!started || args.force) {
        record_input(run, out, stage, data);
    }
    if (!args.quiet) {
        std::printf("%s: %s w=%g on %s (%lld train, %lld val, %lld test images) -> %s\n",
                    stage.command.c_str(), models::arch_name(cfg.model.arch).c_str(),
                    cfg.model.width, io::dataset_name(cfg.data.dataset).c_str(),
                    static_cast<long long>(data.train.count),
                    static_cast<long long>(data.val.count), static_cast<long long>(data.test.count),
                    out.c_str());
        std::fflush(stdout);
    }
    const auto summary = stage.train(run, data, out, !args.quiet, args.stop_after.value_or(0));
    if (summary.is_null()) {
        return 0;
    }
    std::printf("done: test accuracy %.2f%% after %lld epochs in %.0f s; model %s/%s\n",
                summary.at("test_acc").get<double>(),
                static_cast<long long>(summary.at("epochs").get<int64_t>()),
                summary.at("wall_seconds").get<double>(), out.c_str(), engine::TrainFiles::kModel);
    return 0;
}

} // namespace triseg::cli
