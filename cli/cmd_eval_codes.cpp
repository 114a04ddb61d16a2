// `triseg eval-codes`.
#include "cli/cmd_eval_codes.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/run_dir.h"
#include "common/error.h"
#include "common/progress.h"
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
    "else <run-dir>/codes/eval_<name>.json).\n\n"
    "With --codes front.json --all-points it measures every point of a search's front in one\n"
    "run (the split quantized once, the teacher run once): one line per point (covered,\n"
    "coverage, student accuracy, drop, KD loss), and eval_front_<split>.json beside\n"
    "front.json (`triseg report` reads eval_front_test.json: the search's front on the test\n"
    "set).";

/// "32" when every layer has that tmax, else "20-40" (smallest-largest).
std::string tmax_range(const engine::CodeSet& codes) {
    int32_t lo = 255;
    int32_t hi = 0;
    for (const auto& l : codes.layers) {
        lo = std::min(lo, l.tmax);
        hi = std::max(hi, l.tmax);
    }
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

/// The effective split's images as integer codes, and its name ("fashion-mnist/test").
struct SplitInputs {
    engine::Int8Inputs inputs;
    std::string name;
};

/// Loads and quantizes `split` of the run's dataset for `net`.
/// @throws ConfigError when the split is empty.
SplitInputs
load_split(const RunConfig& cfg, const engine::Int8Network& net, const std::string& split) {
    const auto data = io::load_dataset(cfg.data, static_cast<uint64_t>(cfg.runtime.seed));
    const auto& set = split == "test" ? data.test : data.val;
    TRISEG_CHECK(set.count > 0, ConfigError,
                 "the " << split << " split is empty (set data.val_size > 0 for val)");
    const auto opts = io::make_loader_options(cfg.data, data, cfg.train.eval_batch_size, false,
                                              static_cast<uint64_t>(cfg.runtime.seed));
    return {engine::quantize_dataset(net, set, opts), set.name};
}

/// --all-points: every point of the front at `args.codes`, one teacher pass for all.
int run_all_points(const EvalCodesArgs& args,
                   const RunDir& run,
                   const engine::Int8Network& net,
                   const std::vector<std::string>& names,
                   const std::string& model_path) {
    const auto& cfg = run.config();
    const io::FrontFile front = io::read_front_file(args.codes, names);
    std::string out = args.out;
    if (out.empty()) {
        const auto folder = std::filesystem::path(args.codes).parent_path();
        out = (folder.empty() ? std::filesystem::path(".") : folder).string() + "/eval_front_" +
              args.split + ".json";
    }
    const io::StageLock lock(out, io::StageLock::Scope::File, "eval-codes");

    const int threads = static_cast<int>(engine::configure_threads(cfg.runtime.threads));
    const SplitInputs split = load_split(cfg, net, args.split);
    const std::vector<float> teacher = engine::teacher_logits(net, split.inputs, threads);
    const auto n = static_cast<int64_t>(front.points.size());
    std::printf("%s: %lld points on %s (%lld images)\n", args.codes.c_str(),
                static_cast<long long>(n), split.name.c_str(),
                static_cast<long long>(split.inputs.count));

    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    double acc_teacher = 0.0;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) {
        const auto& codes = front.points[static_cast<size_t>(i)].codes;
        const auto report = engine::evaluate_codes(net, split.inputs, names, codes,
                                                   cfg.approx.temperature, threads, teacher);
        // The numbers as `--point i` writes them (to_json), so both give the same values.
        const nlohmann::json j = report.to_json();
        acc_teacher = j.at("acc_teacher").get<double>();
        nlohmann::ordered_json tmax = nlohmann::ordered_json::array();
        for (const auto& l : codes.layers) {
            tmax.push_back(l.tmax);
        }
        points.push_back({{"point", i},
                          {"tmax", tmax},
                          {"covered", j.at("covered")},
                          {"coverage", j.at("coverage")},
                          {"acc_student", j.at("acc_student")},
                          {"acc_drop", j.at("acc_drop")},
                          {"kd_loss", j.at("kd_loss")},
                          {"agreement", j.at("agreement")}});
        // Progress on the line itself: a point takes one student pass over the split.
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double eta = elapsed / static_cast<double>(i + 1) * static_cast<double>(n - i - 1);
        std::printf("[%lld/%lld] point %lld  tmax %s  covered %.2f%%  coverage %.2f%%  student "
                    "%.2f%%  drop %.2f points  KD %.5f  (%s, ETA %s)\n",
                    static_cast<long long>(i + 1), static_cast<long long>(n),
                    static_cast<long long>(i), tmax_range(codes).c_str(), 100 * report.covered(),
                    100 * report.coverage(), report.acc_student(), report.acc_drop(),
                    report.kd_loss(), ProgressBar::format_duration(elapsed).c_str(),
                    ProgressBar::format_duration(eta).c_str());
        std::fflush(stdout);
    }
    std::printf("teacher %.2f%%; drop in accuracy points against it, covered = share of block "
                "output codes <= tmax, coverage = share the tables change\n",
                acc_teacher);

    const std::string space =
        front.info.contains("space") && front.info["space"].is_string()
            ? front.info["space"].get<std::string>()
            : std::string("codes"); // fronts written before the field existed search codes
    nlohmann::ordered_json doc = {
        {"codes_source", args.codes}, {"model", model_path}, {"split", split.name}};
    for (const char* key : {"method", "seed"}) {
        if (front.info.contains(key)) {
            doc[key] = nlohmann::ordered_json::parse(front.info[key].dump());
        }
    }
    doc["space"] = space;
    doc["images"] = split.inputs.count;
    doc["temperature"] = cfg.approx.temperature;
    doc["acc_teacher"] = acc_teacher;
    doc["points"] = points;
    io::write_file_atomic(out, doc.dump(2) + "\n");
    std::printf("wrote %s\n", out.c_str());
    return 0;
}
} // namespace

