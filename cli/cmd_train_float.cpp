// `triseg train-float`.
#include "cli/cmd_train_float.h"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/run_dir.h"
#include "common/error.h"
#include "engine/device.h"
#include "engine/float_trainer.h"
#include "io/atomic_file.h"
#include "io/dataset_factory.h"
#include "models/vgg_layout.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Train the float VGG of the config (SGD, momentum, cosine learning rate) and test it after\n"
    "every epoch. Writes <run-dir>/config.yaml and <run-dir>/float/{model.pt, last.pt,\n"
    "metrics.jsonl, metrics.json}. Re-running the same command resumes after the last\n"
    "finished epoch; a finished run is left as it is unless --force.";
} // namespace

void add_train_float_options(po::options_description& desc, TrainFloatArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("force,f", po::bool_switch(&args.force),
        "discard an earlier training in this run folder and start over");
    add("quiet,q", po::bool_switch(&args.quiet), "print only the final summary");
    add("stop-after", po::value(&args.stop_after)->value_name("N"),
        "train at most N epochs in this call, then exit 0 with the state in float/last.pt; "
        "the same command continues (for time-limited batch jobs)");
}

int run_train_float(const TrainFloatArgs& args) {
    const RunDir run(args.config);
    const auto& cfg = run.config();
    const std::string out = run.file("float");
    const std::string summary_path = out + "/" + engine::FloatTrainFiles::kSummary;
    if (args.force) {
        std::filesystem::remove_all(out);
    } else if (io::file_exists(summary_path)) {
        run.write_snapshot(false);
        const auto summary = nlohmann::json::parse(io::read_file(summary_path));
        std::printf("already trained: %s (test accuracy %.2f%%); use --force to train again\n",
                    summary_path.c_str(), summary.at("test_acc").get<double>());
        return 0;
    }
    // Check everything that can fail before anything is written into the run folder.
    engine::resolve_device(cfg.runtime.device);
    const auto data = io::load_dataset(cfg.data, static_cast<uint64_t>(cfg.runtime.seed));
    // A snapshot without a training state protects nothing: a new config may replace it.
    const bool started = io::file_exists(out + "/" + engine::FloatTrainFiles::kState);
    run.write_snapshot(args.force || !started);
    run.stage_dir("float");
    if (!args.quiet) {
        std::printf("train-float: %s w=%g on %s (%lld train, %lld val, %lld test images) -> %s\n",
                    models::arch_name(cfg.model.arch).c_str(), cfg.model.width,
                    io::dataset_name(cfg.data.dataset).c_str(),
                    static_cast<long long>(data.train.count),
                    static_cast<long long>(data.val.count), static_cast<long long>(data.test.count),
                    out.c_str());
        std::fflush(stdout);
    }
    engine::FloatTrainer trainer(cfg, data, out, !args.quiet);
    TRISEG_CHECK(args.stop_after >= 0, ConfigError,
                 "--stop-after must be >= 0, got " << args.stop_after);
    const auto summary = trainer.run(args.stop_after);
    if (summary.is_null()) {
        return 0;
    }
    std::printf("done: test accuracy %.2f%% after %lld epochs in %.0f s; model %s/%s\n",
                summary.at("test_acc").get<double>(),
                static_cast<long long>(summary.at("epochs").get<int64_t>()),
                summary.at("wall_seconds").get<double>(), out.c_str(),
                engine::FloatTrainFiles::kModel);
    return 0;
}

int main_train_float(const std::vector<std::string>& argv) {
    TrainFloatArgs args;
    po::options_description desc("Options");
    add_train_float_options(desc, args);
    if (!parse_command_line("train-float", kSummary, desc, argv)) {
        return 0;
    }
    return run_train_float(args);
}

} // namespace triseg::cli
