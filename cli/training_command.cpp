// Shared flow of the training commands.
#include "cli/training_command.h"

#include <cstdio>
#include <filesystem>

#include "common/error.h"
#include "common/option_checks.h"
#include "engine/device.h"
#include "engine/sgd_trainer.h"
#include "io/atomic_file.h"
#include "models/vgg_layout.h"

namespace triseg::cli {

namespace {

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
    const std::string summary_path = out + "/" + engine::TrainFiles::kSummary;
    const bool finished = io::file_exists(summary_path);
    const bool started = io::file_exists(out + "/" + engine::TrainFiles::kState);

    std::vector<RunDir::Guard> guarded = stage.requires;
    if ((started || finished) && !args.force) {
        guarded.insert(guarded.end(), stage.owns.begin(), stage.owns.end());
    }
    if (finished && !args.force) {
        run.update_snapshot(guarded);
        const auto summary = nlohmann::json::parse(io::read_file(summary_path));
        std::printf("already trained: %s (test accuracy %.2f%%); use --force to train again\n",
                    summary_path.c_str(), summary.at("test_acc").get<double>());
        return 0;
    }
    // Check everything that can fail before anything is written into the run folder.
    engine::resolve_device(cfg.runtime.device);
    if (stage.check_inputs) {
        stage.check_inputs(run);
    }
    const auto data = io::load_dataset(cfg.data, static_cast<uint64_t>(cfg.runtime.seed));
    run.update_snapshot(guarded);
    if (args.force) {
        std::filesystem::remove_all(out);
    }
    run.stage_dir(stage.stage);
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
