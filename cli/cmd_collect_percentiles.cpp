// `triseg collect-percentiles`.
#include "cli/cmd_collect_percentiles.h"

#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/analysis_common.h"
#include "common/error.h"
#include "engine/analysis/activation_stats.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "io/h5_percentiles.h"
#include "io/stage_lock.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Per conv layer, a 256-bin histogram of the integer teacher's output codes (after ReLU,\n"
    "before any table), percentiles p1 p5 p10 p25 p50 p75 p90 p95 p99 p99.9 (the smallest\n"
    "code reaching that share of codes) and the fraction of codes <= tmax. Codes come from\n"
    "running the run's integer model on a split, or, with --acts, from an int8 activation\n"
    "dump (offline; no dataset needed). Writes HDF5 (default <run-dir>/acts/percentiles.h5,\n"
    "or percentiles.h5 beside the dump); schema in docs/activations.md.";
constexpr int32_t kDefaultTmax = 32;
} // namespace

void add_collect_percentiles_options(po::options_description& desc, CollectPercentilesArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("model,m", po::value(&args.model_file)->value_name("FILE"),
        "integer model (default: <run-dir>/int8/model.h5)");
    add("model-file", po::value(&args.model_file)->value_name("FILE"),
        "the older spelling of --model (a model file in every command)");
    add("acts", po::value(&args.acts)->value_name("FILE"),
        "read the codes from this int8 dump (dump-acts) instead of running the model");
    add("split", po::value(&args.split)->value_name("NAME")->default_value("test"),
        "test, val or train (without --acts)");
    add("images,n",
        in_range<int64_t>(args.images, "images", 0, kMaxImages)->value_name("N")->default_value(0),
        "first N images of the split (0 = all; without --acts)");
    add("tmax", in_range<int64_t>(args.tmax, "tmax", 0, 255)->value_name("CODE")->default_value(0),
        "the code the fraction <= tmax is computed for (0 = approx.tmax of the run, else 32)");
    add("out,o", po::value(&args.out)->value_name("FILE"), "output HDF5 file");
    add("batch",
        in_range<int64_t>(args.batch, "batch", 1, kMaxBatch)->value_name("N")->default_value(256),
        "images per read when reading a dump");
}

int run_collect_percentiles(const CollectPercentilesArgs& args) {
    check_batch(args.batch);
    check_images(args.images);
    detail::check_range<int64_t>("--tmax", args.tmax, 0, 255);
    const bool offline =
        !args.acts.empty() && args.config.config.empty() && args.config.run_dir.empty();
    std::optional<RunDir> run;
    if (!offline) {
        run.emplace(args.config);
    }
    io::PercentilesFile p;
    p.levels = engine::default_percentile_levels();
    p.tmax = args.tmax > 0 ? args.tmax : run ? run->config().approx.tmax : kDefaultTmax;
    p.created = utc_now();
    p.tool_version = tool_version();
    std::vector<engine::CodeHistogram> hist;
    std::string out = args.out;
    if (out.empty()) {
        out = !args.acts.empty()
                  ? (std::filesystem::path(args.acts).parent_path() / "percentiles.h5").string()
                  : run->file("acts/percentiles.h5");
    }
    const io::StageLock lock(out, io::StageLock::Scope::File, "collect-percentiles");
    if (!args.acts.empty()) {
        const io::ActsReader dump(args.acts);
        hist = dump_histograms(dump, args.batch);
        p.images = dump.header().images;
        p.model = dump.header().model;
        p.source = "int8 dump '" + args.acts + "'";
        for (const auto& l : dump.header().layers) {
            p.layers.push_back({l.name, l.scale, l.zero_point, {}, {}, 0.0});
        }
    } else {
        const int threads =
            static_cast<int>(engine::configure_threads(run->config().runtime.threads));
        const auto m = load_int8_model(*run, args.model_file);
        const auto inputs = load_int8_inputs(*run, m.net, args.split, args.images);
        hist = teacher_histograms(m.net, inputs, threads);
        p.images = inputs.count;
        p.model = m.path;
        p.source = "int8 model '" + m.path + "' on " + args.split + " split";
        for (int64_t i = 0; i < m.net.num_layers(); ++i) {
            const auto& t = m.net.block_tensor(i);
            p.layers.push_back({t.name, t.quant.scale, t.quant.zero_point, {}, {}, 0.0});
        }
    }
    int w = 8; // the name column (graph names are longer than VGG's)
    for (const auto& l : p.layers) {
        w = std::max(w, static_cast<int>(l.name.size()));
    }
    std::printf("%-*s %6s %6s %6s %6s %6s %6s %9s\n", w, "layer", "p10", "p50", "p90", "p99",
                "p99.9", "max", "<=tmax");
    for (size_t i = 0; i < p.layers.size(); ++i) {
        auto& l = p.layers[i];
        l.histogram = hist[i];
        for (double level : p.levels) {
            l.percentiles.push_back(engine::histogram_percentile(hist[i], level));
        }
        l.fraction_le_tmax = engine::fraction_at_most(hist[i], static_cast<int32_t>(p.tmax));
        std::printf(
            "%-*s %6d %6d %6d %6d %6d %6d %8.2f%%\n", w, l.name.c_str(),
            engine::histogram_percentile(hist[i], 10), engine::histogram_percentile(hist[i], 50),
            engine::histogram_percentile(hist[i], 90), engine::histogram_percentile(hist[i], 99),
            engine::histogram_percentile(hist[i], 99.9), engine::histogram_percentile(hist[i], 100),
            100 * l.fraction_le_tmax);
    }
    io::write_percentiles(p, out);
    std::printf("%lld images, tmax %lld; wrote %s\n", static_cast<long long>(p.images),
                static_cast<long long>(p.tmax), out.c_str());
    return 0;
}

int main_collect_percentiles(const std::vector<std::string>& argv) {
    return parse_and_run<CollectPercentilesArgs>("collect-percentiles", kSummary,
                                                 add_collect_percentiles_options,
                                                 run_collect_percentiles, argv);
}

} // namespace triseg::cli
