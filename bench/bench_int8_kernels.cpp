// INT8 conv kernel throughput on the VGG-16 width-0.25 layer shapes (32x32 input, 1 channel):
// GMAC/s of PackedConv3x3 (best ISA and portable) and of the naive reference, one thread.
//   bench_int8_kernels [--min-ms N]     (time per layer and kernel, default 200 ms)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "common/error.h"
#include "common/rng.h"
#include "engine/core/requant.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_reference.h"

namespace {

using triseg::engine::KernelIsa;
using Clock = std::chrono::steady_clock;

struct Shape {
    const char* name;
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

/// Seconds per call of f, repeated for at least min_seconds (after one warm-up call).
template <typename F> double seconds_per_call(F&& f, double min_seconds) {
    f();
    int64_t calls = 0;
    const auto start = Clock::now();
    double elapsed = 0.0;
    do {
        f();
        ++calls;
        elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < min_seconds);
    return elapsed / static_cast<double>(calls);
}

} // namespace

int main(int argc, char** argv) {
    double min_ms = 200.0;
    try {
        triseg::bench::BenchFlags flags(
            "bench_int8_kernels",
            "INT8 conv kernel throughput (GMAC/s) on the VGG-16 w=0.25 layer shapes, one thread:\n"
            "PackedConv3x3 on the best ISA and portable, and the naive reference.");
        flags.add_double("min-ms", min_ms, "time per layer and kernel, in milliseconds");
        if (!flags.parse(argc, argv)) {
            return 0;
        }
        if (!(min_ms >= 0.0)) {
            triseg::bench::usage_error("--min-ms must be >= 0, got " + std::to_string(min_ms));
        }
    } catch (const triseg::Error& e) {
        std::fprintf(stderr, "bench_int8_kernels: %s\n", e.what());
        return e.exit_code();
    }
    const double min_seconds = min_ms / 1000.0;
    const Shape shapes[] = {
        {"conv1_1", 1, 16, 32},   {"conv1_2", 16, 16, 32},  {"conv2_1", 16, 32, 16},
        {"conv2_2", 32, 32, 16},  {"conv3_1", 32, 64, 8},   {"conv3_2", 64, 64, 8},
        {"conv3_3", 64, 64, 8},   {"conv4_1", 64, 128, 4},  {"conv4_2", 128, 128, 4},
        {"conv4_3", 128, 128, 4}, {"conv5_1", 128, 128, 2}, {"conv5_2", 128, 128, 2},
        {"conv5_3", 128, 128, 2}};
    const KernelIsa best = triseg::engine::best_kernel_isa();
    std::printf("VGG-16 w=0.25, 32x32x1, one thread; GMAC/s (best ISA = %s)\n",
                best == KernelIsa::Avx2 ? "avx2" : "portable");
    std::printf("%-8s %9s %10s %10s %10s\n", "layer", "MMAC", "fast", "portable", "reference");
    triseg::Rng rng(1);
    std::vector<int16_t> scratch;
    double macs_total = 0.0;
    double t_fast = 0.0;
    double t_portable = 0.0;
    double t_ref = 0.0;
    for (const Shape& s : shapes) {
        const auto layer = make_layer(s, rng);
        const triseg::engine::PackedConv3x3 packed(layer);
        std::vector<uint8_t> in(static_cast<std::size_t>(s.cin * s.size * s.size));
        for (auto& v : in) {
            v = static_cast<uint8_t>(rng.uniform_below(256));
        }
        std::vector<uint8_t> out(static_cast<std::size_t>(s.cout * s.size * s.size));
        const double macs = static_cast<double>(s.cin * s.cout * 9 * s.size * s.size);
        const double fast = seconds_per_call(
            [&] { packed.run(in.data(), s.size, s.size, out.data(), nullptr, scratch); },
            min_seconds);
        const double portable = seconds_per_call(
            [&] {
                packed.run_with(KernelIsa::Portable, in.data(), s.size, s.size, out.data(), nullptr,
                                scratch);
            },
            min_seconds);
        const double ref = seconds_per_call(
            [&] {
                triseg::engine::reference::conv3x3_u8(layer, in.data(), s.size, s.size, out.data(),
                                                      nullptr);
            },
            min_seconds / 4);
        std::printf("%-8s %9.3f %10.2f %10.2f %10.2f\n", s.name, macs * 1e-6, macs / fast * 1e-9,
                    macs / portable * 1e-9, macs / ref * 1e-9);
        macs_total += macs;
        t_fast += fast;
        t_portable += portable;
        t_ref += ref;
    }
    std::printf("%-8s %9.3f %10.2f %10.2f %10.2f   (all convs; fast = %.1f us/image)\n", "total",
                macs_total * 1e-6, macs_total / t_fast * 1e-9, macs_total / t_portable * 1e-9,
                macs_total / t_ref * 1e-9, t_fast * 1e6);
    return 0;
}
