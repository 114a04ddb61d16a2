// INT8 conv kernel throughput against the machine's int8 limit, on the VGG-16 layer shapes:
// GMAC/s of PackedConv3x3 (best ISA) and of a baseline ISA, and kernel/limit, where the limit
// is a register-only loop of the best ISA's multiply-add (vpdpbusd zmm or ymm, or vpmaddwd +
// vpaddd for AVX2) measured in the same run; then the same for the distinct convs of
// ResNet-20 and MobileNetV2 on their fast kernels (make_conv_kernel), against conv_u8 too;
// then their adds and global average pools on every ISA against the portable loops.
//   bench_int8_kernels [--width W] [--size S] [--in-channels C] [--rounds N] [--min-ms N]
//                      [--baseline ISA] [--limit-threads N] [--reference 1]
//                      [--graph 0|1] [--graph-width W] [--graph-size S]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#else
#define BENCH_X86 0
#endif

#include "bench/bench_flags.h"
#include "common/error.h"
#include "common/rng.h"
#include "engine/core/requant.h"
#include "engine/int8/conv_kernel.h"
#include "engine/int8/cpu_features.h"
#include "engine/int8/graph_kernels.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_reference.h"
#include "models/spec/graph_layout.h"
#include "models/spec/int8_graph.h"

