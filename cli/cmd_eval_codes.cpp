// `triseg eval-codes`.
#include "cli/cmd_eval_codes.h"

#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/run_dir.h"
#include "common/error.h"
#include "common/shell_quote.h"
#include "engine/int8/codes_report.h"
#include "engine/int8/int8_inputs.h"
#include "engine/int8/int8_network.h"
#include "engine/train/batching.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "io/dataset_factory.h"
#include "io/result_file.h"
#include "io/stage_lock.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Apply tri-segment codes (a result.json in the original's format, or the built-in evenly\n"
    "spaced set) at every block output of the run's integer model and measure them on the\n"
    "whole test split: teacher and student accuracy, drop, agreement, the KD loss at\n"
    "approx.temperature (kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T^2), the share\n"
    "of all block output codes covered (<= tmax) and changed, and per layer the fraction of\n"
    "codes covered, changed, zeroed, and zero before/after. Prints a table and\n"
    "writes JSON (default: <search folder>/eval_<split>.json for a search's result.json,\n"
    "else <run-dir>/codes/eval_<name>.json).";
} // namespace

void add_eval_codes_options(po::options_description& desc, EvalCodesArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("codes", po::value(&args.codes)->value_name("FILE"),
        "result.json with layers.<name>.{t1_code, v1_code, t2_code, v2_code, tmax_code} (any "
        "valid tri-segment map: 0 <= t1 <= t2 <= tmax <= 255, v1 and v2 in [0, 255]), or a "
        "search's front.json with --point");
    add("point", po::value(&args.point)->value_name("N"),
        "with --codes front.json (nsga2's accuracy-coverage front): evaluate its point N "
        "(0-based; report default <run-dir>/codes/eval_<name>_point<N>.json)");
    add("evenly-spaced", po::bool_switch(&args.evenly_spaced),
        "use the built-in evenly spaced codes for approx.tmax at every layer (also written as "
        "<run-dir>/codes/evenly-spaced.json)");
    add("model,m", po::value(&args.model)->value_name("FILE"),
        "integer model (default: <run-dir>/int8/model.h5)");
    add("out,o", po::value(&args.out)->value_name("FILE"),
        "report JSON (default: eval_<split>.json next to a search's result.json, so each search "
        "folder keeps its own, e.g. search/ppo-seed3/eval_test.json, which `report` reads; for "
        "other codes files <run-dir>/codes/eval_<codes file name>.json)");
    add("split", po::value(&args.split)->value_name("NAME")->default_value("test"),
        "test, or val (needs data.val_size > 0)");
}

int run_eval_codes(const EvalCodesArgs& args) {
    TRISEG_CHECK(args.codes.empty() != !args.evenly_spaced, ConfigError,
                 "give exactly one of --codes FILE and --evenly-spaced");
    TRISEG_CHECK(args.point >= -1 && (args.point == -1 || !args.codes.empty()), ConfigError,
                 "--point needs --codes FRONT.json and a point number >= 0, got " << args.point);
    TRISEG_CHECK(args.split == "test" || args.split == "val", ConfigError,
                 "--split must be test or val, got '" << args.split << "'");
    const RunDir run(args.config);
    const auto& cfg = run.config();
    const std::string model_path = args.model.empty() ? run.file(RunDir::kInt8Model) : args.model;
    TRISEG_CHECK(io::file_exists(model_path), IoError,
                 "integer model '" << model_path << "' does not exist; run `triseg export-int8 "
                                   << "--run-dir " << shell_quote(run.path()) << "` first");
    engine::Int8Network net = engine::load_int8_network(model_path);
    std::vector<std::string> names;
    for (const auto& l : net.model().convs) {
        names.push_back(l.name);
    }

    io::ResultFile codes;
    std::string name;
    if (args.evenly_spaced) {
        codes.layer_names = names;
        codes.codes.layers.assign(
            names.size(), engine::evenly_spaced_codes(static_cast<int32_t>(cfg.approx.tmax)));
        for (size_t i = 0; i < names.size(); ++i) {
            engine::validate_codes(codes.codes.layers[i], names[i]);
        }
        codes.selection =
            "built-in evenly spaced levels (tmax " + std::to_string(cfg.approx.tmax) + ")";
        codes.extra["method"] = "evenly-spaced";
        name = "evenly-spaced";
    } else {
        codes = io::read_result_file(args.codes, names, args.point);
        name = std::filesystem::path(args.codes).stem().string();
        if (args.point >= 0) {
            name += "_point" + std::to_string(args.point);
        }
    }
    const std::string dir = run.file("codes");
    std::string out = args.out.empty() ? dir + "/eval_" + name + ".json" : args.out;
    if (args.out.empty() && !args.codes.empty() && args.point < 0 &&
        std::filesystem::path(args.codes).filename() == "result.json") {
        // A search's result: its evaluation lives in its own folder (what `report` reads), so
        // the seeds and methods of a sweep never overwrite each other.
        const auto folder = std::filesystem::path(args.codes).parent_path();
        out = (folder.empty() ? std::filesystem::path(".") : folder).string() + "/eval_" +
              args.split + ".json";
    }
    const io::StageLock lock(out, io::StageLock::Scope::File, "eval-codes");
    std::optional<io::StageLock> builtin_lock;
    if (args.evenly_spaced) {
        builtin_lock.emplace(dir + "/evenly-spaced.json", io::StageLock::Scope::File, "eval-codes");
    }

    const int threads = static_cast<int>(engine::configure_threads(cfg.runtime.threads));
    const auto data = io::load_dataset(cfg.data, static_cast<uint64_t>(cfg.runtime.seed));
    const auto& set = args.split == "test" ? data.test : data.val;
    TRISEG_CHECK(set.count > 0, ConfigError,
                 "the " << args.split << " split is empty (set data.val_size > 0 for val)");
    const auto opts = io::make_loader_options(cfg.data, data, cfg.train.eval_batch_size, false,
                                              static_cast<uint64_t>(cfg.runtime.seed));
    const auto inputs = engine::quantize_dataset(net, set, opts);
    const auto report =
        engine::evaluate_codes(net, inputs, names, codes.codes, cfg.approx.temperature, threads);
    std::printf("%s", report.table().c_str());

    if (args.evenly_spaced) {
        codes.metrics = {{"acc_teacher", report.acc_teacher()},
                         {"acc_student", report.acc_student()},
                         {"acc_drop", report.acc_drop()}};
        io::write_result_file(codes, dir + "/evenly-spaced.json");
    }
    nlohmann::json j = report.to_json();
    j["codes_source"] = args.evenly_spaced ? std::string("evenly-spaced") : args.codes;
    if (args.point >= 0) {
        j["point"] = args.point;
    }
    j["model"] = model_path;
    j["split"] = set.name;
    io::write_file_atomic(out, j.dump(2) + "\n");
    std::printf("wrote %s\n", out.c_str());
    return 0;
}

int main_eval_codes(const std::vector<std::string>& argv) {
    return parse_and_run<EvalCodesArgs>("eval-codes", kSummary, add_eval_codes_options,
                                        run_eval_codes, argv);
}

} // namespace triseg::cli
