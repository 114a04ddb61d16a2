// Test helpers: random but valid integer graphs (a small residual network and a small
// MobileNetV2-like network), calibrated on a random image so that codes spread over [0, 255].
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/rng.h"
#include "engine/core/requant.h"
#include "engine/int8/int8_reference.h"
#include "models/spec/int8_graph.h"

namespace triseg::test {

/// The activation after an op: none (linear, signed values around zero point 128), ReLU (a
/// point), ReLU6 (a point clamped at the code of 6.0).
enum class Act { None, Relu, Relu6 };

/// Builds a graph op by op. Each op's requantization is set from its accumulators on one
/// random calibration image (computed here, from the formulas), so the codes it makes spread.
class GraphBuilder {
public:
    GraphBuilder(int64_t in_channels, int64_t side, uint64_t seed) : rng_(seed) {
        g_.model.in_channels = in_channels;
        g_.model.image_size = side;
        g_.model.num_classes = 10;
        for (int64_t c = 0; c < in_channels; ++c) {
            g_.input_mean.push_back(0.5f);
            g_.input_std.push_back(0.25f);
        }
        g_.provenance = "random test graph, seed " + std::to_string(seed);
        add_tensor("input", in_channels, side, side, quant(0.02f, 61), false);
        values_.back().resize(static_cast<size_t>(g_.tensors.back().size()));
        for (auto& v : values_.back()) {
            v = static_cast<uint8_t>(rng_.uniform_below(256));
        }
    }

    int32_t conv(const std::string& name,
                 int32_t x,
                 int64_t out_channels,
                 int64_t kernel,
                 int64_t stride,
                 int64_t padding,
                 int64_t groups,
                 Act act) {
        const models::Int8Tensor in = g_.tensors[static_cast<size_t>(x)];
        models::Int8Op op;
        op.kind = models::Int8OpKind::Conv;
        op.name = name;
        op.inputs = {x};
        op.kernel = kernel;
        op.stride = stride;
        op.padding = padding;
        op.groups = groups;
        op.in_channels = in.channels;
        op.out_channels = out_channels;
        const int64_t per = in.channels / groups * kernel * kernel;
        for (int64_t i = 0; i < out_channels * per; ++i) {
            op.weight.push_back(
                static_cast<int8_t>(static_cast<int64_t>(rng_.uniform_below(255)) - 127));
        }
        const int64_t ho = (in.height + 2 * padding - kernel) / stride + 1;
        const int64_t wo = (in.width + 2 * padding - kernel) / stride + 1;
        const int32_t zp = act == Act::None ? 128 : static_cast<int32_t>(rng_.uniform_below(20));
        const models::QuantParams q = quant(0.05f, zp);
        // Accumulators without bias on the calibration image, per output channel.
        const std::vector<uint8_t>& v = values_[static_cast<size_t>(x)];
        for (int64_t oc = 0; oc < out_channels; ++oc) {
            const int64_t g = oc / (out_channels / groups);
            const int64_t cin_g = in.channels / groups;
            double sum = 0;
            double sq = 0;
            for (int64_t oy = 0; oy < ho; ++oy) {
                for (int64_t ox = 0; ox < wo; ++ox) {
                    int64_t acc = 0;
                    for (int64_t i = 0; i < cin_g; ++i) {
                        for (int64_t ky = 0; ky < kernel; ++ky) {
                            for (int64_t kx = 0; kx < kernel; ++kx) {
                                const int64_t iy = oy * stride - padding + ky;
                                const int64_t ix = ox * stride - padding + kx;
                                if (iy < 0 || iy >= in.height || ix < 0 || ix >= in.width) {
                                    continue;
                                }
                                const int64_t code = v[static_cast<size_t>(
                                    ((g * cin_g + i) * in.height + iy) * in.width + ix)];
                                acc += op.weight[static_cast<size_t>(
                                           ((oc * cin_g + i) * kernel + ky) * kernel + kx)] *
                                       (code - in.quant.zero_point);
                            }
                        }
                    }
                    sum += static_cast<double>(acc);
                    sq += static_cast<double>(acc) * static_cast<double>(acc);
                }
            }
            const double n = static_cast<double>(ho * wo);
            const double mean = sum / n;
            const double sd = std::sqrt(std::max(sq / n - mean * mean, 1.0));
            // Centre the channel (a small random offset) and aim at a code spread of about 60.
            const double offset = (static_cast<double>(rng_.uniform_below(41)) - 20.0) / 40.0;
            op.bias.push_back(static_cast<int32_t>(std::llround(-mean + offset * sd)));
            const engine::FixedPointMultiplier m = engine::quantize_multiplier(60.0 / sd);
            op.multiplier.push_back(m.multiplier);
            op.shift.push_back(m.shift);
            op.weight_scale.push_back(0.01f);
        }
        op.clamp_min = act == Act::None ? 0 : zp;
        op.clamp_max = act == Act::Relu6 ? std::min(255, zp + 150) : 255;
        return finish_op(op, name, out_channels, ho, wo, q, act != Act::None);
    }

