// `triseg analyze-sensitivity`.
#include "cli/cmd_analyze_sensitivity.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/analysis_common.h"
#include "common/error.h"
#include "common/progress.h"
#include "engine/analysis/activation_stats.h"
#include "engine/analysis/sensitivity.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "io/h5_percentiles.h"
#include "io/result_file.h"
#include "io/stage_lock.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Per-layer sensitivity against the integer teacher: KD loss at approx.temperature,\n"
    "accuracy drop, agreement, fraction of codes changed. --mode leave-one-out (default, the\n"
    "original's definition): every layer approximated except one, which is exact (also reports\n"
    "every layer approximated); --mode leave-one-in: one layer approximated, the others exact.\n"
    "Codes come from a result.json (--codes; any valid tri-segment map) or from a\n"
    "histogram-based heuristic (--heuristic: t1/t2 split the codes in [1, tmax] into three\n"
    "equal parts, v1/v2 the segment means; histograms from --percentiles or from this run).\n"
    "Each batch runs the network once keeping every block's output and replays it from each\n"
    "layer. Prints a table ranked most sensitive first (leave-one-out: smallest KD loss;\n"
    "leave-one-in: largest) and writes JSON (default <run-dir>/analysis/sensitivity.json).";
} // namespace

void add_analyze_sensitivity_options(po::options_description& desc, AnalyzeSensitivityArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("model,m", po::value(&args.model_file)->value_name("FILE"),
        "integer model (default: <run-dir>/int8/model.h5)");
    add("model-file", po::value(&args.model_file)->value_name("FILE"),
        "the older spelling of --model (a model file in every command)");
    add("codes", po::value(&args.codes)->value_name("FILE"),
        "result.json with the codes of every layer, any valid tri-segment map");
    add("heuristic", po::bool_switch(&args.heuristic),
        "histogram-based codes for approx.tmax at every layer");
    add("percentiles", po::value(&args.percentiles)->value_name("FILE"),
        "histograms for --heuristic from collect-percentiles (default: computed here)");
    add("split", po::value(&args.split)->value_name("NAME")->default_value("test"),
        "test, val or train");
    add("images,n",
        in_range<int64_t>(args.images, "images", 0, kMaxImages)->value_name("N")->default_value(0),
        "first N images of the split (0 = all)");
    add("out,o", po::value(&args.out)->value_name("FILE"),
        "ranked table as JSON (default: <run-dir>/analysis/sensitivity.json)");
    add("batch",
        in_range<int64_t>(args.batch, "batch", 1, kMaxBatch)->value_name("N")->default_value(256),
        "images per pass");
    add("mode", po::value(&args.mode)->value_name("MODE")->default_value("leave-one-out"),
        "leave-one-out: every layer approximated except the row's layer (the original's "
        "per-layer sensitivity); leave-one-in: only the row's layer approximated");
}

int run_analyze_sensitivity(const AnalyzeSensitivityArgs& args) {
    TRISEG_CHECK(args.codes.empty() != !args.heuristic, ConfigError,
                 "give exactly one of --codes FILE and --heuristic");
    TRISEG_CHECK(args.percentiles.empty() || args.heuristic, ConfigError,
                 "--percentiles only goes with --heuristic");
    check_images(args.images);
    check_batch(args.batch);
    const auto mode = engine::parse_sensitivity_mode(args.mode);
    const RunDir run(args.config);
    const auto& cfg = run.config();
    const std::string out = args.out.empty() ? run.file("analysis/sensitivity.json") : args.out;
    const io::StageLock lock(out, io::StageLock::Scope::File, "analyze-sensitivity");
    const int threads = static_cast<int>(engine::configure_threads(cfg.runtime.threads));
    const auto m = load_int8_model(run, args.model_file);
    const auto inputs = load_int8_inputs(run, m.net, args.split, args.images);

    engine::CodeSet codes;
    std::string source;
    if (args.heuristic) {
        std::vector<engine::CodeHistogram> hist;
        if (!args.percentiles.empty()) {
            const auto p = io::read_percentiles(args.percentiles);
            for (size_t i = 0; i < m.names.size(); ++i) {
                TRISEG_CHECK(p.layers.size() == m.names.size() && p.layers[i].name == m.names[i],
                             InputError,
                             "percentiles file '" << args.percentiles << "' does not list the "
                                                  << "model's layers in order (layer " << i
                                                  << " is '" << m.names[i] << "')");
                hist.push_back(p.layers[i].histogram);
            }
            source = "heuristic from '" + args.percentiles + "'";
        } else {
            hist = teacher_histograms(m.net, inputs, threads);
            source = "heuristic from the " + args.split + " split";
        }
        for (const auto& h : hist) {
            codes.layers.push_back(
                engine::heuristic_codes(h, static_cast<int32_t>(cfg.approx.tmax)));
        }
    } else {
        codes = io::read_result_file(args.codes, m.names).codes;
        source = args.codes;
    }

    ProgressBar bar("sensitivity", inputs.count, "img");
    const auto report =
        engine::layer_sensitivity(m.net, inputs, m.names, codes, mode, cfg.approx.temperature,
                                  threads, args.batch, [&](int64_t done) { bar.update(done); });
    bar.finish();
    std::printf("%s", engine::sensitivity_table(report, cfg.approx.temperature).c_str());
    nlohmann::json j = engine::sensitivity_json(report, cfg.approx.temperature);
    j["codes_source"] = source;
    j["model"] = m.path;
    j["split"] = args.split;
    io::write_file_atomic(out, j.dump(2) + "\n");
    std::printf("wrote %s\n", out.c_str());
    return 0;
}

int main_analyze_sensitivity(const std::vector<std::string>& argv) {
    return parse_and_run<AnalyzeSensitivityArgs>("analyze-sensitivity", kSummary,
                                                 add_analyze_sensitivity_options,
                                                 run_analyze_sensitivity, argv);
}

} // namespace triseg::cli
