// `triseg describe`.
#include "cli/cmd_describe.h"

#include <cstdio>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/int8/int8_network.h"
#include "io/atomic_file.h"
#include "io/h5_percentiles.h"

namespace triseg::cli {

namespace {

constexpr const char* kSummary =
    "List the approximation points of an integer model in forward order: every uint8 tensor\n"
    "that comes out of a ReLU or ReLU6 (the keys of codes files), with its shape, the\n"
    "multiply-accumulates per image of the op that makes it, its live set (the tensors made up\n"
    "to it and read after it, which a replay from it starts from: 1 = the point alone, more\n"
    "where a skip connection crosses it), and the p50/p90/p99 of its code histogram when a\n"
    "percentiles file exists (`triseg collect-percentiles`). Reads nothing else and writes\n"
    "nothing.";

/// The smallest code c with at least p of the histogram's codes <= c.
int percentile_code(const std::array<int64_t, 256>& h, double p) {
    int64_t total = 0;
    for (int64_t v : h) {
        total += v;
    }
    int64_t seen = 0;
    for (int c = 0; c < 256; ++c) {
        seen += h[static_cast<size_t>(c)];
        if (static_cast<double>(seen) >= p * static_cast<double>(total)) {
            return c;
        }
    }
    return 255;
}

} // namespace

void add_describe_options(po::options_description& desc, DescribeArgs& args) {
    desc.add_options()("run-dir,r", po::value(&args.run_dir)->value_name("DIR"),
                       "run folder: reads DIR/int8/model.h5 and, when it exists, "
                       "DIR/acts/percentiles.h5")("model,m",
                                                  po::value(&args.model)->value_name("FILE"),
                                                  "an int8 model file (instead of --run-dir)")(
        "percentiles", po::value(&args.percentiles)->value_name("FILE"),
        "a percentiles file (default: the run folder's, when there)")(
        "json", po::bool_switch(&args.json), "print one JSON object instead of the table");
}

int run_describe(const DescribeArgs& args) {
    TRISEG_CHECK(args.run_dir.empty() != args.model.empty(), ConfigError,
                 "give exactly one of --run-dir DIR and --model FILE");
    namespace fs = std::filesystem;
    const std::string model =
        args.model.empty() ? (fs::path(args.run_dir) / "int8" / "model.h5").string() : args.model;
    std::string pct = args.percentiles;
    if (pct.empty() && !args.run_dir.empty()) {
        const std::string p = (fs::path(args.run_dir) / "acts" / "percentiles.h5").string();
        pct = io::file_exists(p) ? p : "";
    }
    const engine::Int8Network net = engine::load_int8_network(model);
    std::map<std::string, const io::LayerPercentiles*> by_name;
    io::PercentilesFile percentiles;
    if (!pct.empty()) {
        percentiles = io::read_percentiles(pct);
        for (const auto& l : percentiles.layers) {
            by_name[l.name] = &l;
        }
        for (const auto& name : net.layer_names()) {
            TRISEG_CHECK(by_name.count(name) == 1, InputError,
                         "percentiles file '" << pct << "' has no layer '" << name
                                              << "' of the model '" << model
                                              << "'; re-run `triseg collect-percentiles`");
        }
    }
    const auto& g = net.graph();
    nlohmann::json out;
    out["model"] = model;
    out["ops"] = g.ops.size();
    out["points"] = net.num_layers();
    out["macs_per_image"] = net.forward_macs();
    out["percentiles"] = pct;
    out["layers"] = nlohmann::json::array();
    if (!args.json) {
        std::printf("%s: %zu ops, %lld approximation points, %.2f MMAC per image\n", model.c_str(),
                    g.ops.size(), static_cast<long long>(net.num_layers()),
                    static_cast<double>(net.forward_macs()) / 1e6);
        std::printf("%3s  %-24s %-16s %10s %7s %4s", "#", "point", "shape", "MMAC", "MAC %",
                    "live");
        std::printf(pct.empty() ? "\n" : " %5s %5s %5s\n", "p50", "p90", "p99");
    }
    for (int64_t i = 0; i < net.num_layers(); ++i) {
        const auto& t = net.block_tensor(i);
        const std::string shape = std::to_string(t.channels) + "x" + std::to_string(t.height) +
                                  "x" + std::to_string(t.width);
        const int64_t macs = net.conv_macs(i);
        std::vector<std::string> live;
        for (int32_t x : net.live_tensors(i)) {
            live.push_back(g.tensors[static_cast<size_t>(x)].name);
        }
        nlohmann::json row = {{"name", t.name},
                              {"shape", {t.channels, t.height, t.width}},
                              {"macs", macs},
                              {"replayable", net.replayable(i)},
                              {"live", live},
                              {"scale", t.quant.scale},
                              {"zero_point", t.quant.zero_point}};
        std::array<int, 3> p{};
        if (!pct.empty()) {
            const auto& h = by_name.at(t.name)->histogram;
            p = {percentile_code(h, 0.5), percentile_code(h, 0.9), percentile_code(h, 0.99)};
            row["p50"] = p[0];
            row["p90"] = p[1];
            row["p99"] = p[2];
        }
        out["layers"].push_back(row);
        if (!args.json) {
            std::printf("%3lld  %-24s %-16s %10.3f %6.1f%% %4zu", static_cast<long long>(i),
                        t.name.c_str(), shape.c_str(), static_cast<double>(macs) / 1e6,
                        100.0 * static_cast<double>(macs) / static_cast<double>(net.forward_macs()),
                        live.size());
            if (pct.empty()) {
                std::printf("\n");
            } else {
                std::printf(" %5d %5d %5d\n", p[0], p[1], p[2]);
            }
        }
    }
    if (args.json) {
        std::printf("%s\n", out.dump(2).c_str());
    }
    return 0;
}

int main_describe(const std::vector<std::string>& argv) {
    return parse_and_run<DescribeArgs>("describe", kSummary, add_describe_options, run_describe,
                                       argv);
}

} // namespace triseg::cli
