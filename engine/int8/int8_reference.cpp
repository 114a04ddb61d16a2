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

} // namespace triseg::engine::reference