    int32_t add(const std::string& name, int32_t a, int32_t b, bool relu) {
        const models::Int8Tensor& ta = g_.tensors[static_cast<size_t>(a)];
        const models::Int8Tensor& tb = g_.tensors[static_cast<size_t>(b)];
        const int32_t zp = relu ? static_cast<int32_t>(rng_.uniform_below(20)) : 128;
        const models::QuantParams q = quant(ta.quant.scale * 1.3f, zp);
        const engine::AddMultipliers m = engine::quantize_add_multipliers(
            double(ta.quant.scale) / double(q.scale), double(tb.quant.scale) / double(q.scale));
        models::Int8Op op;
        op.kind = models::Int8OpKind::Add;
        op.name = name;
        op.inputs = {a, b};
        op.multiplier = {m.a, m.b};
        op.shift = {m.shift};
        op.clamp_min = relu ? zp : 0;
        return finish_op(op, name, ta.channels, ta.height, ta.width, q, relu);
    }

    int32_t maxpool(const std::string& name, int32_t x, int64_t kernel, int64_t stride) {
        const models::Int8Tensor in = g_.tensors[static_cast<size_t>(x)];
        models::Int8Op op;
        op.kind = models::Int8OpKind::MaxPool;
        op.name = name;
        op.inputs = {x};
        op.kernel = kernel;
        op.stride = stride;
        return finish_op(op, name, in.channels, (in.height - kernel) / stride + 1,
                         (in.width - kernel) / stride + 1, in.quant, false);
    }

    /// kernel 0: a global average pool.
    int32_t avgpool(const std::string& name, int32_t x, int64_t kernel, int64_t stride) {
        const models::Int8Tensor in = g_.tensors[static_cast<size_t>(x)];
        const bool global = kernel == 0;
        const int64_t count = global ? in.height * in.width : kernel * kernel;
        const models::QuantParams q = quant(in.quant.scale * 0.8f, 3);
        const engine::FixedPointMultiplier m = engine::quantize_multiplier(
            double(in.quant.scale) / (double(q.scale) * static_cast<double>(count)));
        models::Int8Op op;
        op.kind = global ? models::Int8OpKind::GlobalAvgPool : models::Int8OpKind::AvgPool;
        op.name = name;
        op.inputs = {x};
        op.kernel = global ? 0 : kernel;
        op.stride = global ? 1 : stride;
        op.multiplier = {m.multiplier};
        op.shift = {m.shift};
        const int64_t ho = global ? 1 : (in.height - kernel) / stride + 1;
        const int64_t wo = global ? 1 : (in.width - kernel) / stride + 1;
        return finish_op(op, name, in.channels, ho, wo, q, false);
    }

    models::Int8Graph finish(int32_t x) {
        const models::Int8Tensor& in = g_.tensors[static_cast<size_t>(x)];
        models::Int8Op op;
        op.kind = models::Int8OpKind::Linear;
        op.name = "fc";
        op.inputs = {x};
        op.in_channels = in.size();
        op.out_channels = g_.model.num_classes;
        for (int64_t i = 0; i < op.in_channels * op.out_channels; ++i) {
            op.weight.push_back(
                static_cast<int8_t>(static_cast<int64_t>(rng_.uniform_below(255)) - 127));
        }
        for (int64_t o = 0; o < op.out_channels; ++o) {
            op.weight_scale.push_back(0.003f + 0.001f * static_cast<float>(o));
            op.bias.push_back(static_cast<int32_t>(rng_.uniform_below(2001)) - 1000);
        }
        g_.ops.push_back(op);
        return g_;
    }

private:
    models::QuantParams quant(float scale, int32_t zp) {
        models::QuantParams q;
        q.scale = scale;
        q.zero_point = zp;
        return q;
    }

    void add_tensor(const std::string& name,
                    int64_t c,
                    int64_t h,
                    int64_t w,
                    models::QuantParams q,
                    bool point) {
        models::Int8Tensor t;
        t.name = name;
        t.channels = c;
        t.height = h;
        t.width = w;
        t.quant = q;
        t.point = point;
        g_.tensors.push_back(t);
        values_.emplace_back();
    }

