// `triseg analyze-variance`.
#include "cli/cmd_analyze_variance.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/analysis_common.h"
#include "common/error.h"
#include "engine/analysis/activation_stats.h"
#include "engine/analysis/replay.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "io/stage_lock.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Per conv layer, statistics of the integer model's real weights (weight_scale * int8\n"
    "weight) and of its real output activations (scale * (code - zero_point), after ReLU,\n"
    "before the pool): count, mean, std, variance, min, max and fraction of zeros. The\n"
    "activations come from running the model on a split, or from an int8 dump (--acts).\n"
    "Writes weight_variance.json and activation_variance.json (default <run-dir>/analysis/).";

nlohmann::ordered_json stats_json(const engine::ValueStats& s) {
    return {{"count", s.count},
            {"mean", s.mean},
            {"std", s.std},
            {"variance", s.std * s.std},
            {"min", s.min},
            {"max", s.max},
            {"zero_fraction", s.zero_fraction}};
}
} // namespace

void add_analyze_variance_options(po::options_description& desc, AnalyzeVarianceArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("model,m", po::value(&args.model_file)->value_name("FILE"),
        "integer model (default: <run-dir>/int8/model.h5)");
    add("model-file", po::value(&args.model_file)->value_name("FILE"),
        "the older spelling of --model (a model file in every command)");
    add("acts", po::value(&args.acts)->value_name("FILE"),
        "activation statistics from this int8 dump instead of running the model");
    add("split", po::value(&args.split)->value_name("NAME")->default_value("test"),
        "test, val or train (without --acts)");
    add("images,n",
        in_range<int64_t>(args.images, "images", 0, kMaxImages)->value_name("N")->default_value(0),
        "first N images of the split (0 = all)");
    add("out-dir", po::value(&args.out_dir)->value_name("DIR"),
        "folder of the two JSON files (default: <run-dir>/analysis)");
    add("batch",
        in_range<int64_t>(args.batch, "batch", 1, kMaxBatch)->value_name("N")->default_value(256),
        "images per read when reading a dump");
}

int run_analyze_variance(const AnalyzeVarianceArgs& args) {
    check_batch(args.batch);
    check_images(args.images);
    const RunDir run(args.config);
    const std::string dir = args.out_dir.empty() ? run.file("analysis") : args.out_dir;
    const io::StageLock weights_lock(dir + "/weight_variance.json", io::StageLock::Scope::File,
                                     "analyze-variance");
    const io::StageLock acts_lock(dir + "/activation_variance.json", io::StageLock::Scope::File,
                                  "analyze-variance");
    const auto m = load_int8_model(run, args.model_file);
    std::vector<engine::CodeHistogram> hist;
    nlohmann::ordered_json acts = {{"model", m.path}};
    if (!args.acts.empty()) {
        const io::ActsReader dump(args.acts);
        engine::check_dump_matches(dump.header(), args.acts, m.net, m.path);
        hist = dump_histograms(dump, args.batch);
        acts["source"] = args.acts;
        acts["images"] = dump.header().images;
    } else {
        const int threads =
            static_cast<int>(engine::configure_threads(run.config().runtime.threads));
        const auto inputs = load_int8_inputs(run, m.net, args.split, args.images);
        hist = teacher_histograms(m.net, inputs, threads);
        acts["source"] = args.split + " split";
        acts["images"] = inputs.count;
    }
    nlohmann::ordered_json weights = {{"model", m.path}};
    nlohmann::ordered_json wl = nlohmann::ordered_json::object();
    nlohmann::ordered_json al = nlohmann::ordered_json::object();
    std::printf("%-8s %11s %11s %8s | %11s %11s %8s\n", "layer", "weight std", "weight max",
                "w zeros", "act mean", "act std", "a zeros");
    for (size_t i = 0; i < m.names.size(); ++i) {
        const auto& l = m.net.model().convs[i];
        const auto w = engine::weight_stats(l);
        const auto a = engine::code_value_stats(hist[i], l.output.scale, l.output.zero_point);
        wl[l.name] = stats_json(w);
        auto aj = stats_json(a);
        aj["scale"] = l.output.scale;
        aj["zero_point"] = l.output.zero_point;
        al[l.name] = aj;
        std::printf("%-8s %11.5f %11.5f %7.2f%% | %11.5f %11.5f %7.2f%%\n", l.name.c_str(), w.std,
                    std::max(-w.min, w.max), 100 * w.zero_fraction, a.mean, a.std,
                    100 * a.zero_fraction);
    }
    weights["layers"] = wl;
    acts["layers"] = al;
    io::write_file_atomic(dir + "/weight_variance.json", weights.dump(2) + "\n");
    io::write_file_atomic(dir + "/activation_variance.json", acts.dump(2) + "\n");
    std::printf("wrote %s/weight_variance.json and %s/activation_variance.json\n", dir.c_str(),
                dir.c_str());
    return 0;
}

int main_analyze_variance(const std::vector<std::string>& argv) {
    return parse_and_run<AnalyzeVarianceArgs>(
        "analyze-variance", kSummary, add_analyze_variance_options, run_analyze_variance, argv);
}

} // namespace triseg::cli
