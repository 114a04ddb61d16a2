// Portable exact kernels of the graph ops (see graph_kernels.h).
#include "engine/int8/graph_kernels.h"

#include <algorithm>

#include "engine/core/requant.h"

namespace triseg::engine {

void conv_u8(const models::Int8Op& op,
             const models::Int8Tensor& in_t,
             const models::Int8Tensor& out_t,
             const uint8_t* in,
             uint8_t* out,
             std::vector<int32_t>& acc) {
    const int64_t h = in_t.height;
    const int64_t w = in_t.width;
    const int64_t ho = out_t.height;
    const int64_t wo = out_t.width;
    const int64_t k = op.kernel;
    const int64_t s = op.stride;
    const int64_t p = op.padding;
    const int64_t cin_g = op.in_channels / op.groups;
    const int64_t cout_g = op.out_channels / op.groups;
    const int32_t zp_in = in_t.quant.zero_point;
    const int32_t zp_out = out_t.quant.zero_point;
    const int64_t plane = h * w;
    // acc: one output plane of accumulators, then the input minus its zero point (int32), so
    // that the inner loops are branch-free multiply-adds over a row that the compiler
    // vectorizes. Padded positions contribute nothing: each tap's loop covers only the output
    // columns whose input column lies inside the row.
    acc.resize(static_cast<size_t>(ho * wo + in_t.channels * plane));
    int32_t* a = acc.data();
    int32_t* x = acc.data() + ho * wo;
    for (int64_t i = 0; i < in_t.channels * plane; ++i) {
        x[i] = int32_t{in[i]} - zp_in;
    }
    // Output columns [x0[kx], x1[kx]) read input column ox * s - p + kx inside [0, w).
    std::vector<int64_t> x0(static_cast<size_t>(k));
    std::vector<int64_t> x1(static_cast<size_t>(k));
    for (int64_t kx = 0; kx < k; ++kx) {
        int64_t lo = 0;
        while (lo < wo && lo * s - p + kx < 0) {
            ++lo;
        }
        int64_t hi = wo;
        while (hi > lo && (hi - 1) * s - p + kx >= w) {
            --hi;
        }
        x0[static_cast<size_t>(kx)] = lo;
        x1[static_cast<size_t>(kx)] = hi;
    }
    for (int64_t oc = 0; oc < op.out_channels; ++oc) {
        const int64_t g = oc / cout_g;
        std::fill(a, a + ho * wo, op.bias[static_cast<size_t>(oc)]);
        for (int64_t i = 0; i < cin_g; ++i) {
            const int32_t* xp = x + (g * cin_g + i) * plane;
            const int8_t* wk = op.weight.data() + ((oc * cin_g + i) * k) * k;
            for (int64_t ky = 0; ky < k; ++ky) {
                for (int64_t kx = 0; kx < k; ++kx) {
                    const int32_t wt = wk[ky * k + kx];
                    if (wt == 0) {
                        continue;
                    }
                    const int64_t lo = x0[static_cast<size_t>(kx)];
                    const int64_t hi = x1[static_cast<size_t>(kx)];
                    for (int64_t oy = 0; oy < ho; ++oy) {
                        const int64_t iy = oy * s - p + ky;
                        if (iy < 0 || iy >= h) {
                            continue; // padding: x - zp_in = 0
                        }
                        const int32_t* row = xp + iy * w - p + kx;
                        int32_t* ar = a + oy * wo;
                        if (s == 1) {
                            for (int64_t ox = lo; ox < hi; ++ox) {
                                ar[ox] += wt * row[ox];
                            }
                        } else {
                            for (int64_t ox = lo; ox < hi; ++ox) {
                                ar[ox] += wt * row[ox * s];
                            }
                        }
                    }
                }
            }
        }
        const int32_t m = op.multiplier[static_cast<size_t>(oc)];
        const int32_t sh = op.shift[static_cast<size_t>(oc)];
        uint8_t* o = out + oc * ho * wo;
        for (int64_t j = 0; j < ho * wo; ++j) {
            o[j] = requantize_clamped(a[j], m, sh, zp_out, op.clamp_min, op.clamp_max);
        }
    }
}

void add_u8(const models::Int8Op& op,
            const models::Int8Tensor& a_t,
            const models::Int8Tensor& b_t,
            const models::Int8Tensor& out_t,
            const uint8_t* a,
            const uint8_t* b,
            uint8_t* out) {
    const int64_t ma = op.multiplier[0];
    const int64_t mb = op.multiplier[1];
    const int32_t s = op.shift[0];
    const int64_t half = int64_t{1} << (s - 1);
    const int32_t za = a_t.quant.zero_point;
    const int32_t zb = b_t.quant.zero_point;
    const int32_t zo = out_t.quant.zero_point;
    const int64_t count = out_t.size();
    for (int64_t i = 0; i < count; ++i) {
        const int64_t v = (int64_t{a[i]} - za) * ma + (int64_t{b[i]} - zb) * mb;
        int64_t y = zo + ((v + half) >> s);
        y = y < op.clamp_min ? op.clamp_min : y;
        out[i] = static_cast<uint8_t>(y > op.clamp_max ? op.clamp_max : y);
    }
}

void maxpool_u8(const models::Int8Op& op,
                const models::Int8Tensor& in_t,
                const models::Int8Tensor& out_t,
                const uint8_t* in,
                uint8_t* out) {
    const int64_t h = in_t.height;
    const int64_t w = in_t.width;
    const int64_t k = op.kernel;
    const int64_t s = op.stride;
    for (int64_t c = 0; c < out_t.channels; ++c) {
        const uint8_t* plane = in + c * h * w;
        uint8_t* o = out + c * out_t.height * out_t.width;
        for (int64_t y = 0; y < out_t.height; ++y) {
            for (int64_t x = 0; x < out_t.width; ++x) {
                uint8_t m = 0;
                for (int64_t ky = 0; ky < k; ++ky) {
                    const uint8_t* row = plane + (y * s + ky) * w + x * s;
                    for (int64_t kx = 0; kx < k; ++kx) {
                        m = std::max(m, row[kx]);
                    }
                }
                o[y * out_t.width + x] = m;
            }
        }
    }
}

void avgpool_u8(const models::Int8Op& op,
                const models::Int8Tensor& in_t,
                const models::Int8Tensor& out_t,
                const uint8_t* in,
                uint8_t* out) {
    const int64_t h = in_t.height;
    const int64_t w = in_t.width;
    const bool global = op.kind == models::Int8OpKind::GlobalAvgPool;
    const int64_t kh = global ? h : op.kernel;
    const int64_t kw = global ? w : op.kernel;
    const int64_t s = global ? 1 : op.stride;
    const int32_t zp_in = in_t.quant.zero_point;
    const int32_t zp_out = out_t.quant.zero_point;
    const int64_t window_zero = int64_t{zp_in} * kh * kw;
    for (int64_t c = 0; c < out_t.channels; ++c) {
        const uint8_t* plane = in + c * h * w;
        uint8_t* o = out + c * out_t.height * out_t.width;
        for (int64_t y = 0; y < out_t.height; ++y) {
            for (int64_t x = 0; x < out_t.width; ++x) {
                int64_t sum = 0;
                for (int64_t ky = 0; ky < kh; ++ky) {
                    const uint8_t* row = plane + (y * s + ky) * w + x * s;
                    for (int64_t kx = 0; kx < kw; ++kx) {
                        sum += row[kx];
                    }
                }
                o[y * out_t.width + x] =
                    requantize_clamped(sum - window_zero, op.multiplier[0], op.shift[0], zp_out,
                                       op.clamp_min, op.clamp_max);
            }
        }
    }
}

void linear_op_u8(const models::Int8Op& op,
                  const models::Int8Tensor& in_t,
                  const uint8_t* in,
                  float* logits) {
    const int64_t n = op.in_channels;
    const int32_t zp = in_t.quant.zero_point;
    const auto scale = static_cast<double>(in_t.quant.scale);
    for (int64_t o = 0; o < op.out_channels; ++o) {
        const int8_t* wr = op.weight.data() + o * n;
        int32_t acc = op.bias[static_cast<size_t>(o)];
        for (int64_t i = 0; i < n; ++i) {
            acc += int32_t{wr[i]} * (int32_t{in[i]} - zp);
        }
        logits[o] =
            static_cast<float>(static_cast<double>(acc) * scale *
                               static_cast<double>(op.weight_scale[static_cast<size_t>(o)]));
    }
}

} // namespace triseg::engine
