// run_graph_convs and run_graph_elementwise (graph_op_tables.h).
#include "bench/graph_op_tables.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/rng.h"
#include "engine/core/requant.h"
#include "engine/int8/conv_kernel.h"
#include "engine/int8/graph_kernels.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_reference.h"
#include "models/spec/graph_layout.h"
#include "models/spec/int8_graph.h"

namespace triseg::bench {

namespace {

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

} // namespace

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

} // namespace triseg::bench