    int32_t finish_op(models::Int8Op op,
                      const std::string& name,
                      int64_t c,
                      int64_t h,
                      int64_t w,
                      models::QuantParams q,
                      bool point) {
        add_tensor(name, c, h, w, q, point);
        const auto t = static_cast<int32_t>(g_.tensors.size() - 1);
        op.output = t;
        std::vector<const uint8_t*> in;
        for (int32_t i : op.inputs) {
            in.push_back(values_[static_cast<size_t>(i)].data());
        }
        values_.back().resize(static_cast<size_t>(g_.tensors.back().size()));
        engine::reference::graph_op_u8(g_, op, in, values_.back().data());
        g_.ops.push_back(std::move(op));
        return t;
    }

    Rng rng_;
    models::Int8Graph g_;
    std::vector<std::vector<uint8_t>> values_; ///< per tensor, on the calibration image
};

/// A residual network in the CIFAR ResNet pattern, on `side` x `side` inputs: a 3x3 stem, a
/// BasicBlock with an identity shortcut, a stride-2 BasicBlock with a 1x1 stride-2 projection,
/// a 3x3 stride-2 max-pool, a global average pool and the classifier.
inline models::Int8Graph
random_resnet_graph(uint64_t seed, int64_t in_channels = 3, int64_t side = 12) {
    GraphBuilder b(in_channels, side, seed);
    const int32_t stem = b.conv("conv1", 0, 8, 3, 1, 1, 1, Act::Relu);
    const int32_t c1 = b.conv("layer1.0.conv1", stem, 8, 3, 1, 1, 1, Act::Relu);
    const int32_t c2 = b.conv("layer1.0.conv2", c1, 8, 3, 1, 1, 1, Act::None);
    const int32_t o1 = b.add("layer1.0.out", c2, stem, true);
    const int32_t d1 = b.conv("layer2.0.conv1", o1, 16, 3, 2, 1, 1, Act::Relu);
    const int32_t d2 = b.conv("layer2.0.conv2", d1, 16, 3, 1, 1, 1, Act::None);
    const int32_t sc = b.conv("layer2.0.shortcut", o1, 16, 1, 2, 0, 1, Act::None);
    const int32_t o2 = b.add("layer2.0.out", d2, sc, true);
    const int32_t mp = b.maxpool("pool", o2, 3, 2);
    const int32_t gap = b.avgpool("gap", mp, 0, 1);
    models::Int8Graph g = b.finish(gap);
    g.model.arch = models::ModelArch::ResNet20; // the family, for configs (not its layout)
    return g;
}

/// A MobileNetV2-like network: a 3x3 stem (ReLU6), an inverted residual block without a
/// skip (1x1 expansion, 3x3 depthwise, 1x1 linear bottleneck), one with a skip (the add of
/// two linear bottlenecks, no ReLU), a stride-2 depthwise block, a 2x2 average pool, a 1x1
/// head conv, a global average pool and the classifier.
inline models::Int8Graph
random_mobilenet_graph(uint64_t seed, int64_t in_channels = 1, int64_t side = 14) {
    GraphBuilder b(in_channels, side, seed);
    const int32_t stem = b.conv("features.0", 0, 8, 3, 1, 1, 1, Act::Relu6);
    const int32_t dw0 = b.conv("features.1.dw", stem, 8, 3, 1, 1, 8, Act::Relu6);
    const int32_t p0 = b.conv("features.1.project", dw0, 6, 1, 1, 0, 1, Act::None);
    const int32_t e1 = b.conv("features.2.expand", p0, 24, 1, 1, 0, 1, Act::Relu6);
    const int32_t dw1 = b.conv("features.2.dw", e1, 24, 3, 1, 1, 24, Act::Relu6);
    const int32_t p1 = b.conv("features.2.project", dw1, 6, 1, 1, 0, 1, Act::None);
    const int32_t s1 = b.add("features.2.add", p0, p1, false);
    const int32_t e2 = b.conv("features.3.expand", s1, 24, 1, 1, 0, 1, Act::Relu6);
    const int32_t dw2 = b.conv("features.3.dw", e2, 24, 3, 2, 1, 24, Act::Relu6);
    const int32_t p2 = b.conv("features.3.project", dw2, 12, 1, 1, 0, 1, Act::None);
    const int32_t ap = b.avgpool("features.3.pool", p2, 2, 1);
    const int32_t head = b.conv("features.4", ap, 32, 1, 1, 0, 1, Act::Relu6);
    const int32_t gap = b.avgpool("gap", head, 0, 1);
    models::Int8Graph g = b.finish(gap);
    g.model.arch = models::ModelArch::MobileNetV2; // the family, for configs (not its layout)
    return g;
}

} // namespace triseg::test
