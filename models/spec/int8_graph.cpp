// Int8Graph: conversion from and to the VGG chain, validation, points and MAC counts.
#include "models/spec/int8_graph.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>

#include "common/error.h"

namespace triseg::models {

namespace {

constexpr int32_t kWeightLimit = 127;
constexpr int64_t kMinMultiplier = int64_t{1} << 30;
constexpr int64_t kMaxMultiplier = (int64_t{1} << 31) - 1;
constexpr int32_t kMinShift = 1;
constexpr int32_t kMaxShift = 62;
constexpr float kMinScale = 1e-10f;
constexpr float kMaxScale = 1e10f;
constexpr int64_t kMaxKernel = 15;
constexpr int64_t kMaxSide = 1 << 14;
constexpr int64_t kMaxChannels = int64_t{1} << 16;

bool is_graph_name(const std::string& name) {
    return !name.empty() && name.size() <= 256 &&
           std::all_of(name.begin(), name.end(), [](char ch) {
               return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' || ch == '.' ||
                      ch == '-';
           });
}

std::string quant_text(const QuantParams& q) {
    std::ostringstream os;
    os << "scale " << q.scale << ", zero_point " << q.zero_point;
    return os.str();
}

void check_quant(const QuantParams& q, const std::string& at) {
    TRISEG_CHECK(std::isfinite(q.scale) && q.scale >= kMinScale && q.scale <= kMaxScale, InputError,
                 at << ": scale must be in [" << kMinScale << ", " << kMaxScale << "], got "
                    << q.scale);
    TRISEG_CHECK(q.zero_point >= 0 && q.zero_point <= 255, InputError,
                 at << ": zero_point must be in [0, 255], got " << q.zero_point);
}

void check_count(const std::string& at, const char* field, size_t got, int64_t want) {
    TRISEG_CHECK(got == static_cast<size_t>(want), InputError,
                 at << ": " << field << " holds " << got << " values, expected " << want);
}

void check_weights(const std::string& at, const Int8Op& op, int64_t per_output) {
    check_count(at, "weight", op.weight.size(), op.out_channels * per_output);
    check_count(at, "weight_scale", op.weight_scale.size(), op.out_channels);
    check_count(at, "bias", op.bias.size(), op.out_channels);
    for (size_t i = 0; i < op.weight.size(); ++i) {
        TRISEG_CHECK(op.weight[i] >= -kWeightLimit && op.weight[i] <= kWeightLimit, InputError,
                     at << ": weight[" << i << "] (flat index) = " << int{op.weight[i]}
                        << " is outside [-127, 127] (symmetric int8)");
    }
    for (size_t i = 0; i < op.weight_scale.size(); ++i) {
        const float s = op.weight_scale[i];
        TRISEG_CHECK(std::isfinite(s) && s >= kMinScale && s <= kMaxScale, InputError,
                     at << ": weight_scale[" << i << "] must be in [" << kMinScale << ", "
                        << kMaxScale << "], got " << s);
    }
}

/// |bias| + max(zp, 255 - zp) * sum |w| <= INT32_MAX for every output channel.
void check_accumulator(const std::string& at, const Int8Op& op, int64_t per_output, int32_t zp) {
    const int64_t reach = std::max<int64_t>(zp, 255 - zp);
    for (int64_t o = 0; o < op.out_channels; ++o) {
        int64_t sum = 0;
        for (int64_t k = 0; k < per_output; ++k) {
            sum += std::abs(int64_t{op.weight[static_cast<size_t>(o * per_output + k)]});
        }
        const int64_t bound = std::abs(int64_t{op.bias[static_cast<size_t>(o)]}) + reach * sum;
        TRISEG_CHECK(bound <= std::numeric_limits<int32_t>::max(), InputError,
                     at << ": output channel " << o << " can reach an accumulator of " << bound
                        << ", beyond int32 (|bias| + " << reach << " x sum |weight|)");
    }
}

void check_requant(const std::string& at, const Int8Op& op, int64_t count) {
    check_count(at, "multiplier", op.multiplier.size(), count);
    check_count(at, "shift", op.shift.size(), count);
    for (size_t i = 0; i < op.multiplier.size(); ++i) {
        TRISEG_CHECK(op.multiplier[i] >= kMinMultiplier && op.multiplier[i] <= kMaxMultiplier,
                     InputError,
                     at << ": multiplier[" << i << "] = " << op.multiplier[i]
                        << " is outside [2^30, 2^31) = [1073741824, 2147483647]");
        TRISEG_CHECK(op.shift[i] >= kMinShift && op.shift[i] <= kMaxShift, InputError,
                     at << ": shift[" << i << "] = " << op.shift[i] << " is outside [1, 62]");
    }
}

void check_clamp(const std::string& at, const Int8Op& op, const Int8Tensor& out) {
    TRISEG_CHECK(op.clamp_min >= 0 && op.clamp_max <= 255 && op.clamp_min <= op.clamp_max,
                 InputError,
                 at << ": clamp [" << op.clamp_min << ", " << op.clamp_max
                    << "] must lie in [0, 255] with clamp_min <= clamp_max");
    TRISEG_CHECK(!out.point || op.clamp_min == out.quant.zero_point, InputError,
                 at << ": its output '" << out.name << "' is an approximation point (a ReLU "
                    << "output), so clamp_min must be its zero point " << out.quant.zero_point
                    << ", got " << op.clamp_min);
}

/// Output side of a window op: (side + 2 pad - k) / stride + 1, which must be >= 1.
int64_t window_side(const std::string& at, int64_t side, int64_t k, int64_t stride, int64_t pad) {
    const int64_t span = side + 2 * pad - k;
    TRISEG_CHECK(span >= 0, InputError,
                 at << ": a " << k << "x" << k << " window with padding " << pad
                    << " does not fit a side of " << side);
    return span / stride + 1;
}

void check_window(const std::string& at, const Int8Op& op, bool padded) {
    TRISEG_CHECK(op.kernel >= 1 && op.kernel <= kMaxKernel, InputError,
                 at << ": kernel must be in [1, " << kMaxKernel << "], got " << op.kernel);
    TRISEG_CHECK(op.stride >= 1 && op.stride <= op.kernel + 1, InputError,
                 at << ": stride must be in [1, kernel + 1], got " << op.stride);
    TRISEG_CHECK(
        op.padding >= 0 && op.padding < op.kernel && (padded || op.padding == 0), InputError,
        at << ": padding must be " << (padded ? "in [0, kernel)" : "0") << ", got " << op.padding);
}

void check_shape(
    const std::string& at, const Int8Tensor& out, int64_t channels, int64_t height, int64_t width) {
    TRISEG_CHECK(out.channels == channels && out.height == height && out.width == width, InputError,
                 at << ": output '" << out.name << "' is " << out.channels << "x" << out.height
                    << "x" << out.width << ", but the op makes " << channels << "x" << height << "x"
                    << width);
}

void check_op(const Int8Graph& g, size_t index, const std::string& what) {
    const Int8Op& op = g.ops[index];
    const std::string at = what + ": op " + std::to_string(index) + " '" + op.name + "' (" +
                           op_kind_name(op.kind) + ")";
    const size_t want_inputs = op.kind == Int8OpKind::Add ? 2 : 1;
    TRISEG_CHECK(op.inputs.size() == want_inputs, InputError,
                 at << ": has " << op.inputs.size() << " inputs, expected " << want_inputs);
    const Int8Tensor& in = g.tensors[static_cast<size_t>(op.inputs[0])];
    if (op.kind == Int8OpKind::Linear) {
        TRISEG_CHECK(op.in_channels == in.size(), InputError,
                     at << ": in_features is " << op.in_channels << ", but its input '" << in.name
                        << "' holds " << in.size() << " codes (" << in.channels << "x" << in.height
                        << "x" << in.width << ")");
        TRISEG_CHECK(op.out_channels == g.model.num_classes, InputError,
                     at << ": out_features is " << op.out_channels << ", expected "
                        << g.model.num_classes << " (model.num_classes)");
        check_weights(at, op, op.in_channels);
        return;
    }
    const Int8Tensor& out = g.tensors[static_cast<size_t>(op.output)];
    switch (op.kind) {
    case Int8OpKind::Conv: {
        check_window(at, op, true);
        TRISEG_CHECK(op.in_channels == in.channels, InputError,
                     at << ": in_channels is " << op.in_channels << ", but its input '" << in.name
                        << "' has " << in.channels << " channels");
        TRISEG_CHECK(op.out_channels >= 1 && op.out_channels <= kMaxChannels, InputError,
                     at << ": out_channels must be in [1, " << kMaxChannels << "], got "
                        << op.out_channels);
        TRISEG_CHECK(op.groups >= 1 && op.in_channels % op.groups == 0 &&
                         op.out_channels % op.groups == 0,
                     InputError,
                     at << ": groups " << op.groups << " must divide in_channels " << op.in_channels
                        << " and out_channels " << op.out_channels
                        << " (a depthwise conv has groups = in_channels = out_channels)");
        const int64_t per = op.in_channels / op.groups * op.kernel * op.kernel;
        check_shape(at, out, op.out_channels,
                    window_side(at, in.height, op.kernel, op.stride, op.padding),
                    window_side(at, in.width, op.kernel, op.stride, op.padding));
        check_weights(at, op, per);
        check_requant(at, op, op.out_channels);
        check_clamp(at, op, out);
        return;
    }
    case Int8OpKind::Add: {
        const Int8Tensor& b = g.tensors[static_cast<size_t>(op.inputs[1])];
        TRISEG_CHECK(in.channels == b.channels && in.height == b.height && in.width == b.width,
                     InputError,
                     at << ": its inputs '" << in.name << "' (" << in.channels << "x" << in.height
                        << "x" << in.width << ") and '" << b.name << "' (" << b.channels << "x"
                        << b.height << "x" << b.width << ") differ in shape");
        check_shape(at, out, in.channels, in.height, in.width);
        check_count(at, "multiplier", op.multiplier.size(), 2);
        check_count(at, "shift", op.shift.size(), 1);
        for (size_t i = 0; i < 2; ++i) {
            TRISEG_CHECK(op.multiplier[i] >= 0 && op.multiplier[i] <= kMaxMultiplier, InputError,
                         at << ": multiplier[" << i << "] = " << op.multiplier[i]
                            << " is outside [0, 2^31)");
        }
        TRISEG_CHECK(op.shift[0] >= kMinShift && op.shift[0] <= kMaxShift, InputError,
                     at << ": shift = " << op.shift[0] << " is outside [1, 62]");
        check_clamp(at, op, out);
        return;
    }
    case Int8OpKind::MaxPool:
        check_window(at, op, false);
        check_shape(at, out, in.channels, window_side(at, in.height, op.kernel, op.stride, 0),
                    window_side(at, in.width, op.kernel, op.stride, 0));
        TRISEG_CHECK(out.quant == in.quant, InputError,
                     at << ": a max-pool keeps its input's quantization (" << quant_text(in.quant)
                        << "), but '" << out.name << "' has " << quant_text(out.quant));
        TRISEG_CHECK(!out.point, InputError,
                     at << ": a max-pool output cannot be an approximation point");
        return;
    case Int8OpKind::AvgPool:
    case Int8OpKind::GlobalAvgPool: {
        if (op.kind == Int8OpKind::AvgPool) {
            check_window(at, op, false);
            check_shape(at, out, in.channels, window_side(at, in.height, op.kernel, op.stride, 0),
                        window_side(at, in.width, op.kernel, op.stride, 0));
        } else {
            check_shape(at, out, in.channels, 1, 1);
        }
        check_requant(at, op, 1);
        TRISEG_CHECK(!out.point, InputError,
                     at << ": an average-pool output cannot be an approximation point");
        check_clamp(at, op, out);
        return;
    }
    case Int8OpKind::Linear:
        return;
    }
}

} // namespace

const char* op_kind_name(Int8OpKind kind) {
    switch (kind) {
    case Int8OpKind::Conv:
        return "conv";
    case Int8OpKind::Add:
        return "add";
    case Int8OpKind::MaxPool:
        return "maxpool";
    case Int8OpKind::AvgPool:
        return "avgpool";
    case Int8OpKind::GlobalAvgPool:
        return "gap";
    case Int8OpKind::Linear:
        return "linear";
    }
    return "?";
}

Int8OpKind op_kind_from_name(const std::string& name) {
    for (Int8OpKind k : {Int8OpKind::Conv, Int8OpKind::Add, Int8OpKind::MaxPool,
                         Int8OpKind::AvgPool, Int8OpKind::GlobalAvgPool, Int8OpKind::Linear}) {
        if (name == op_kind_name(k)) {
            return k;
        }
    }
    throw InputError("unknown op kind '" + name +
                     "' (expected conv, add, maxpool, avgpool, gap or linear)");
}

Int8Graph graph_from_chain(const Int8Model& chain) {
    Int8Graph g;
    g.model = chain.model;
    g.input_mean = chain.input_mean;
    g.input_std = chain.input_std;
    g.provenance = chain.provenance;
    int64_t side = chain.model.image_size;
    g.tensors.push_back({"input", chain.model.in_channels, side, side, chain.input, false});
    int32_t current = 0;
    for (const Int8ConvLayer& l : chain.convs) {
        Int8Op op;
        op.kind = Int8OpKind::Conv;
        op.name = l.name;
        op.inputs = {current};
        op.kernel = 3;
        op.stride = 1;
        op.padding = 1;
        op.in_channels = l.in_channels;
        op.out_channels = l.out_channels;
        op.weight = l.weight;
        op.weight_scale = l.weight_scale;
        op.bias = l.bias;
        op.multiplier = l.multiplier;
        op.shift = l.shift;
        op.clamp_min = l.output.zero_point;
        op.clamp_max = 255;
        g.tensors.push_back({l.name, l.out_channels, side, side, l.output, true});
        current = static_cast<int32_t>(g.tensors.size() - 1);
        op.output = current;
        g.ops.push_back(std::move(op));
        if (l.pool_after) {
            Int8Op pool;
            pool.kind = Int8OpKind::MaxPool;
            pool.name = l.name + ".pool";
            pool.inputs = {current};
            pool.kernel = 2;
            pool.stride = 2;
            side /= 2;
            g.tensors.push_back({pool.name, l.out_channels, side, side, l.output, false});
            current = static_cast<int32_t>(g.tensors.size() - 1);
            pool.output = current;
            g.ops.push_back(std::move(pool));
        }
    }
    Int8Op fc;
    fc.kind = Int8OpKind::Linear;
    fc.name = "classifier";
    fc.inputs = {current};
    fc.in_channels = chain.classifier.in_features;
    fc.out_channels = chain.classifier.out_features;
    fc.weight = chain.classifier.weight;
    fc.weight_scale = chain.classifier.weight_scale;
    fc.bias = chain.classifier.bias;
    g.ops.push_back(std::move(fc));
    return g;
}

namespace {

/// Why `g` is not a VGG chain, or "" when it is one.
std::string chain_fault(const Int8Graph& g) {
    if (g.tensors.empty() || g.ops.empty()) {
        return "it has no ops";
    }
    int32_t current = 0;
    for (size_t i = 0; i + 1 < g.ops.size(); ++i) {
        const Int8Op& op = g.ops[i];
        if (op.inputs.size() != 1 || op.inputs[0] != current) {
            return "op '" + op.name + "' does not read the previous op's output";
        }
        if (op.kind == Int8OpKind::Conv) {
            const Int8Tensor& out = g.tensors[static_cast<size_t>(op.output)];
            if (op.kernel != 3 || op.stride != 1 || op.padding != 1 || op.groups != 1 ||
                !out.point || op.clamp_max != 255) {
                return "conv '" + op.name + "' is not a 3x3 stride-1 ReLU conv";
            }
        } else if (op.kind == Int8OpKind::MaxPool) {
            if (op.kernel != 2 || op.stride != 2 || i == 0 ||
                g.ops[i - 1].kind != Int8OpKind::Conv) {
                return "max-pool '" + op.name + "' is not a 2x2 pool after a conv";
            }
        } else {
            return std::string("it has a ") + op_kind_name(op.kind) + " op ('" + op.name + "')";
        }
        current = op.output;
    }
    const Int8Op& last = g.ops.back();
    if (last.kind != Int8OpKind::Linear || last.inputs.size() != 1 || last.inputs[0] != current) {
        return "its last op is not a classifier on the last tensor";
    }
    return "";
}

} // namespace

bool is_chain(const Int8Graph& graph) {
    return chain_fault(graph).empty();
}

Int8Model chain_from_graph(const Int8Graph& g) {
    const std::string fault = chain_fault(g);
    TRISEG_CHECK(fault.empty(), InputError,
                 "the integer model is not a VGG chain (" << fault << "); this stage needs one");
    Int8Model m;
    m.model = g.model;
    m.input = g.input_quant();
    m.input_mean = g.input_mean;
    m.input_std = g.input_std;
    m.provenance = g.provenance;
    for (size_t i = 0; i + 1 < g.ops.size(); ++i) {
        const Int8Op& op = g.ops[i];
        if (op.kind == Int8OpKind::MaxPool) {
            m.convs.back().pool_after = true;
            continue;
        }
        m.convs.push_back(conv_layer_of(g, op));
    }
    const Int8Op& fc = g.ops.back();
    m.classifier.in_features = fc.in_channels;
    m.classifier.out_features = fc.out_channels;
    m.classifier.weight = fc.weight;
    m.classifier.weight_scale = fc.weight_scale;
    m.classifier.bias = fc.bias;
    m.classifier.input = g.tensors[static_cast<size_t>(fc.inputs[0])].quant;
    return m;
}

Int8ConvLayer conv_layer_of(const Int8Graph& g, const Int8Op& op) {
    Int8ConvLayer l;
    l.name = op.name;
    l.in_channels = op.in_channels;
    l.out_channels = op.out_channels;
    l.weight = op.weight;
    l.weight_scale = op.weight_scale;
    l.bias = op.bias;
    l.multiplier = op.multiplier;
    l.shift = op.shift;
    l.input = g.tensors.at(static_cast<size_t>(op.inputs.at(0))).quant;
    l.output = g.tensors.at(static_cast<size_t>(op.output)).quant;
    return l;
}

void validate_graph(const Int8Graph& g, const std::string& what) {
    TRISEG_CHECK(!g.tensors.empty(), InputError, what << ": the graph has no input tensor");
    TRISEG_CHECK(g.ops.size() >= 2, InputError,
                 what << ": the graph has " << g.ops.size()
                      << " ops; it needs at least one op and the classifier");
    const Int8Tensor& input = g.tensors[0];
    TRISEG_CHECK(input.channels == g.model.in_channels && input.height == g.model.image_size &&
                     input.width == g.model.image_size && !input.point,
                 InputError,
                 what << ": tensor 0 must be the input, " << g.model.in_channels << "x"
                      << g.model.image_size << "x" << g.model.image_size
                      << " (model.in_channels x model.image_size^2), not a point; got '"
                      << input.name << "' " << input.channels << "x" << input.height << "x"
                      << input.width);
    check_count(what, "input_mean", g.input_mean.size(), g.model.in_channels);
    check_count(what, "input_std", g.input_std.size(), g.model.in_channels);
    std::set<std::string> names;
    for (size_t t = 0; t < g.tensors.size(); ++t) {
        const Int8Tensor& x = g.tensors[t];
        const std::string at = what + ": tensor " + std::to_string(t) + " '" + x.name + "'";
        TRISEG_CHECK(is_graph_name(x.name), InputError,
                     at << ": a name holds 1 to 256 letters, digits, '_', '.' or '-'");
        TRISEG_CHECK(names.insert(x.name).second, InputError,
                     at << ": the name is used by another tensor");
        TRISEG_CHECK(x.channels >= 1 && x.channels <= kMaxChannels && x.height >= 1 &&
                         x.height <= kMaxSide && x.width >= 1 && x.width <= kMaxSide,
                     InputError,
                     at << ": shape " << x.channels << "x" << x.height << "x" << x.width
                        << " is outside [1, " << kMaxChannels << "] x [1, " << kMaxSide << "]^2");
        check_quant(x.quant, at);
    }
    // Each tensor other than the input is defined by exactly one op, before any op reads it.
    std::vector<int64_t> defined_by(g.tensors.size(), -1);
    std::set<std::string> op_names;
    for (size_t i = 0; i < g.ops.size(); ++i) {
        const Int8Op& op = g.ops[i];
        const std::string at = what + ": op " + std::to_string(i) + " '" + op.name + "'";
        TRISEG_CHECK(is_graph_name(op.name), InputError,
                     at << ": a name holds 1 to 256 letters, digits, '_', '.' or '-'");
        TRISEG_CHECK(op_names.insert(op.name).second, InputError,
                     at << ": the name is used by another op");
        const bool last = i + 1 == g.ops.size();
        TRISEG_CHECK((op.kind == Int8OpKind::Linear) == last, InputError,
                     at << ": "
                        << (last ? "the last op must be the linear classifier"
                                 : "only the last op may be linear"));
        for (int32_t t : op.inputs) {
            TRISEG_CHECK(t >= 0 && static_cast<size_t>(t) < g.tensors.size(), InputError,
                         at << ": reads tensor " << t << ", which does not exist (the graph has "
                            << g.tensors.size() << ")");
            TRISEG_CHECK(t == 0 || defined_by[static_cast<size_t>(t)] >= 0, InputError,
                         at << ": reads tensor '" << g.tensors[static_cast<size_t>(t)].name
                            << "' before any op defines it (an undefined tensor or a cycle)");
        }
        if (op.kind == Int8OpKind::Linear) {
            TRISEG_CHECK(op.output == -1, InputError,
                         at << ": the classifier's output is the logits (output -1)");
        } else {
            TRISEG_CHECK(op.output > 0 && static_cast<size_t>(op.output) < g.tensors.size(),
                         InputError,
                         at << ": writes tensor " << op.output << ", which is not a tensor "
                            << "other than the input");
            auto& def = defined_by[static_cast<size_t>(op.output)];
            TRISEG_CHECK(def < 0, InputError,
                         at << ": writes tensor '" << g.tensors[static_cast<size_t>(op.output)].name
                            << "', which op " << def << " already defines");
            def = static_cast<int64_t>(i);
        }
        check_op(g, i, what);
    }
    for (size_t t = 1; t < g.tensors.size(); ++t) {
        TRISEG_CHECK(defined_by[t] >= 0, InputError,
                     what << ": no op defines tensor '" << g.tensors[t].name << "'");
    }
}

void validate_graph_accumulators(const Int8Graph& g, const std::string& what) {
    for (size_t i = 0; i < g.ops.size(); ++i) {
        const Int8Op& op = g.ops[i];
        if (op.kind != Int8OpKind::Conv && op.kind != Int8OpKind::Linear) {
            continue;
        }
        const std::string at = what + ": op " + std::to_string(i) + " '" + op.name + "' (" +
                               op_kind_name(op.kind) + ")";
        const int64_t per = op.kind == Int8OpKind::Linear
                                ? op.in_channels
                                : op.in_channels / op.groups * op.kernel * op.kernel;
        check_accumulator(at, op, per,
                          g.tensors[static_cast<size_t>(op.inputs[0])].quant.zero_point);
    }
}

std::vector<int32_t> graph_points(const Int8Graph& graph) {
    std::vector<int32_t> points;
    for (const Int8Op& op : graph.ops) {
        if (op.output > 0 && graph.tensors[static_cast<size_t>(op.output)].point) {
            points.push_back(op.output);
        }
    }
    return points;
}

int64_t op_macs(const Int8Graph& graph, const Int8Op& op) {
    switch (op.kind) {
    case Int8OpKind::Conv: {
        const Int8Tensor& out = graph.tensors[static_cast<size_t>(op.output)];
        return out.channels * (op.in_channels / op.groups) * op.kernel * op.kernel * out.height *
               out.width;
    }
    case Int8OpKind::Linear:
        return op.in_channels * op.out_channels;
    default:
        return 0;
    }
}

} // namespace triseg::models
