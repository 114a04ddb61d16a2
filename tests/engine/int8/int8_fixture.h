// Test helpers: a small random but valid VGG-11 Int8Model, random valid codes, and a plain
// reference forward pass composed from engine/int8/int8_reference.h.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/core/requant.h"
#include "engine/int8/int8_network.h"
#include "engine/int8/int8_reference.h"
#include "models/spec/int8_model.h"
#include "models/spec/vgg_layout.h"

namespace triseg::test {

/// Bitwise equality of two logit arrays (memcmp, so -0.0f != 0.0f and NaNs are compared).
inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// Input zero point of the first block (deliberately not 0 or 128).
constexpr int32_t kInputZeroPoint = 73;
/// Standard deviation of a block's output codes the random multipliers aim at.
constexpr double kTargetCodeStd = 70.0;
/// Images used to calibrate the random multipliers while the model is built.
constexpr int64_t kCalibrationImages = 2;

/// Uniform integer in [lo, hi].
/// LayerCodes from its five fields, in the order t1, v1, t2, v2, tmax.
inline engine::LayerCodes make_codes(int32_t t1, int32_t v1, int32_t t2, int32_t v2, int32_t tmax) {
    engine::LayerCodes c;
    c.t1 = t1;
    c.v1 = v1;
    c.t2 = t2;
    c.v2 = v2;
    c.tmax = tmax;
    return c;
}

inline int64_t uniform_int(Rng& rng, int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng.uniform_below(static_cast<uint64_t>(hi - lo + 1)));
}

/// `count` uniformly random codes in [0, 255].
inline std::vector<uint8_t> random_codes(int64_t count, Rng& rng) {
    std::vector<uint8_t> codes(static_cast<size_t>(count));
    for (auto& c : codes) {
        c = static_cast<uint8_t>(rng.uniform_below(256));
    }
    return codes;
}

/// A uniformly drawn LayerCodes that obeys every rule of validate_codes.
inline engine::LayerCodes random_valid_codes(Rng& rng) {
    engine::LayerCodes c;
    c.tmax = static_cast<int32_t>(uniform_int(rng, 12, 255));
    c.t1 = static_cast<int32_t>(uniform_int(rng, 2, std::min(10, c.tmax - 8)));
    c.t2 = static_cast<int32_t>(uniform_int(rng, c.t1 + 4, c.tmax - 4));
    c.v1 = static_cast<int32_t>(uniform_int(rng, c.t1 + 1, c.t2 - 1));
    c.v2 = static_cast<int32_t>(uniform_int(rng, c.t2 + 1, c.tmax));
    return c;
}

/// Root mean square of (code - zero_point).
inline double centered_rms(const std::vector<uint8_t>& codes, int32_t zero_point) {
    double sum = 0.0;
    for (uint8_t c : codes) {
        const double d = static_cast<double>(c) - zero_point;
        sum += d * d;
    }
    return std::sqrt(sum / static_cast<double>(std::max<size_t>(codes.size(), 1)));
}

