// `triseg analyze-variance`.
#include "cli/cmd_analyze_variance.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/analysis_common.h"
#include "common/error.h"
#include "engine/analysis/activation_stats.h"
#include "engine/analysis/replay.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "io/stage_lock.h"
#include "models/spec/int8_graph.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Per approximation point (any model.arch: a VGG's conv layers, a ResNet's or MobileNetV2's\n"
    "ReLU and ReLU6 outputs), statistics of the real weights (weight_scale * int8 weight) of\n"
    "the conv that makes it and of its real output activations (scale * (code - zero_point),\n"
    "after the ReLU, before any pool): count, mean, std, variance, min, max and fraction of\n"
    "zeros. A point made by an add has no weights: '-' in the table, null in the JSON. The\n"
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

/// The weights of the conv that makes point `point`, or none when an add (or another op
/// without weights) makes it.
std::optional<models::Int8ConvLayer> point_conv(const engine::Int8Network& net, int64_t point) {
    const auto& graph = net.graph();
    const std::string& name = net.block_tensor(point).name;
    for (const auto& op : graph.ops) {
        if (op.output >= 0 && graph.tensors.at(static_cast<size_t>(op.output)).name == name) {
            if (op.kind != models::Int8OpKind::Conv) {
                return std::nullopt;
            }
            return models::conv_layer_of(graph, op);
        }
    }
    TRISEG_THROW(InputError, "no op of the integer model makes its point '" << name << "'");
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
    int w = 8; // the name column: VGG names fit 8; graph names (layer2.1.conv1) are longer
    for (const auto& name : m.names) {
        w = std::max(w, static_cast<int>(name.size()));
    }
    std::printf("%-*s %11s %11s %8s | %11s %11s %8s\n", w, "layer", "weight std", "weight max",
                "w zeros", "act mean", "act std", "a zeros");
    for (size_t i = 0; i < m.names.size(); ++i) {
        const auto point = static_cast<int64_t>(i);
        const std::string& name = m.names[i];
        const auto& quant = m.net.block_tensor(point).quant;
        const auto a = engine::code_value_stats(hist[i], quant.scale, quant.zero_point);
        auto aj = stats_json(a);
        aj["scale"] = quant.scale;
        aj["zero_point"] = quant.zero_point;
        al[name] = aj;
        const auto conv = point_conv(m.net, point);
        char weight_cols[64];
        if (conv) {
            const auto ws = engine::weight_stats(*conv);
            wl[name] = stats_json(ws);
            std::snprintf(weight_cols, sizeof weight_cols, "%11.5f %11.5f %7.2f%%", ws.std,
                          std::max(-ws.min, ws.max), 100 * ws.zero_fraction);
        } else {
            wl[name] = nullptr; // an add's point: no weights of its own
            std::snprintf(weight_cols, sizeof weight_cols, "%11s %11s %8s", "-", "-", "-");
        }
        std::printf("%-*s %s | %11.5f %11.5f %7.2f%%\n", w, name.c_str(), weight_cols, a.mean,
                    a.std, 100 * a.zero_fraction);
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