namespace {

using triseg::engine::KernelIsa;
using Clock = std::chrono::steady_clock;

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

/// CPU seconds this thread has run. The one-thread figures use it rather than wall time so
/// that time slices lost to other processes on a shared machine do not count (the machine's
/// other load still costs cache and memory bandwidth: compare ratios, not absolute figures).
double thread_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// Thread CPU seconds per call of f, repeated for at least min_seconds (after one warm-up).
/// Calls run in batches that double until one takes >= 1 ms, so that reading the clock (a
/// system call for the thread CPU clock) stays out of short calls' figures.
template <typename F> double seconds_per_call(F&& f, double min_seconds) {
    f();
    int64_t calls = 0;
    int64_t batch = 1;
    const double start = thread_seconds();
    double elapsed = 0.0;
    double last = 0.0;
    do {
        for (int64_t i = 0; i < batch; ++i) {
            f();
        }
        calls += batch;
        elapsed = thread_seconds() - start;
        if (elapsed - last < 1e-3) {
            batch *= 2;
        }
        last = elapsed;
    } while (elapsed < min_seconds);
    return elapsed / static_cast<double>(calls);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// ---------------------------------------------------------------------------------------
// The limit: independent vpdpbusd chains on registers only (no loads in the loop), enough
// of them (24) to cover the instruction's latency times its throughput on any current core.

constexpr int kChains = 24;
constexpr int64_t kLimitIters = 1 << 16; ///< loop trips per call: 24 instructions each

#if BENCH_X86
// Each loop is written in assembly so that the 24 accumulators stay in zmm/ymm registers
// (a compiler may spill an array of them to the stack, which then measures store-forwarding).

/// MACs done: iterations * 24 * 64 (a zmm vpdpbusd is 16 lanes x 4 u8*s8 products).
__attribute__((target("avx512f,avx512vnni"))) int64_t dpbusd_zmm_loop(int64_t iters, int32_t seed) {
    const __m512i a = _mm512_set1_epi32(seed | 0x01010101);
    const __m512i b = _mm512_set1_epi32(seed ^ 0x02020202);
    int64_t n = iters;
    __asm__ volatile("1:\n\t"
                     "vpdpbusd %[b], %[a], %%zmm0\n\t"
                     "vpdpbusd %[b], %[a], %%zmm1\n\t"
                     "vpdpbusd %[b], %[a], %%zmm2\n\t"
                     "vpdpbusd %[b], %[a], %%zmm3\n\t"
                     "vpdpbusd %[b], %[a], %%zmm4\n\t"
                     "vpdpbusd %[b], %[a], %%zmm5\n\t"
                     "vpdpbusd %[b], %[a], %%zmm6\n\t"
                     "vpdpbusd %[b], %[a], %%zmm7\n\t"
                     "vpdpbusd %[b], %[a], %%zmm8\n\t"
                     "vpdpbusd %[b], %[a], %%zmm9\n\t"
                     "vpdpbusd %[b], %[a], %%zmm10\n\t"
                     "vpdpbusd %[b], %[a], %%zmm11\n\t"
                     "vpdpbusd %[b], %[a], %%zmm12\n\t"
                     "vpdpbusd %[b], %[a], %%zmm13\n\t"
                     "vpdpbusd %[b], %[a], %%zmm14\n\t"
                     "vpdpbusd %[b], %[a], %%zmm15\n\t"
                     "vpdpbusd %[b], %[a], %%zmm16\n\t"
                     "vpdpbusd %[b], %[a], %%zmm17\n\t"
                     "vpdpbusd %[b], %[a], %%zmm18\n\t"
                     "vpdpbusd %[b], %[a], %%zmm19\n\t"
                     "vpdpbusd %[b], %[a], %%zmm20\n\t"
                     "vpdpbusd %[b], %[a], %%zmm21\n\t"
                     "vpdpbusd %[b], %[a], %%zmm22\n\t"
                     "vpdpbusd %[b], %[a], %%zmm23\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     : [n] "+r"(n)
                     : [a] "v"(a), [b] "v"(b)
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",
                       "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "cc");
    return iters * kChains * 64;
}

/// The same with ymm vpdpbusd (AVX-512 VL encoding): 32 MACs per instruction.
__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"))) int64_t dpbusd_ymm_loop(int64_t iters,
                                                                                    int32_t seed) {
    const __m256i a = _mm256_set1_epi32(seed | 0x01010101);
    const __m256i b = _mm256_set1_epi32(seed ^ 0x02020202);
    int64_t n = iters;
    __asm__ volatile("1:\n\t"
                     "vpdpbusd %[b], %[a], %%ymm0\n\t"
                     "vpdpbusd %[b], %[a], %%ymm1\n\t"
                     "vpdpbusd %[b], %[a], %%ymm2\n\t"
                     "vpdpbusd %[b], %[a], %%ymm3\n\t"
                     "vpdpbusd %[b], %[a], %%ymm4\n\t"
                     "vpdpbusd %[b], %[a], %%ymm5\n\t"
                     "vpdpbusd %[b], %[a], %%ymm6\n\t"
                     "vpdpbusd %[b], %[a], %%ymm7\n\t"
                     "vpdpbusd %[b], %[a], %%ymm8\n\t"
                     "vpdpbusd %[b], %[a], %%ymm9\n\t"
                     "vpdpbusd %[b], %[a], %%ymm10\n\t"
                     "vpdpbusd %[b], %[a], %%ymm11\n\t"
                     "vpdpbusd %[b], %[a], %%ymm12\n\t"
                     "vpdpbusd %[b], %[a], %%ymm13\n\t"
                     "vpdpbusd %[b], %[a], %%ymm14\n\t"
                     "vpdpbusd %[b], %[a], %%ymm15\n\t"
                     "vpdpbusd %[b], %[a], %%ymm16\n\t"
                     "vpdpbusd %[b], %[a], %%ymm17\n\t"
                     "vpdpbusd %[b], %[a], %%ymm18\n\t"
                     "vpdpbusd %[b], %[a], %%ymm19\n\t"
                     "vpdpbusd %[b], %[a], %%ymm20\n\t"
                     "vpdpbusd %[b], %[a], %%ymm21\n\t"
                     "vpdpbusd %[b], %[a], %%ymm22\n\t"
                     "vpdpbusd %[b], %[a], %%ymm23\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     : [n] "+r"(n)
                     : [a] "v"(a), [b] "v"(b)
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",
                       "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "cc");
    return iters * kChains * 32;
}

/// Without VNNI: vpmaddwd + vpaddd on ymm (16 int16 MACs per pair), 12 chains.
__attribute__((target("avx2"))) int64_t madd_ymm_loop(int64_t iters, int32_t seed) {
    const __m256i a = _mm256_set1_epi32(seed | 0x00010001);
    const __m256i b = _mm256_set1_epi32(seed ^ 0x00020002);
    int64_t n = iters;
    __asm__ volatile("1:\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm0, %%ymm0\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm1, %%ymm1\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm2, %%ymm2\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm3, %%ymm3\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm4, %%ymm4\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm5, %%ymm5\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm6, %%ymm6\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm7, %%ymm7\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm8, %%ymm8\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm9, %%ymm9\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm10, %%ymm10\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm11, %%ymm11\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     : [n] "+r"(n)
                     : [a] "x"(a), [b] "x"(b)
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "cc");
    return iters * 12 * 16;
}
#endif

struct Limit {
    const char* name = "none";
    int64_t (*loop)(int64_t, int32_t) = nullptr;
};

/// The limit loop of the widest int8 multiply-add that `best` (the kernel measured) may use:
/// under TRISEG_KERNEL_ISA=avx2 the AVX2 loop even on a CPU with VNNI, so that a capped run
/// measures the kernel against the limit of the machine it stands in for. For the portable
/// kernel, the widest loop this CPU has.
Limit pick_limit(KernelIsa best) {
#if BENCH_X86
    const auto& f = triseg::engine::cpu_features();
    if (best == KernelIsa::Portable) {
        best = KernelIsa::Avx512Zmm;
    }
    if (best == KernelIsa::Avx512Zmm && f.avx512f && f.avx512vnni) {
        return {"vpdpbusd zmm", &dpbusd_zmm_loop};
    }
    if (static_cast<int>(best) >= static_cast<int>(KernelIsa::Avx512Vnni) && f.avx512vl &&
        f.avx512vnni) {
        return {"vpdpbusd ymm", &dpbusd_ymm_loop};
    }
    if (f.avx2) {
        return {"vpmaddwd+vpaddd ymm", &madd_ymm_loop};
    }
#else
    (void)best;
#endif
    return {};
}

/// GMAC/s of the limit loop on this thread, per thread CPU second, for about `seconds`.
double limit_gmacs_1(const Limit& limit, double seconds) {
    if (limit.loop == nullptr) {
        return 0.0;
    }
    limit.loop(kLimitIters / 16, 1); // warm-up (clock ramp, zmm power licence)
    int64_t macs = 0;
    const double start = thread_seconds();
    double elapsed = 0.0;
    do {
        macs += limit.loop(kLimitIters, 1);
        elapsed = thread_seconds() - start;
    } while (elapsed < seconds);
    return static_cast<double>(macs) / elapsed * 1e-9;
}

/// GMAC/s of `threads` threads each running the limit loop for about `seconds` of wall time
/// (wall time: on a shared machine this one reads low).
double limit_gmacs(const Limit& limit, int threads, double seconds) {
    if (limit.loop == nullptr) {
        return 0.0;
    }
    limit.loop(kLimitIters / 16, 1); // warm-up (clock ramp, zmm power licence)
    std::atomic<int64_t> macs{0};
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            int64_t mine = 0;
            do {
                mine += limit.loop(kLimitIters, t + 1);
            } while (std::chrono::duration<double>(Clock::now() - start).count() < seconds);
            macs += mine;
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    return static_cast<double>(macs.load()) / elapsed * 1e-9;
}

/// One conv of a graph network's layout: its shape and activation.
struct GraphShape {
    std::string name; ///< net/op, e.g. "resnet20/layer2.0.conv1"
    int64_t cin = 0;
    int64_t cout = 0;
    int64_t kernel = 1;
    int64_t stride = 1;
    int64_t padding = 0;
    int64_t groups = 1;
    int64_t side = 0; ///< input side
    triseg::models::LayoutAct act = triseg::models::LayoutAct::None;
    int net = 0;       ///< 0: ResNet-20, 1: MobileNetV2
    int64_t count = 1; ///< convs of this shape in the net

    int64_t out_side() const { return (side + 2 * padding - kernel) / stride + 1; }
    int64_t k() const { return cin / groups * kernel * kernel; }
    double macs() const { return static_cast<double>(cout * out_side() * out_side() * k()); }
    std::string kind() const {
        std::string kd = groups > 1 ? "dw" : "";
        kd += std::to_string(kernel) + "x" + std::to_string(kernel);
        return stride > 1 ? kd + "/" + std::to_string(stride) : kd;
    }
};

/// A graph network's layout at `width` on size x size inputs of `cin` channels, with the
/// output side of each op by name ("input": the image).
struct LayoutSides {
    std::vector<triseg::models::LayoutOp> layout;
    std::map<std::string, int64_t> side_of;
};

LayoutSides
layout_sides_of(triseg::models::ModelArch arch, double width, int64_t size, int64_t cin) {
    triseg::models::ModelOptions o;
    o.arch = arch;
    o.width = width;
    o.in_channels = cin;
    o.image_size = size;
    LayoutSides out;
    out.layout = triseg::models::graph_layout(o);
    const auto sides = triseg::models::layout_sides(out.layout, size);
    out.side_of["input"] = size;
    for (std::size_t i = 0; i < out.layout.size(); ++i) {
        out.side_of[out.layout[i].name] = sides[i];
    }
    return out;
}

/// The distinct conv shapes of ResNet-20 and MobileNetV2 (models::graph_layout) at `width`
/// on size x size inputs of `cin` channels, in forward order (the first op of each shape,
/// with the number of convs of that shape in its net).
std::vector<GraphShape> graph_shapes(double width, int64_t size, int64_t cin) {
    using triseg::models::ModelArch;
    std::vector<GraphShape> shapes;
    std::map<std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int>,
             std::size_t>
        seen; // shape -> its index in shapes
    for (const ModelArch arch : {ModelArch::ResNet20, ModelArch::MobileNetV2}) {
        const LayoutSides net = layout_sides_of(arch, width, size, cin);
        const auto& layout = net.layout;
        const auto& side_of = net.side_of;
        for (const auto& op : layout) {
            if (op.kind != triseg::models::LayoutOp::Kind::Conv) {
                continue;
            }
            GraphShape g;
            g.name = std::string(arch == ModelArch::ResNet20 ? "resnet20/" : "mbv2/") + op.name;
            g.cin = op.in_channels;
            g.cout = op.out_channels;
            g.kernel = op.kernel;
            g.stride = op.stride;
            g.padding = op.padding;
            g.groups = op.groups;
            g.side = side_of.at(op.inputs.at(0));
            g.act = op.act;
            g.net = arch == ModelArch::ResNet20 ? 0 : 1;
            const auto key = std::make_tuple(g.net, g.cin, g.cout, g.kernel, g.stride, g.groups,
                                             g.side, static_cast<int>(g.act));
            const auto it = seen.find(key);
            if (it == seen.end()) {
                seen.emplace(key, shapes.size());
                shapes.push_back(g);
            } else {
                ++shapes[it->second].count;
            }
        }
    }
    return shapes;
}

/// A graph of the input, one conv of shape `s` with random weights, and its output (the
/// kernels need no more). ReLU: zero point 0, clamp [0, 255]; ReLU6: clamp [0, 120]; linear:
/// zero point 128, clamp [0, 255].
triseg::models::Int8Graph graph_of(const GraphShape& s, triseg::Rng& rng) {
    triseg::models::Int8Graph g;
    const bool linear = s.act == triseg::models::LayoutAct::None;
    const int32_t zp_out = linear ? 128 : 0;
    g.tensors.push_back({"input", s.cin, s.side, s.side, {0.02f, 3}, false});
    g.tensors.push_back({"out", s.cout, s.out_side(), s.out_side(), {0.05f, zp_out}, !linear});
    triseg::models::Int8Op op;
    op.kind = triseg::models::Int8OpKind::Conv;
    op.name = s.name;
    op.inputs = {0};
    op.output = 1;
    op.kernel = s.kernel;
    op.stride = s.stride;
    op.padding = s.padding;
    op.groups = s.groups;
    op.in_channels = s.cin;
    op.out_channels = s.cout;
    for (int64_t i = 0; i < s.cout * s.k(); ++i) {
        op.weight.push_back(static_cast<int8_t>(static_cast<int>(rng.uniform_below(255)) - 127));
    }
    const auto m = triseg::engine::quantize_multiplier(0.001);
    for (int64_t oc = 0; oc < s.cout; ++oc) {
        op.weight_scale.push_back(0.01f);
        op.bias.push_back(static_cast<int32_t>(rng.uniform_below(20001)) - 10000);
        op.multiplier.push_back(m.multiplier);
        op.shift.push_back(m.shift);
    }
    op.clamp_min = zp_out;
    op.clamp_max = s.act == triseg::models::LayoutAct::Relu6 ? 120 : 255;
    g.ops.push_back(op);
    return g;
}

/// The graph convs' table: each distinct conv of ResNet-20 and MobileNetV2 on its fast kernel
/// (make_conv_kernel, ISA `best`) against the limit measured right before it, and against
/// conv_u8 (the portable loops every such conv ran on before it had a fast kernel).
void run_graph_convs(const Limit& limit,
                     KernelIsa best,
                     double width,
                     int64_t size,
                     int64_t cin,
                     int64_t rounds,
                     double min_seconds) {
    triseg::Rng rng(2);
    struct Row {
        GraphShape shape;
        triseg::models::Int8Graph graph;
        std::unique_ptr<triseg::engine::ConvKernel> kernel;
        std::vector<uint8_t> in;
        std::vector<uint8_t> out;
        std::vector<double> t_fast, t_old, lim;
    };
    std::vector<Row> rows;
    for (const GraphShape& s : graph_shapes(width, size, cin)) {
        Row r;
        r.shape = s;
        r.graph = graph_of(s, rng);
        r.kernel = triseg::engine::make_conv_kernel(r.graph, r.graph.ops[0]);
        r.in.resize(static_cast<std::size_t>(s.cin * s.side * s.side));
        for (auto& v : r.in) {
            v = static_cast<uint8_t>(rng.uniform_below(256));
        }
        r.out.resize(static_cast<std::size_t>(r.graph.tensors[1].size()));
        rows.push_back(std::move(r));
    }
    std::vector<int16_t> scratch;
    std::vector<int32_t> acc;
    for (int64_t round = 0; round < rounds; ++round) {
        for (Row& r : rows) {
            const auto& op = r.graph.ops[0];
            const auto& x = r.graph.tensors[0];
            const auto& y = r.graph.tensors[1];
            r.lim.push_back(limit_gmacs_1(limit, std::max(0.01, min_seconds / 2)));
            r.t_fast.push_back(seconds_per_call(
                [&] {
                    if (r.kernel != nullptr) {
                        r.kernel->run_with(best, r.in.data(), x.height, x.width, r.out.data(),
                                           nullptr, scratch);
                    } else {
                        triseg::engine::conv_u8(op, x, y, r.in.data(), r.out.data(), acc);
                    }
                },
                min_seconds));
            r.t_old.push_back(seconds_per_call(
                [&] { triseg::engine::conv_u8(op, x, y, r.in.data(), r.out.data(), acc); },
                min_seconds / 2));
        }
    }
    std::printf("\ngraph convs: ResNet-20 and MobileNetV2 w=%g on %lldx%lldx%lld (distinct "
                "shapes), kernel = %s, one thread, %lld rounds (medians); old = conv_u8\n",
                width, static_cast<long long>(size), static_cast<long long>(size),
                static_cast<long long>(cin), triseg::engine::kernel_isa_name(best),
                static_cast<long long>(rounds));
    std::printf("%-30s %-7s %3s %5s %5s %5s %5s %8s %9s %7s %9s %7s\n", "op", "kind", "n", "C_in",
                "C_out", "side", "K", "MMAC", "GMAC/s", "/limit", "old GMAC/s", "speedup");
    double min_big = 1e9;
    double macs_big = 0.0;
    double t_big = 0.0;
    double lim_big = 0.0;
    for (const Row& r : rows) {
        std::vector<double> ratios;
        for (int64_t i = 0; i < rounds; ++i) {
            ratios.push_back(r.shape.macs() / r.t_fast[i] * 1e-9 / r.lim[i]);
        }
        const double ratio = median(ratios);
        const double tf = median(r.t_fast);
        const double to = median(r.t_old);
        std::printf("%-30s %-7s %3lld %5lld %5lld %5lld %5lld %8.3f %9.2f %7.2f %9.2f %7.2f%s\n",
                    r.shape.name.c_str(), r.shape.kind().c_str(),
                    static_cast<long long>(r.shape.count), static_cast<long long>(r.shape.cin),
                    static_cast<long long>(r.shape.cout), static_cast<long long>(r.shape.side),
                    static_cast<long long>(r.shape.k()), r.shape.macs() * 1e-6,
                    r.shape.macs() / tf * 1e-9, ratio, r.shape.macs() / to * 1e-9, to / tf,
                    r.kernel == nullptr ? " (no fast kernel)" : "");
        if (r.shape.k() >= 288) {
            min_big = std::min(min_big, ratio);
            macs_big += r.shape.macs();
            t_big += tf;
            lim_big += tf * median(r.lim);
        }
    }
    for (int net = 0; net < 2; ++net) {
        double fast = 0.0;
        double old = 0.0;
        for (const Row& r : rows) {
            if (r.shape.net == net) {
                fast += static_cast<double>(r.shape.count) * median(r.t_fast);
                old += static_cast<double>(r.shape.count) * median(r.t_old);
            }
        }
        std::printf("%s, all its convs: %.1f us per image (conv_u8: %.1f us, %.1fx)\n",
                    net == 0 ? "ResNet-20" : "MobileNetV2", fast * 1e6, old * 1e6, old / fast);
    }
    if (macs_big > 0.0) {
        std::printf("summary (graph convs): %s, K>=288 convs together %.2f of the 1-core limit, "
                    "lowest %.2f\n",
                    triseg::engine::kernel_isa_name(best),
                    macs_big / t_big * 1e-9 / (lim_big / t_big), min_big);
    }
}

/// One add or global average pool of a graph network's layout.
struct ElementShape {
    std::string name; ///< net/op, e.g. "resnet20/layer1.0.out"
    bool add = true;  ///< else a global average pool
    int64_t channels = 0;
    int64_t side = 0; ///< input side
    triseg::models::LayoutAct act = triseg::models::LayoutAct::None;
    int net = 0;       ///< 0: ResNet-20, 1: MobileNetV2
    int64_t count = 1; ///< ops of this shape in the net

    int64_t codes() const { return channels * side * side; } ///< per input
    /// Bytes read and written: two inputs and the output (add), the input and output (pool).
    double bytes() const { return static_cast<double>(add ? 3 * codes() : codes() + channels); }
};

/// The distinct add and global-average-pool shapes of ResNet-20 and MobileNetV2 at `width` on
/// size x size inputs of `cin` channels, in forward order, counted as graph_shapes does.
std::vector<ElementShape> element_shapes(double width, int64_t size, int64_t cin) {
    using triseg::models::LayoutOp;
    using triseg::models::ModelArch;
    std::vector<ElementShape> shapes;
    for (const ModelArch arch : {ModelArch::ResNet20, ModelArch::MobileNetV2}) {
        const LayoutSides net = layout_sides_of(arch, width, size, cin);
        const auto& layout = net.layout;
        const auto& side_of = net.side_of;
        for (const auto& op : layout) {
            if (op.kind != LayoutOp::Kind::Add && op.kind != LayoutOp::Kind::GlobalAvgPool) {
                continue;
            }
            ElementShape e;
            e.name = std::string(arch == ModelArch::ResNet20 ? "resnet20/" : "mbv2/") + op.name;
            e.add = op.kind == LayoutOp::Kind::Add;
            e.channels = op.out_channels;
            e.side = side_of.at(op.inputs.at(0));
            e.act = op.act;
            e.net = arch == ModelArch::ResNet20 ? 0 : 1;
            const auto it = std::find_if(shapes.begin(), shapes.end(), [&](const ElementShape& s) {
                return s.net == e.net && s.add == e.add && s.channels == e.channels &&
                       s.side == e.side && s.act == e.act;
            });
            if (it == shapes.end()) {
                shapes.push_back(e);
            } else {
                ++it->count;
            }
        }
    }
    return shapes;
}

/// A graph of the op of shape `e`: tensors a (and b), out; requantization as an exporter
/// makes it. ResNet adds: a conv output without ReLU (zero point 128) plus a ReLU output
/// (zero point 0), then ReLU; MobileNetV2 adds: two linear tensors (128), linear output.
triseg::models::Int8Graph element_graph(const ElementShape& e) {
    triseg::models::Int8Graph g;
    const bool relu = e.act != triseg::models::LayoutAct::None;
    const int64_t side = e.add ? e.side : 1;
    g.tensors.push_back({"a", e.channels, e.side, e.side, {0.04f, 128}, false});
    g.tensors.push_back({"b", e.channels, e.side, e.side, {0.03f, relu ? 0 : 128}, false});
    g.tensors.push_back({"out", e.channels, side, side, {0.05f, relu ? 0 : 128}, relu});
    triseg::models::Int8Op op;
    op.name = e.name;
    op.output = 2;
    op.clamp_min = 0; // the ReLU output's zero point, or no lower clamp
    op.clamp_max = 255;
    if (e.add) {
        op.kind = triseg::models::Int8OpKind::Add;
        op.inputs = {0, 1};
        const auto m = triseg::engine::quantize_add_multipliers(0.04 / 0.05, 0.03 / 0.05);
        op.multiplier = {m.a, m.b};
        op.shift = {m.shift};
    } else {
        op.kind = triseg::models::Int8OpKind::GlobalAvgPool;
        op.inputs = {0};
        const auto m = triseg::engine::quantize_multiplier(
            0.04 / (0.05 * static_cast<double>(e.side * e.side)));
        op.multiplier = {m.multiplier};
        op.shift = {m.shift};
    }
    g.ops.push_back(op);
    return g;
}

/// The adds' and global average pools' table: each distinct one of ResNet-20 and MobileNetV2
/// on every ISA this CPU runs against the portable loops (add_u8 / avgpool_u8 without an
/// ISA), timed alternately in each round. Memory-bound ops: Gcode/s (output codes) and GB/s
/// (inputs read + output written), and the ratio to the portable loops.
void run_graph_elementwise(
    double width, int64_t size, int64_t cin, int64_t rounds, double min_seconds) {
    namespace eng = triseg::engine;
    std::vector<KernelIsa> isas;
    for (KernelIsa isa : {KernelIsa::Avx2, KernelIsa::Avx512Vnni, KernelIsa::Avx512Zmm}) {
        if (eng::kernel_isa_supported(isa)) {
            isas.push_back(isa);
        }
    }
    triseg::Rng rng(3);
    struct Row {
        ElementShape shape;
        triseg::models::Int8Graph graph;
        std::vector<uint8_t> a, b, out;
        std::vector<double> t_portable;
        std::vector<std::vector<double>> t_isa; ///< [isa][round]
    };
    std::vector<Row> rows;
    for (const ElementShape& e : element_shapes(width, size, cin)) {
        Row r;
        r.shape = e;
        r.graph = element_graph(e);
        for (auto* v : {&r.a, &r.b}) {
            v->resize(static_cast<std::size_t>(e.codes()));
            for (auto& c : *v) {
                c = static_cast<uint8_t>(rng.uniform_below(256));
            }
        }
        r.out.resize(static_cast<std::size_t>(r.graph.tensors[2].size()));
        r.t_isa.resize(isas.size());
        rows.push_back(std::move(r));
    }
    // isa null: the portable loops.
    const auto run = [](Row& r, const KernelIsa* isa) {
        const auto& op = r.graph.ops[0];
        const auto& t = r.graph.tensors;
        if (r.shape.add) {
            if (isa == nullptr) {
                eng::add_u8(op, t[0], t[1], t[2], r.a.data(), r.b.data(), r.out.data());
            } else {
                eng::add_u8(*isa, op, t[0], t[1], t[2], r.a.data(), r.b.data(), r.out.data());
            }
        } else if (isa == nullptr) {
            eng::avgpool_u8(op, t[0], t[2], r.a.data(), r.out.data());
        } else {
            eng::avgpool_u8(*isa, op, t[0], t[2], r.a.data(), r.out.data());
        }
    };
    for (int64_t round = 0; round < rounds; ++round) {
        for (Row& r : rows) {
            r.t_portable.push_back(seconds_per_call([&] { run(r, nullptr); }, min_seconds / 2));
            for (std::size_t k = 0; k < isas.size(); ++k) {
                r.t_isa[k].push_back(seconds_per_call([&] { run(r, &isas[k]); }, min_seconds / 2));
            }
        }
    }
    std::printf("\ngraph adds and global average pools: ResNet-20 and MobileNetV2 w=%g on "
                "%lldx%lldx%lld (distinct shapes), one thread, %lld rounds (medians); Gcode/s = "
                "output codes (add) or input codes (gap) per second, x = ratio to portable\n",
                width, static_cast<long long>(size), static_cast<long long>(size),
                static_cast<long long>(cin), static_cast<long long>(rounds));
    std::printf("%-28s %-4s %3s %5s %4s %7s %9s %7s", "op", "kind", "n", "C", "side", "codes",
                "port us", "Gcode/s");
    for (KernelIsa isa : isas) {
        std::printf(" | %-16s %7s %6s %5s", eng::kernel_isa_name(isa), "Gcode/s", "GB/s", "x");
    }
    std::printf("\n");
    for (const Row& r : rows) {
        const double tp = median(r.t_portable);
        const auto n = static_cast<double>(r.shape.codes());
        std::printf("%-28s %-4s %3lld %5lld %4lld %7lld %9.2f %7.2f", r.shape.name.c_str(),
                    r.shape.add ? "add" : "gap", static_cast<long long>(r.shape.count),
                    static_cast<long long>(r.shape.channels), static_cast<long long>(r.shape.side),
                    static_cast<long long>(r.shape.codes()), tp * 1e6, n / tp * 1e-9);
        for (std::size_t k = 0; k < isas.size(); ++k) {
            std::vector<double> ratios;
            for (int64_t i = 0; i < rounds; ++i) {
                ratios.push_back(r.t_portable[static_cast<std::size_t>(i)] /
                                 r.t_isa[k][static_cast<std::size_t>(i)]);
            }
            const double t = median(r.t_isa[k]);
            std::printf(" | %-16s %7.2f %6.2f %5.2f", "", n / t * 1e-9, r.shape.bytes() / t * 1e-9,
                        median(ratios));
        }
        std::printf("\n");
    }
    for (int net = 0; net < 2; ++net) {
        double portable = 0.0;
        std::vector<double> fast(isas.size(), 0.0);
        for (const Row& r : rows) {
            if (r.shape.net == net) {
                const auto c = static_cast<double>(r.shape.count);
                portable += c * median(r.t_portable);
                for (std::size_t k = 0; k < isas.size(); ++k) {
                    fast[k] += c * median(r.t_isa[k]);
                }
            }
        }
        std::printf("%s, all its adds and its gap: portable %.1f us per image",
                    net == 0 ? "ResNet-20" : "MobileNetV2", portable * 1e6);
        for (std::size_t k = 0; k < isas.size(); ++k) {
            std::printf(", %s %.1f us (%.1fx)", eng::kernel_isa_name(isas[k]), fast[k] * 1e6,
                        portable / fast[k]);
        }
        std::printf("\n");
    }
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