/// A VGG-11 Int8Model (one input channel, 10 classes, 32x32 images) with random int8
/// weights in [-127, 127], moderate biases, and per-channel multipliers from
/// engine::quantize_multiplier, calibrated block by block on random images so that every
/// block's output codes spread over 0..255 (roughly half of them zero after the ReLU).
inline models::Int8Model random_int8_model(double width, uint64_t seed) {
    Rng rng(seed);
    models::Int8Model m;
    m.model.arch = models::ModelArch::Vgg11;
    m.model.width = width;
    m.model.in_channels = 1;
    m.model.num_classes = 10;
    m.model.image_size = 32;
    m.input = {0.025f, kInputZeroPoint};
    m.input_mean = {0.2860f};
    m.input_std = {0.3530f};
    m.provenance = "random test model, seed " + std::to_string(seed);

    int64_t side = m.model.image_size;
    std::vector<std::vector<uint8_t>> calib;
    for (int64_t i = 0; i < kCalibrationImages; ++i) {
        calib.push_back(random_codes(m.model.in_channels * side * side, rng));
    }
    models::QuantParams in_q = m.input;
    for (const auto& spec : models::vgg_layout(m.model)) {
        models::Int8ConvLayer l;
        l.name = spec.name;
        l.in_channels = spec.in_channels;
        l.out_channels = spec.out_channels;
        l.pool_after = spec.pool_after;
        l.input = in_q;
        l.output = {in_q.scale * 1.5f, 0};
        const int64_t k = l.in_channels * 9;
        l.weight.resize(static_cast<size_t>(l.out_channels * k));
        for (auto& w : l.weight) {
            w = static_cast<int8_t>(uniform_int(rng, -127, 127));
        }
        double rms = 0.0;
        for (const auto& x : calib) {
            rms += centered_rms(x, in_q.zero_point) / static_cast<double>(calib.size());
        }
        // Independent weights uniform in [-127, 127] have rms 127 / sqrt(3).
        const double acc_std =
            std::sqrt(static_cast<double>(k)) * 127.0 / std::sqrt(3.0) * std::max(rms, 1.0);
        for (int64_t oc = 0; oc < l.out_channels; ++oc) {
            const double mult = kTargetCodeStd / acc_std * (0.6 + rng.uniform01());
            const engine::FixedPointMultiplier q = engine::quantize_multiplier(mult);
            l.multiplier.push_back(q.multiplier);
            l.shift.push_back(q.shift);
            l.weight_scale.push_back(static_cast<float>(mult * l.output.scale / l.input.scale));
            l.bias.push_back(static_cast<int32_t>(std::lround((rng.uniform01() - 0.4) * acc_std)));
        }
        for (auto& x : calib) {
            std::vector<uint8_t> y(static_cast<size_t>(l.out_channels * side * side));
            engine::reference::conv3x3_u8(l, x.data(), side, side, y.data(), nullptr);
            if (l.pool_after) {
                std::vector<uint8_t> p(y.size() / 4);
                engine::reference::maxpool2x2_u8(y.data(), l.out_channels, side, side, p.data());
                y.swap(p);
            }
            x.swap(y);
        }
        side /= l.pool_after ? 2 : 1;
        in_q = l.output;
        m.convs.push_back(std::move(l));
    }

    auto& c = m.classifier;
    c.in_features = m.convs.back().out_channels * side * side;
    c.out_features = m.model.num_classes;
    c.input = in_q;
    c.weight.resize(static_cast<size_t>(c.in_features * c.out_features));
    for (auto& w : c.weight) {
        w = static_cast<int8_t>(uniform_int(rng, -127, 127));
    }
    for (int64_t o = 0; o < c.out_features; ++o) {
        c.weight_scale.push_back(static_cast<float>(0.004 * (0.5 + rng.uniform01())));
        c.bias.push_back(static_cast<int32_t>(uniform_int(rng, -20000, 20000)));
    }
    return m;
}

/// The layer names of a model, in forward order.
inline std::vector<std::string> layer_names(const models::Int8Model& m) {
    std::vector<std::string> names;
    for (const auto& l : m.convs) {
        names.push_back(l.name);
    }
    return names;
}

/// The forward pass written plainly from the reference kernels, one image at a time:
///     for block i: pre = conv3x3_u8(codes); histogram_i += pre; codes = table_i[pre];
///                  maxpool2x2_u8 when pool_after
///     logits = linear_u8(codes)
/// `tables` is empty or has one (possibly null) entry per block. When `block_outputs` is not
/// null it receives, per block, every image's `pre` codes one after the other
/// ([n][block output size], as Int8Network::forward_blocks stores them).
inline std::vector<float>
reference_forward(const models::Int8Model& m,
                  const uint8_t* codes,
                  int64_t n,
                  const std::vector<const uint8_t*>& tables,
                  std::vector<engine::CodeHistogram>* histograms,
                  std::vector<std::vector<uint8_t>>* block_outputs = nullptr) {
    const int64_t in_size = m.model.in_channels * m.model.image_size * m.model.image_size;
    const int64_t classes = m.classifier.out_features;
    std::vector<float> logits(static_cast<size_t>(n * classes));
    if (histograms != nullptr) {
        histograms->assign(m.convs.size(), engine::CodeHistogram{});
    }
    if (block_outputs != nullptr) {
        block_outputs->assign(m.convs.size(), {});
    }
    for (int64_t img = 0; img < n; ++img) {
        std::vector<uint8_t> x(codes + img * in_size, codes + (img + 1) * in_size);
        int64_t side = m.model.image_size;
        for (size_t i = 0; i < m.convs.size(); ++i) {
            const auto& l = m.convs[i];
            std::vector<uint8_t> y(static_cast<size_t>(l.out_channels * side * side));
            engine::reference::conv3x3_u8(l, x.data(), side, side, y.data(), nullptr);
            if (histograms != nullptr) {
                for (uint8_t c : y) {
                    ++(*histograms)[i][c];
                }
            }
            if (block_outputs != nullptr) {
                auto& keep = (*block_outputs)[i];
                keep.insert(keep.end(), y.begin(), y.end());
            }
            const uint8_t* table = tables.empty() ? nullptr : tables[i];
            if (table != nullptr) {
                for (auto& c : y) {
                    c = table[c];
                }
            }
            if (l.pool_after) {
                std::vector<uint8_t> p(y.size() / 4);
                engine::reference::maxpool2x2_u8(y.data(), l.out_channels, side, side, p.data());
                y.swap(p);
                side /= 2;
            }
            x.swap(y);
        }
        engine::reference::linear_u8(m.classifier, x.data(), logits.data() + img * classes);
    }
    return logits;
}

} // namespace triseg::test
