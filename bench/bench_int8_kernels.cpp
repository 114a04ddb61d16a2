// INT8 conv kernel throughput against the machine's int8 limit, on the VGG-16 layer shapes:
// GMAC/s of PackedConv3x3 (best ISA) and of a baseline ISA, and kernel/limit, where the limit
// is a register-only loop of the best ISA's multiply-add (vpdpbusd zmm or ymm, or vpmaddwd +
// vpaddd for AVX2) measured in the same run; then the same for the distinct convs of
// ResNet-20 and MobileNetV2 on their fast kernels (make_conv_kernel), against conv_u8 too;
// then their adds and global average pools on every ISA against the portable loops (those two
// tables: graph_op_tables.h; the timing and the limit loops: kernel_timing.h).
//   bench_int8_kernels [--width W] [--size S] [--in-channels C] [--rounds N] [--min-ms N]
//                      [--baseline ISA] [--limit-threads N] [--reference 1]
//                      [--graph 0|1] [--graph-width W] [--graph-size S]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/graph_op_tables.h"
#include "bench/kernel_timing.h"
#include "common/error.h"
#include "common/rng.h"
#include "engine/core/requant.h"
#include "engine/int8/cpu_features.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_reference.h"

namespace {

using triseg::bench::KernelIsa;
using triseg::bench::Limit;
using triseg::bench::limit_gmacs;
using triseg::bench::limit_gmacs_1;
using triseg::bench::median;
using triseg::bench::pick_limit;
using triseg::bench::run_graph_convs;
using triseg::bench::run_graph_elementwise;
using triseg::bench::seconds_per_call;

struct Shape {
    std::string name;
    int64_t cin;
    int64_t cout;
    int64_t size;
};

triseg::models::Int8ConvLayer make_layer(const Shape& s, triseg::Rng& rng) {
    triseg::models::Int8ConvLayer l;
    l.name = s.name;
    l.in_channels = s.cin;
    l.out_channels = s.cout;
    l.input = {0.02f, 0};
    l.output = {0.02f, 0};
    for (int64_t i = 0; i < s.cin * s.cout * 9; ++i) {
        l.weight.push_back(static_cast<int8_t>(static_cast<int>(rng.uniform_below(255)) - 127));
    }
    const auto m = triseg::engine::quantize_multiplier(0.001);
    for (int64_t oc = 0; oc < s.cout; ++oc) {
        l.weight_scale.push_back(0.01f);
        l.bias.push_back(static_cast<int32_t>(rng.uniform_below(20001)) - 10000);
        l.multiplier.push_back(m.multiplier);
        l.shift.push_back(m.shift);
    }
    return l;
}

/// VGG-16's 13 conv layers at `width` (channels 64, 128, 256, 512, 512 times width, at least
/// 1), on size x size inputs of `cin` channels, halved after each stage.
std::vector<Shape> vgg16_shapes(double width, int64_t size, int64_t cin) {
    const int stages[5][2] = {{64, 2}, {128, 2}, {256, 3}, {512, 3}, {512, 3}};
    std::vector<Shape> shapes;
    int64_t in = cin;
    for (int s = 0; s < 5; ++s) {
        const auto out = std::max<int64_t>(1, static_cast<int64_t>(stages[s][0] * width + 0.5));
        for (int i = 0; i < stages[s][1]; ++i) {
            shapes.push_back(
                {"conv" + std::to_string(s + 1) + "_" + std::to_string(i + 1), in, out, size});
            in = out;
        }
        size = std::max<int64_t>(1, size / 2);
    }
    return shapes;
}

/// A --baseline value other than "none" (checked by main) as a KernelIsa.
KernelIsa parse_isa(const std::string& text) {
    return triseg::engine::parse_kernel_isa_cap(text.c_str());
}

} // namespace

