// Naive reference INT8 kernels (see int8_reference.h).
#include "engine/int8/int8_reference.h"

#include <algorithm>

#include "common/error.h"
#include "engine/core/requant.h"
#include "engine/int8/int8_kernels.h"

namespace triseg::engine::reference {

void conv3x3_u8(const models::Int8ConvLayer& layer,
                const uint8_t* in,
                int64_t height,
                int64_t width,
                uint8_t* out,
                const uint8_t* lut) {
    validate_int8_conv(layer);
    TRISEG_CHECK(height >= 1 && width >= 1, InputError,
                 "int8 layer '" << layer.name << "': image size " << height << "x" << width
                                << " must be at least 1x1");
    const int64_t cin = layer.in_channels;
    const int64_t zp = layer.input.zero_point;
    for (int64_t oc = 0; oc < layer.out_channels; ++oc) {
        const FixedPointMultiplier m{layer.multiplier[oc], layer.shift[oc]};
        for (int64_t y = 0; y < height; ++y) {
            for (int64_t x = 0; x < width; ++x) {
                int64_t acc = layer.bias[oc];
                for (int64_t ic = 0; ic < cin; ++ic) {
                    for (int64_t ky = 0; ky < 3; ++ky) {
                        for (int64_t kx = 0; kx < 3; ++kx) {
                            const int64_t iy = y + ky - 1;
                            const int64_t ix = x + kx - 1;
                            const bool inside = iy >= 0 && iy < height && ix >= 0 && ix < width;
                            // Padding is real zero, i.e. the input zero point.
                            const int64_t code = inside ? in[(ic * height + iy) * width + ix] : zp;
                            acc += layer.weight[((oc * cin + ic) * 3 + ky) * 3 + kx] * (code - zp);
                        }
                    }
                }
                TRISEG_CHECK(acc >= INT32_MIN && acc <= INT32_MAX, InputError,
                             "int8 layer '" << layer.name << "': accumulator " << acc
                                            << " leaves int32");
                const uint8_t q =
                    requantize_relu(static_cast<int32_t>(acc), m, layer.output.zero_point);
                out[(oc * height + y) * width + x] = lut != nullptr ? lut[q] : q;
            }
        }
    }
}

void maxpool2x2_u8(
    const uint8_t* in, int64_t channels, int64_t height, int64_t width, uint8_t* out) {
    TRISEG_CHECK(channels >= 1 && height >= 2 && width >= 2 && height % 2 == 0 && width % 2 == 0,
                 InputError,
                 "2x2 max-pool needs >= 1 channel and an even size >= 2x2, got "
                     << channels << " channels of " << height << "x" << width);
    for (int64_t c = 0; c < channels; ++c) {
        for (int64_t y = 0; y < height / 2; ++y) {
            for (int64_t x = 0; x < width / 2; ++x) {
                uint8_t m = 0;
                for (int64_t dy = 0; dy < 2; ++dy) {
                    for (int64_t dx = 0; dx < 2; ++dx) {
                        m = std::max(m, in[(c * height + 2 * y + dy) * width + 2 * x + dx]);
                    }
                }
                out[(c * (height / 2) + y) * (width / 2) + x] = m;
            }
        }
    }
}

void linear_u8(const models::Int8LinearLayer& layer, const uint8_t* x, float* logits) {
    validate_int8_linear(layer);
    const int64_t zp = layer.input.zero_point;
    for (int64_t o = 0; o < layer.out_features; ++o) {
        int64_t acc = layer.bias[o];
        for (int64_t i = 0; i < layer.in_features; ++i) {
            acc += layer.weight[o * layer.in_features + i] * (x[i] - zp);
        }
        TRISEG_CHECK(acc >= INT32_MIN && acc <= INT32_MAX, InputError,
                     "int8 classifier: accumulator " << acc << " leaves int32");
        logits[o] =
            static_cast<float>(static_cast<double>(acc) * static_cast<double>(layer.input.scale) *
                               static_cast<double>(layer.weight_scale[o]));
    }
}

namespace {

/// round_half_up(v * multiplier * 2^-shift) + zp, clamped: the documented requantization.
int64_t
requantize(int64_t v, int64_t multiplier, int64_t shift, int64_t zp, int64_t lo, int64_t hi) {
    const int64_t r = (v * multiplier + (int64_t{1} << (shift - 1))) >> shift;
    return std::clamp<int64_t>(zp + r, lo, hi);
}

} // namespace

void graph_op_u8(const models::Int8Graph& graph,
                 const models::Int8Op& op,
                 const std::vector<const uint8_t*>& inputs,
                 uint8_t* out) {
    const models::Int8Tensor& x = graph.tensors.at(static_cast<size_t>(op.inputs.at(0)));
    const models::Int8Tensor& y = graph.tensors.at(static_cast<size_t>(op.output));
    const int64_t zx = x.quant.zero_point;
    const int64_t zy = y.quant.zero_point;
    const auto at = [&x](const uint8_t* p, int64_t c, int64_t iy, int64_t ix) -> int64_t {
        return p[(c * x.height + iy) * x.width + ix];
    };
    for (int64_t c = 0; c < y.channels; ++c) {
        for (int64_t oy = 0; oy < y.height; ++oy) {
            for (int64_t ox = 0; ox < y.width; ++ox) {
                int64_t code = 0;
                switch (op.kind) {
                case models::Int8OpKind::Conv: {
                    const int64_t per_group_in = op.in_channels / op.groups;
                    const int64_t per_group_out = op.out_channels / op.groups;
                    const int64_t group = c / per_group_out;
                    int64_t acc = op.bias[static_cast<size_t>(c)];
                    for (int64_t i = 0; i < per_group_in; ++i) {
                        const int64_t ic = group * per_group_in + i;
                        for (int64_t ky = 0; ky < op.kernel; ++ky) {
                            for (int64_t kx = 0; kx < op.kernel; ++kx) {
                                const int64_t iy = oy * op.stride - op.padding + ky;
                                const int64_t ix = ox * op.stride - op.padding + kx;
                                const bool inside =
                                    iy >= 0 && iy < x.height && ix >= 0 && ix < x.width;
                                const int64_t v = inside ? at(inputs[0], ic, iy, ix) : zx;
                                const int64_t w = op.weight[static_cast<size_t>(
                                    ((c * per_group_in + i) * op.kernel + ky) * op.kernel + kx)];
                                acc += w * (v - zx);
                            }
                        }
                    }
                    TRISEG_CHECK(acc >= INT32_MIN && acc <= INT32_MAX, InputError,
                                 "int8 op '" << op.name << "': accumulator " << acc
                                             << " leaves int32");
                    code = requantize(acc, op.multiplier[static_cast<size_t>(c)],
                                      op.shift[static_cast<size_t>(c)], zy, op.clamp_min,
                                      op.clamp_max);
                    break;
                }
                case models::Int8OpKind::Add: {
                    const models::Int8Tensor& b =
                        graph.tensors.at(static_cast<size_t>(op.inputs[1]));
                    const int64_t da = at(inputs[0], c, oy, ox) - zx;
                    const int64_t db = at(inputs[1], c, oy, ox) - b.quant.zero_point;
                    const int64_t v = da * op.multiplier[0] + db * op.multiplier[1];
                    const int64_t r = (v + (int64_t{1} << (op.shift[0] - 1))) >> op.shift[0];
                    code = std::clamp<int64_t>(zy + r, op.clamp_min, op.clamp_max);
                    break;
                }
                case models::Int8OpKind::MaxPool:
                    for (int64_t ky = 0; ky < op.kernel; ++ky) {
                        for (int64_t kx = 0; kx < op.kernel; ++kx) {
                            code = std::max(
                                code, at(inputs[0], c, oy * op.stride + ky, ox * op.stride + kx));
                        }
                    }
                    break;
                case models::Int8OpKind::AvgPool:
                case models::Int8OpKind::GlobalAvgPool: {
                    const bool global = op.kind == models::Int8OpKind::GlobalAvgPool;
                    const int64_t kh = global ? x.height : op.kernel;
                    const int64_t kw = global ? x.width : op.kernel;
                    const int64_t stride = global ? 1 : op.stride;
                    int64_t sum = 0;
                    for (int64_t ky = 0; ky < kh; ++ky) {
                        for (int64_t kx = 0; kx < kw; ++kx) {
                            sum += at(inputs[0], c, oy * stride + ky, ox * stride + kx) - zx;
                        }
                    }
                    code = requantize(sum, op.multiplier[0], op.shift[0], zy, op.clamp_min,
                                      op.clamp_max);
                    break;
                }
                case models::Int8OpKind::Linear:
                    throw InputError("graph_op_u8 does not run the classifier");
                }
                out[(c * y.height + oy) * y.width + ox] = static_cast<uint8_t>(code);
            }
        }
    }
}

void graph_forward(const models::Int8Graph& graph,
                   const uint8_t* input,
                   float* logits,
                   const std::vector<const uint8_t*>& tables,
                   std::vector<std::vector<uint8_t>>* points) {
    std::vector<std::vector<uint8_t>> values(graph.tensors.size());
    values[0].assign(input, input + graph.tensors[0].size());
    size_t point = 0;
    if (points != nullptr) {
        points->clear();
    }
    for (const models::Int8Op& op : graph.ops) {
        std::vector<const uint8_t*> in;
        for (int32_t t : op.inputs) {
            in.push_back(values.at(static_cast<size_t>(t)).data());
        }
        if (op.kind == models::Int8OpKind::Linear) {
            const models::Int8Tensor& x = graph.tensors[static_cast<size_t>(op.inputs[0])];
            for (int64_t o = 0; o < op.out_channels; ++o) {
                int64_t acc = op.bias[static_cast<size_t>(o)];
                for (int64_t i = 0; i < op.in_channels; ++i) {
                    acc += op.weight[static_cast<size_t>(o * op.in_channels + i)] *
                           (int64_t{in[0][i]} - x.quant.zero_point);
                }
                TRISEG_CHECK(acc >= INT32_MIN && acc <= INT32_MAX, InputError,
                             "int8 classifier: accumulator " << acc << " leaves int32");
                logits[o] = static_cast<float>(
                    static_cast<double>(acc) * static_cast<double>(x.quant.scale) *
                    static_cast<double>(op.weight_scale[static_cast<size_t>(o)]));
            }
            continue;
        }
        const models::Int8Tensor& y = graph.tensors[static_cast<size_t>(op.output)];
        std::vector<uint8_t>& out = values[static_cast<size_t>(op.output)];
        out.assign(static_cast<size_t>(y.size()), 0);
        graph_op_u8(graph, op, in, out.data());
        if (y.point) {
            if (points != nullptr) {
                points->push_back(out);
            }
            const uint8_t* table = tables.empty() ? nullptr : tables.at(point);
            if (table != nullptr) {
                for (auto& v : out) {
                    v = table[v];
                }
            }
            ++point;
        }
    }
}

} // namespace triseg::engine::reference
