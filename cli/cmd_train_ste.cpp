// `triseg train-ste`.
#include "cli/cmd_train_ste.h"

#include <chrono>
#include <cstdio>

#include <yaml-cpp/yaml.h>

#include "cli/config/config.h"
#include "cli/run_dir.h"
#include "cli/ste_setup.h"
#include "common/error.h"
#include "common/shell_quote.h"
#include "common/stop_signal.h"
#include "engine/int8/int8_network.h"
#include "engine/train/device.h"
#include "engine/train/ste_trainer.h"
#include "engine/train/train_loop.h"
#include "io/atomic_file.h"
#include "io/content_hash.h"
#include "io/dataset_factory.h"
#include "io/h5_int8_model.h"
#include "io/result_file.h"
#include "io/stage_lock.h"
#include "search/driver/driver_json.h"

namespace triseg::cli {

namespace {

constexpr const char* kSummary =
    "The supervised STE baseline (seed document 2.2): a differentiable tri-segment module at\n"
    "every approximation point of the run's fake-quant network (qat/model.pt, weights frozen;\n"
    "any model.arch: a VGG's block outputs, a ResNet's or MobileNetV2's ReLU and ReLU6\n"
    "outputs) learns t1, t2, tmax, v1 and v2 per point with Adam on loss = KD - ste.alpha *\n"
    "coverage against the INT8 teacher's logits, over the training images minus the search's\n"
    "held-out subset. The forward pass is the hard map of the STE-rounded codes; the backward\n"
    "pass goes through soft sigmoid gates at temperature\n"
    "max(ste.beta_min, ste.beta0 * ste.beta_decay^(e-1)) (--variant original) or is\n"
    "LSQ-style, gradient-scaled (--variant lsq; docs/search.md).\n"
    "Starts at the ste.init_percentile of each layer's codes (t1 = 0.35 tmax, t2 = 0.7 tmax),\n"
    "or at a result.json's codes with --init. Writes <out>/{result.json (search-result format),\n"
    "init.json, eval_test.json, eval_init_test.json, history.jsonl, metrics.jsonl, last.pt};\n"
    "resumable after the last finished epoch, SIGTERM/SIGINT/SIGUSR1 stop it cleanly (130).";

constexpr const char* kKey = "ste_key.json";
constexpr const char* kData = "data.json";
constexpr const char* kInit = "init.json";
constexpr const char* kResult = "result.json";
constexpr const char* kEvalTest = "eval_test.json";
constexpr const char* kEvalInitTest = "eval_init_test.json";

using Clock = std::chrono::steady_clock;

/// What the folder's training depends on: the config parts train-ste reads, the models and
/// the --init file, by content.
nlohmann::json ste_key(const RunConfig& cfg,
                       const std::string& int8_model,
                       const std::string& qat_model,
                       const std::string& init_file) {
    const YAML::Node root = YAML::Load(to_yaml(cfg));
    auto text = [](const YAML::Node& n) {
        YAML::Emitter out;
        out << n;
        return std::string(out.c_str());
    };
    nlohmann::json key;
    for (const char* section : {"data", "model", "ste"}) {
        key[section] = text(root[section]);
    }
    key["runtime.seed"] = cfg.runtime.seed;
    key["approx.temperature"] = cfg.approx.temperature;
    for (const char* k : {"reward_images", "reward_split", "eval_images", "eval_split"}) {
        key[std::string("search.") + k] = text(root["search"][k]);
    }
    key["int8_model"] = io::sha256_file(int8_model);
    key["qat_model"] = io::sha256_file(qat_model);
    key["init"] = init_file.empty() ? std::string("percentile") : io::sha256_file(init_file);
    return key;
}

/// Refuses to continue a folder trained with another key (naming what differs).
void check_key(const std::string& out, const nlohmann::json& key) {
    const std::string path = out + "/" + kKey;
    if (!io::file_exists(path)) {
        io::write_file_atomic(path, key.dump(2) + "\n");
        return;
    }
    const auto old =
        nlohmann::json::parse(io::read_file(path, "", io::kMaxSmallFileBytes), nullptr, false);
    std::vector<std::string> differ;
    for (const auto& [k, v] : key.items()) {
        if (old.is_discarded() || !old.contains(k) || old[k] != v) {
            differ.push_back(k);
        }
    }
    TRISEG_CHECK(differ.empty(), ConfigError,
                 "'" << out << "' holds train-ste state made with another " << detail::join(differ)
                     << "; use --force to train again there, or another --out");
}

/// Records the dataset files (by content) on the first call in a folder; refuses to resume on
/// a later call when they changed.
void check_data(const std::string& out, const io::DatasetSplits& data) {
    const std::string path = out + "/" + kData;
    if (!io::file_exists(path)) {
        const nlohmann::json j = {{"data", io::source_lines(data.sources)}};
        io::write_file_atomic(path, j.dump(2) + "\n");
        return;
    }
    std::vector<std::string> recorded;
    try {
        recorded = nlohmann::json::parse(io::read_file(path, "", io::kMaxSmallFileBytes))
                       .at("data")
                       .get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
        TRISEG_THROW(InputError, "'" << path << "' is damaged (" << e.what()
                                     << "); use --force to train again");
    }
    io::check_same_sources(recorded, data.sources, "'" + out + "' was trained on",
                           "use --force to train again on the current data");
}

void write_result(const std::string& path,
                  const engine::SteTrainer& trainer,
                  const SteSetup& setup,
                  const RunConfig& cfg,
                  const SteScores& final,
                  const SteScores& start,
                  const nlohmann::json& summary,
                  const std::string& int8_model) {
    io::ResultFile r;
    r.layer_names = setup.layer_names;
    r.codes = trainer.codes();
    r.selection = "final codes after " + std::to_string(cfg.ste.epochs) + " epochs of train-ste";
    r.metrics = {{"acc_teacher", final.holdout.acc_teacher},
                 {"acc_student", final.holdout.acc_student},
                 {"acc_drop", final.holdout.acc_drop()}};
    const std::string variant = engine::variant_name(cfg.ste.variant);
    r.extra = {{"method", "ste-" + variant},
               {"variant", variant},
               {"seed", cfg.runtime.seed},
               {"epochs", cfg.ste.epochs},
               {"model", int8_model},
               {"temperature", cfg.approx.temperature},
               {"init", setup.init},
               {"init_adjusted_layers", setup.adjusted},
               {"init_codes", search::detail::codes_json(trainer.start_codes())},
               {"init_reward", search::detail::fitness_json(start.reward)},
               {"init_holdout", search::detail::fitness_json(start.holdout)},
               {"codes_moved", engine::codes_moved(r.codes, trainer.start_codes())},
               {"codes_total", 5 * static_cast<int64_t>(r.codes.layers.size())},
               {"reward", search::detail::fitness_json(final.reward)},
               {"holdout", search::detail::fitness_json(final.holdout)},
               {"reward_set", setup.sets.reward.source},
               {"holdout_set", setup.sets.holdout.source},
               {"train_images", setup.data.train.count},
               {"train_set", setup.train_source},
               {"wall_seconds", summary.value("wall_seconds", 0.0)},
               {"evaluations", 0}};
    io::write_result_file(r, path);
}

} // namespace

void add_train_ste_options(po::options_description& desc, TrainSteArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("variant", po::value(&args.variant)->value_name("NAME"),
        "original (the seed document's soft-gate backward) or lsq (gradient-scaled, LSQ-style); "
        "sets ste.variant");
    add("init", po::value(&args.init)->value_name("FILE"),
        "start from the codes of a result.json for this model (e.g. a lloyd search's) instead "
        "of the ste.init_percentile start");
    add("out,o", po::value(&args.out)->value_name("DIR"),
        "output folder (default: <run-dir>/ste/<variant>-seed<runtime.seed>)");
    add("force,f", po::bool_switch(&args.force),
        "discard what this folder holds (training state and results) and train again");
    add("quiet,q", po::bool_switch(&args.quiet), "print only the final summary");
    add("stop-after",
        optional_in_range<int64_t>(args.stop_after, "stop-after", 1, 1000)->value_name("N"),
        "train at most N epochs in this call, then stop; run again to continue");
}

int run_train_ste(const TrainSteArgs& args) {
    const StopSignal signals; // a signal stops at the next batch; last.pt keeps the epoch
    ConfigArgs config_args = args.config;
    if (!args.variant.empty()) {
        TRISEG_CHECK(args.variant == "original" || args.variant == "lsq", ConfigError,
                     "--variant must be original or lsq, got '" << args.variant << "'");
        config_args.sets.push_back("ste.variant=" + args.variant);
    }
    const RunDir run(config_args);
    const auto& cfg = run.config();
    const std::string variant = engine::variant_name(cfg.ste.variant);
    const std::string int8_model = run.file(RunDir::kInt8Model);
    const std::string qat_model = run.file("qat/model.pt");
    TRISEG_CHECK(io::file_exists(int8_model), IoError,
                 "train-ste needs the integer model '" << int8_model << "' (its logits are the "
                                                       << "teacher); run `triseg export-int8 "
                                                       << "--run-dir " << shell_quote(run.path())
                                                       << "` first");
    TRISEG_CHECK(io::file_exists(qat_model), IoError,
                 "train-ste needs the QAT model '" << qat_model << "' (the student); run `triseg "
                                                   << "train-qat --run-dir "
                                                   << shell_quote(run.path()) << "` first");
    TRISEG_CHECK(args.init.empty() || io::file_exists(args.init), IoError,
                 "--init file '" << args.init << "' does not exist");
    const std::string out =
        args.out.empty() ? run.file("ste/" + variant + "-seed" + std::to_string(cfg.runtime.seed))
                         : args.out;
    if (args.out.empty()) { // <run-dir>/ste must be a folder, not a planted link
        run.stage_dir("ste");
    }
    const io::StageLock lock(out, io::StageLock::Scope::Folder, "train-ste");
    if (args.force) {
        lock.clear_folder({kKey, kData, kInit, kResult, kEvalTest, kEvalInitTest, RunDir::kSnapshot,
                           engine::SteFiles::kHistory, engine::TrainFiles::kModel,
                           engine::TrainFiles::kState, engine::TrainFiles::kHistory,
                           engine::TrainFiles::kSummary});
    }
    const auto key = ste_key(cfg, int8_model, qat_model, args.init);
    check_key(out, key);
    if (io::file_exists(out + "/" + kResult)) {
        std::printf("already trained: %s/%s; use --force to train again\n", out.c_str(), kResult);
        return 0;
    }
    io::write_file_atomic(out + "/" + RunDir::kSnapshot, to_yaml(cfg));

    const auto start_time = Clock::now();
    const int threads = static_cast<int>(engine::configure_threads(cfg.runtime.threads));
    const engine::Int8Network net = engine::load_int8_network(int8_model);
    TRISEG_CHECK(net.model_options() == cfg.model, ConfigError,
                 "the integer model '" << int8_model << "' was exported from another model "
                                       << "config than the run's `model:` section");
    const bool verbose = !args.quiet;
    if (verbose) {
        std::printf("train-ste (%s): quantizing the training images and running the teacher...\n",
                    variant.c_str());
        std::fflush(stdout);
    }
    const SteSetup setup = make_ste_setup(cfg, net, args.init, threads);
    check_data(out, setup.data);
    if (verbose) {
        std::printf("%s; start: %s\n", setup.train_source.c_str(), setup.init.c_str());
        std::fflush(stdout);
        for (const auto& name : setup.adjusted) {
            std::printf("note: the --init codes of %s are outside what the parametrization can "
                        "express (1 <= t1, gaps >= 1); it starts at the nearest it can\n",
                        name.c_str());
        }
    }
    engine::SteTrainer trainer(run.config().train_config(), cfg.ste, setup.data, setup.teacher,
                               qat_model, setup.layer_names, setup.start, out, verbose);
    const auto summary =
        trainer.run(args.stop_after.value_or(0), [] { return StopSignal::received() != 0; });
    io::ResultFile init;
    init.layer_names = setup.layer_names;
    init.codes = trainer.start_codes();
    init.selection = "train-ste start: " + setup.init;
    init.extra = {{"method", "ste-init"}, {"seed", cfg.runtime.seed}};
    io::write_result_file(init, out + "/" + kInit);
    if (trainer.stopped_early()) {
        std::fprintf(stderr,
                     "train-ste: interrupted by %s; %s/last.pt keeps the last finished epoch; run "
                     "the same command again to resume\n",
                     StopSignal::name(StopSignal::received()), out.c_str());
        return static_cast<int>(ExitCode::Interrupted);
    }
    if (summary.is_null()) {
        return 0; // --stop-after: TrainLoop said so
    }
    if (verbose) {
        std::printf("scoring the start and the final codes with the integer model...\n");
        std::fflush(stdout);
    }
    const auto final_scores = score_ste_codes(cfg, net, setup, trainer.codes(), threads);
    const auto start_scores = score_ste_codes(cfg, net, setup, trainer.start_codes(), threads);
    auto test = final_scores.test;
    test["codes_source"] = out + "/" + kResult;
    io::write_file_atomic(out + "/" + kEvalTest, test.dump(2) + "\n");
    auto init_test = start_scores.test;
    init_test["codes_source"] = out + "/" + kInit;
    io::write_file_atomic(out + "/" + kEvalInitTest, init_test.dump(2) + "\n");
    write_result(out + "/" + kResult, trainer, setup, cfg, final_scores, start_scores, summary,
                 int8_model);
    const double wall = std::chrono::duration<double>(Clock::now() - start_time).count();
    std::printf("train-ste %s seed %lld: %lld of %lld codes moved from the start; test drop "
                "%.2f (start %.2f), KD %.4f (start %.4f); held-out drop %.2f; %.0f s\n"
                "wrote %s/%s\n",
                variant.c_str(), static_cast<long long>(cfg.runtime.seed),
                static_cast<long long>(engine::codes_moved(trainer.codes(), trainer.start_codes())),
                static_cast<long long>(5 * setup.layer_names.size()), test.value("acc_drop", 0.0),
                init_test.value("acc_drop", 0.0), test.value("kd_loss", 0.0),
                init_test.value("kd_loss", 0.0), final_scores.holdout.acc_drop(), wall, out.c_str(),
                kResult);
    return 0;
}

int main_train_ste(const std::vector<std::string>& argv) {
    return parse_and_run<TrainSteArgs>("train-ste", kSummary, add_train_ste_options, run_train_ste,
                                       argv);
}

} // namespace triseg::cli