int main(int argc, char** argv) {
    double min_ms = 50.0;
    double width = 0.25;
    int64_t size = 32;
    int64_t in_channels = 1;
    int64_t rounds = 5;
    int64_t limit_threads = 2;
    std::string baseline_text = "avx512vnni";
    int64_t reference = 0;
    int64_t graph = 1;
    double graph_width = 1.0;
    int64_t graph_size = 28;
    try {
        triseg::bench::BenchFlags flags(
            "bench_int8_kernels",
            "INT8 conv kernel throughput (GMAC/s per thread CPU second) on the VGG-16 layer "
            "shapes,\n"
            "one thread, and its "
            "ratio to a register-only loop of the kernel ISA's multiply-add (vpdpbusd, or\n"
            "vpmaddwd+vpaddd under TRISEG_KERNEL_ISA=avx2: the int8 limit) measured in the same "
            "run;\n"
            "kernel (best ISA) and baseline ISA alternate in rounds; medians are printed.");
        flags.add_double("width", width, "VGG-16 width multiplier (channels 64..512 times it)");
        flags.add_int("size", size, 1, "input height and width");
        flags.add_int("in-channels", in_channels, 1, "input channels (conv1_1's C_in)");
        flags.add_int("rounds", rounds, 1, "alternating rounds (medians are printed)");
        flags.add_double("min-ms", min_ms, "time per layer, kernel and round, in milliseconds");
        flags.add_int("limit-threads", limit_threads, 1,
                      "threads of the second limit measurement (the first is 1)");
        flags.add_string("baseline", baseline_text, "ISA",
                         "ISA compared with the best one: portable, avx2, avx512vnni, avx512zmm "
                         "or none");
        flags.add_int("reference", reference, 0,
                      "1: also time the portable kernel and the scalar reference (slow)");
        flags.add_int("graph", graph, 0,
                      "1: also time the convs of ResNet-20 and MobileNetV2 (1x1, strided 3x3, "
                      "depthwise, linear outputs) on their fast kernels, and their adds and "
                      "global average pools on every ISA; 0: VGG-16 only");
        flags.add_double("graph-width", graph_width, "ResNet-20 and MobileNetV2 width multiplier");
        flags.add_int("graph-size", graph_size, 8, "their input height and width");
        if (!flags.parse(argc, argv)) {
            return 0;
        }
        if (!(min_ms >= 0.0)) {
            triseg::bench::usage_error("--min-ms must be >= 0, got " + std::to_string(min_ms));
        }
        if (!(width > 0.0 && width <= 4.0)) {
            triseg::bench::usage_error("--width must be in (0, 4], got " + std::to_string(width));
        }
        if (baseline_text != "none" && baseline_text != "portable" && baseline_text != "avx2" &&
            baseline_text != "avx512vnni" && baseline_text != "avx512zmm") {
            triseg::bench::usage_error(
                "--baseline must be one of portable, avx2, avx512vnni, avx512zmm, none, got '" +
                baseline_text + "'");
        }
    } catch (const triseg::Error& e) {
        std::fprintf(stderr, "bench_int8_kernels: %s\n", e.what());
        return e.exit_code();
    }
    const double min_seconds = min_ms / 1000.0;
    const KernelIsa best = triseg::engine::best_kernel_isa();
    bool has_base = baseline_text != "none";
    const KernelIsa base = has_base ? parse_isa(baseline_text) : best;
    if (has_base && !triseg::engine::kernel_isa_supported(base)) {
        std::printf("baseline %s is not supported here (or capped): no baseline column\n",
                    baseline_text.c_str());
        has_base = false;
    }
    const Limit limit = pick_limit(best);
    const auto shapes = vgg16_shapes(width, size, in_channels);

    std::printf("cpu: %s\n",
                triseg::engine::describe_cpu_features(triseg::engine::cpu_features()).c_str());
    std::printf("VGG-16 w=%g on %lldx%lldx%lld, one thread, %lld rounds (medians); kernel = %s",
                width, static_cast<long long>(size), static_cast<long long>(size),
                static_cast<long long>(in_channels), static_cast<long long>(rounds),
                triseg::engine::kernel_isa_name(best));
    if (has_base) {
        std::printf(", baseline = %s", triseg::engine::kernel_isa_name(base));
    }
    std::printf("\n");

    triseg::Rng rng(1);
    struct Layer {
        Shape shape;
        triseg::models::Int8ConvLayer spec;
        std::vector<uint8_t> in;
        std::vector<uint8_t> out;
        double macs = 0.0;
        std::vector<double> t_best, t_base;
        std::vector<double> lim; ///< the 1-thread limit measured next to each t_best
    };
    std::vector<Layer> layers;
    for (const Shape& s : shapes) {
        Layer l;
        l.shape = s;
        l.spec = make_layer(s, rng);
        l.in.resize(static_cast<std::size_t>(s.cin * s.size * s.size));
        for (auto& v : l.in) {
            v = static_cast<uint8_t>(rng.uniform_below(256));
        }
        l.out.resize(static_cast<std::size_t>(s.cout * s.size * s.size));
        l.macs = static_cast<double>(s.cin * s.cout * 9 * s.size * s.size);
        layers.push_back(std::move(l));
    }
    std::vector<triseg::engine::PackedConv3x3> packed;
    packed.reserve(layers.size());
    for (const Layer& l : layers) {
        packed.emplace_back(l.spec);
    }
    std::vector<int16_t> scratch;
    std::vector<double> lim1;
    std::vector<double> lim2;
    for (int64_t r = 0; r < rounds; ++r) {
        for (std::size_t i = 0; i < layers.size(); ++i) {
            Layer& l = layers[i];
            const auto run = [&](KernelIsa isa) {
                return seconds_per_call(
                    [&] {
                        packed[i].run_with(isa, l.in.data(), l.shape.size, l.shape.size,
                                           l.out.data(), nullptr, scratch);
                    },
                    min_seconds);
            };
            // Alternate the order between rounds so neither side always runs first.
            if (has_base && r % 2 == 1) {
                l.t_base.push_back(run(base));
            }
            // The limit right before the kernel, so that each kernel/limit pair sees the same
            // machine load (the shared machine's load drifts within a run).
            l.lim.push_back(limit_gmacs_1(limit, std::max(0.01, min_seconds / 2)));
            lim1.push_back(l.lim.back());
            l.t_best.push_back(run(best));
            if (has_base && r % 2 == 0) {
                l.t_base.push_back(run(base));
            }
        }
        lim2.push_back(
            limit_gmacs(limit, static_cast<int>(limit_threads), std::max(0.02, min_seconds)));
    }
    const double limit1 = median(lim1);
    const double limit2 = median(lim2);
    std::printf("limit (%s, register-only): %.1f GMAC/s on 1 thread (per CPU second), %.1f "
                "on %lld threads (wall)\n",
                limit.name, limit1, limit2, static_cast<long long>(limit_threads));
    std::printf("%-8s %5s %5s %6s %9s %9s %12s %9s %11s %9s\n", "layer", "C_in", "C_out", "HxW",
                "K=9C_in", "MMAC", "GMAC/s", "/limit", has_base ? "base GMAC/s" : "",
                has_base ? "kern/base" : "");
    // kernel/limit: per round, the kernel's GMAC/s over the limit measured next to it; for a
    // set of layers, their MACs over their summed time, over the time-weighted limit; medians
    // over the rounds.
    const auto set_ratio = [&](auto in_set) {
        std::vector<double> ratios;
        for (int64_t r = 0; r < rounds; ++r) {
            double macs = 0.0;
            double t = 0.0;
            double lim_t = 0.0;
            for (const Layer& l : layers) {
                if (in_set(l)) {
                    macs += l.macs;
                    t += l.t_best[r];
                    lim_t += l.t_best[r] * l.lim[r];
                }
            }
            ratios.push_back(t > 0.0 ? macs / t * 1e-9 / (lim_t / t) : 0.0);
        }
        return median(ratios);
    };
    double macs_total = 0.0;
    double t_best_total = 0.0;
    double t_base_total = 0.0;
    double macs_big = 0.0;
    double t_big = 0.0;
    double min_big = 1e9;
    for (Layer& l : layers) {
        const double tb = median(l.t_best);
        const double gm = l.macs / tb * 1e-9;
        const int64_t k = 9 * l.shape.cin;
        const double ratio = set_ratio([&l](const Layer& o) { return &o == &l; });
        std::printf("%-8s %5lld %5lld %3lldx%-3lld %8lld %9.3f %9.2f %9.2f", l.shape.name.c_str(),
                    static_cast<long long>(l.shape.cin), static_cast<long long>(l.shape.cout),
                    static_cast<long long>(l.shape.size), static_cast<long long>(l.shape.size),
                    static_cast<long long>(k), l.macs * 1e-6, gm, ratio);
        if (has_base) {
            const double ts = median(l.t_base);
            std::printf(" %10.2f %9.2f", l.macs / ts * 1e-9, ts / tb);
            t_base_total += ts;
        }
        std::printf("\n");
        macs_total += l.macs;
        t_best_total += tb;
        if (k >= 288) {
            macs_big += l.macs;
            t_big += tb;
            min_big = std::min(min_big, ratio);
        }
    }
    const double all_ratio = set_ratio([](const Layer&) { return true; });
    const double big_ratio = set_ratio([](const Layer& l) { return 9 * l.shape.cin >= 288; });
    std::printf("%-8s %27s %9.3f %9.2f %9.2f", "all", "", macs_total * 1e-6,
                macs_total / t_best_total * 1e-9, all_ratio);
    if (has_base) {
        std::printf(" %10.2f %9.2f", macs_total / t_base_total * 1e-9, t_base_total / t_best_total);
    }
    std::printf("   (%.1f us/image)\n", t_best_total * 1e6);
    if (macs_big > 0.0) {
        std::printf("%-8s %27s %9.3f %9.2f %9.2f   (K >= 288: lowest layer %.2f)\n", "K>=288", "",
                    macs_big * 1e-6, macs_big / t_big * 1e-9, big_ratio, min_big);
    }
    std::printf("summary: w=%g, %s, 1 thread: all convs %.2f of the 1-core limit (%.1f of %.1f "
                "GMAC/s); K>=288 convs %.2f, lowest %.2f",
                width, triseg::engine::kernel_isa_name(best), all_ratio,
                macs_total / t_best_total * 1e-9, limit1, macs_big > 0.0 ? big_ratio : 0.0,
                macs_big > 0.0 ? min_big : 0.0);
    if (has_base) {
        std::printf("; %.2fx the %s kernel", t_base_total / t_best_total,
                    triseg::engine::kernel_isa_name(base));
    }
    std::printf("\n");
    if (reference > 0) {
        std::printf("%-8s %12s %12s\n", "layer", "portable", "reference");
        for (std::size_t i = 0; i < layers.size(); ++i) {
            Layer& l = layers[i];
            const double tp = seconds_per_call(
                [&] {
                    packed[i].run_with(KernelIsa::Portable, l.in.data(), l.shape.size, l.shape.size,
                                       l.out.data(), nullptr, scratch);
                },
                min_seconds);
            const double tr = seconds_per_call(
                [&] {
                    triseg::engine::reference::conv3x3_u8(l.spec, l.in.data(), l.shape.size,
                                                          l.shape.size, l.out.data(), nullptr);
                },
                min_seconds / 4);
            std::printf("%-8s %12.2f %12.2f\n", l.shape.name.c_str(), l.macs / tp * 1e-9,
                        l.macs / tr * 1e-9);
        }
    }
    if (graph > 0) {
        run_graph_convs(limit, best, graph_width, graph_size, in_channels, rounds, min_seconds);
        run_graph_elementwise(graph_width, graph_size, in_channels, rounds, min_seconds);
    }
    return 0;
}
