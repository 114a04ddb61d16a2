// The plain-loop ops of the VGG chain around its convs: the 2x2 max-pool and the classifier.
#include "engine/int8/int8_kernels.h"

#include <algorithm>

#include "common/error.h"

namespace triseg::engine {

void maxpool2x2_u8(
    const uint8_t* in, int64_t channels, int64_t height, int64_t width, uint8_t* out) {
    TRISEG_CHECK(channels >= 1 && height >= 2 && width >= 2 && height % 2 == 0 && width % 2 == 0,
                 InputError,
                 "2x2 max-pool needs >= 1 channel and an even size >= 2x2, got "
                     << channels << " channels of " << height << "x" << width);
    const int64_t ho = height / 2;
    const int64_t wo = width / 2;
    for (int64_t c = 0; c < channels; ++c) {
        for (int64_t y = 0; y < ho; ++y) {
            const uint8_t* r0 = in + (c * height + 2 * y) * width;
            const uint8_t* r1 = r0 + width;
            uint8_t* o = out + (c * ho + y) * wo;
            for (int64_t x = 0; x < wo; ++x) {
                const uint8_t a = std::max(r0[2 * x], r0[2 * x + 1]);
                const uint8_t b = std::max(r1[2 * x], r1[2 * x + 1]);
                o[x] = std::max(a, b);
            }
        }
    }
}

void linear_u8(const models::Int8LinearLayer& layer, const uint8_t* x, float* logits) {
    validate_int8_linear(layer);
    linear_u8_prevalidated(layer, x, logits);
}

void linear_u8_prevalidated(const models::Int8LinearLayer& layer, const uint8_t* x, float* logits) {
    const int64_t in = layer.in_features;
    const int32_t zp = layer.input.zero_point;
    for (int64_t o = 0; o < layer.out_features; ++o) {
        const int8_t* w = layer.weight.data() + o * in;
        int32_t acc = 0; // cannot overflow: validate_int8_linear bounds it
        for (int64_t i = 0; i < in; ++i) {
            acc += static_cast<int32_t>(w[i]) * (static_cast<int32_t>(x[i]) - zp);
        }
        acc += layer.bias[o];
        logits[o] =
            static_cast<float>(static_cast<double>(acc) * static_cast<double>(layer.input.scale) *
                               static_cast<double>(layer.weight_scale[o]));
    }
}

} // namespace triseg::engine