void add_eval_codes_options(po::options_description& desc, EvalCodesArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("codes", po::value(&args.codes)->value_name("FILE"),
        "result.json with layers.<name>.{t1_code, v1_code, t2_code, v2_code, tmax_code} (any "
        "valid tri-segment map: 0 <= t1 <= t2 <= tmax <= 255, v1 and v2 in [0, 255]), or a "
        "search's front.json with --point or --all-points");
    add("point", po::value(&args.point)->value_name("N"),
        "with --codes front.json (a search's accuracy-coverage front): evaluate its point N "
        "(0-based; report default <run-dir>/codes/eval_<name>_point<N>.json)");
    add("all-points", po::bool_switch(&args.all_points),
        "with --codes front.json: evaluate every point of the front in one run (one line per "
        "point; report default eval_front_<split>.json beside front.json: codes_source, model, "
        "split, method, seed, space, images, temperature, acc_teacher and points[].{point, tmax, "
        "covered, coverage, acc_student, acc_drop, kd_loss, agreement}); not with --point");
    add("evenly-spaced", po::bool_switch(&args.evenly_spaced),
        "use the built-in evenly spaced codes for approx.tmax at every layer (also written as "
        "<run-dir>/codes/evenly-spaced.json)");
    add("model,m", po::value(&args.model)->value_name("FILE"),
        "integer model (default: <run-dir>/int8/model.h5)");
    add("out,o", po::value(&args.out)->value_name("FILE"),
        "report JSON (default: eval_<split>.json next to a search's result.json, so each search "
        "folder keeps its own, e.g. search/ppo-seed3/eval_test.json, which `report` reads; "
        "eval_front_<split>.json next to front.json with --all-points; for other codes files "
        "<run-dir>/codes/eval_<codes file name>.json)");
    add("split", po::value(&args.split)->value_name("NAME")->default_value("test"),
        "test, or val (needs data.val_size > 0)");
}

int run_eval_codes(const EvalCodesArgs& args) {
    TRISEG_CHECK(args.codes.empty() != !args.evenly_spaced, ConfigError,
                 "give exactly one of --codes FILE and --evenly-spaced");
    TRISEG_CHECK(args.point >= -1 && (args.point == -1 || !args.codes.empty()), ConfigError,
                 "--point needs --codes FRONT.json and a point number >= 0, got " << args.point);
    TRISEG_CHECK(!args.all_points || args.point == -1, ConfigError,
                 "--all-points and --point exclude each other: --all-points evaluates every "
                 "point of the front, --point N only point N");
    TRISEG_CHECK(!args.all_points || !args.codes.empty(), ConfigError,
                 "--all-points needs --codes FRONT.json (a search's front.json)");
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
    names = net.layer_names();

    if (args.all_points) {
        return run_all_points(args, run, net, names, model_path);
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
    const SplitInputs split = load_split(cfg, net, args.split);
    const auto report = engine::evaluate_codes(net, split.inputs, names, codes.codes,
                                               cfg.approx.temperature, threads);
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
    j["split"] = split.name;
    io::write_file_atomic(out, j.dump(2) + "\n");
    std::printf("wrote %s\n", out.c_str());
    return 0;
}

int main_eval_codes(const std::vector<std::string>& argv) {
    return parse_and_run<EvalCodesArgs>("eval-codes", kSummary, add_eval_codes_options,
                                        run_eval_codes, argv);
}

} // namespace triseg::cli
