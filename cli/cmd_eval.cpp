// `triseg eval`.
#include "cli/cmd_eval.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/run_dir.h"
#include "common/error.h"
#include "common/shell_quote.h"
#include "engine/train/batching.h"
#include "engine/train/classifier_eval.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "io/dataset_factory.h"
#include "io/stage_lock.h"
#include "models/checkpoint.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Evaluate a float checkpoint (by default <run-dir>/float/model.pt) on a split of the\n"
    "run's dataset. Prints accuracy and loss and writes <run-dir>/float/eval_<split>.json.\n"
    "The run's config.yaml is used unless --config is given; --set can change data.* keys\n"
    "(e.g. --set data.test_limit=1000).";
} // namespace

void add_eval_options(po::options_description& desc, EvalArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("checkpoint", po::value(&args.checkpoint)->value_name("FILE"),
        "float checkpoint to evaluate (default: <run-dir>/float/model.pt)");
    add("split", po::value(&args.split)->value_name("NAME")->default_value("test"),
        "test, val (needs data.val_size > 0) or train (without augmentation)");
}

int run_eval(const EvalArgs& args) {
    TRISEG_CHECK(args.split == "test" || args.split == "val" || args.split == "train", ConfigError,
                 "--split must be one of test, val, train; got '" << args.split << "'");
    const RunDir run(args.config);
    const auto& cfg = run.config();
    const std::string checkpoint =
        args.checkpoint.empty() ? run.file("float/model.pt") : args.checkpoint;
    TRISEG_CHECK(io::file_exists(checkpoint), IoError,
                 "checkpoint '" << checkpoint << "' does not exist; run `triseg train-float "
                                << "--run-dir " << shell_quote(run.path())
                                << "` first or pass --checkpoint");
    const std::string path = run.file("float/eval_" + args.split + ".json");
    const io::StageLock lock(path, io::StageLock::Scope::File, "eval");
    const auto device = engine::resolve_device(cfg.runtime.device);
    engine::configure_threads(cfg.runtime.threads);
    auto model = models::load_float_net(checkpoint);
    model->to(device);

    const auto data = io::load_dataset(cfg.data, static_cast<uint64_t>(cfg.runtime.seed));
    const io::ImageDataset& set =
        args.split == "test" ? data.test : (args.split == "val" ? data.val : data.train);
    TRISEG_CHECK(set.count > 0, ConfigError,
                 "the " << args.split << " split is empty (set data.val_size > 0 for val)");
    TRISEG_CHECK(set.channels == model->options().in_channels &&
                     cfg.data.image_size == model->options().image_size,
                 InputError,
                 "checkpoint '" << checkpoint << "' expects " << model->options().in_channels
                                << "-channel " << model->options().image_size << "px images but '"
                                << set.name << "' has " << set.channels << " channel(s) at "
                                << cfg.data.image_size << "px");
    const auto opts = io::make_loader_options(cfg.data, data, cfg.train.eval_batch_size, false,
                                              static_cast<uint64_t>(cfg.runtime.seed));
    const auto m = engine::evaluate_classifier(*model, set, opts, device, "eval " + args.split);

    nlohmann::json out = m.to_json();
    out["split"] = args.split;
    out["checkpoint"] = checkpoint;
    out["dataset"] = set.name;
    out["images_per_s"] = m.seconds > 0 ? static_cast<double>(m.count) / m.seconds : 0.0;
    io::write_file_atomic(path, out.dump(2) + "\n");
    std::printf("%-10s %8s %10s %8s %10s\n", "split", "images", "accuracy", "loss", "img/s");
    std::printf("%-10s %8lld %9.2f%% %8.4f %10.0f\n", args.split.c_str(),
                static_cast<long long>(m.count), m.accuracy(), m.loss,
                out["images_per_s"].get<double>());
    std::printf("wrote %s\n", path.c_str());
    return 0;
}

int main_eval(const std::vector<std::string>& argv) {
    return parse_and_run<EvalArgs>("eval", kSummary, add_eval_options, run_eval, argv);
}

} // namespace triseg::cli
