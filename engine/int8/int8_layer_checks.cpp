// Checks of an int8 conv layer and of the classifier before any kernel runs them: sizes, zero
// points, multipliers and shifts, and the int32 accumulator bound.
#include "engine/int8/int8_layer_checks.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "engine/int8/int8_kernels.h"

namespace triseg::engine {
namespace {

constexpr int kTaps = 9; ///< 3x3
constexpr int64_t kMaxCodeDistance = 255;

int64_t sum_abs(const int8_t* w, int64_t n) {
    int64_t s = 0;
    for (int64_t i = 0; i < n; ++i) {
        s += std::abs(static_cast<int64_t>(w[i]));
    }
    return s;
}

} // namespace

namespace detail {

void check_zero_point(int32_t zp, const std::string& what) {
    TRISEG_CHECK(zp >= 0 && zp <= 255, InputError,
                 what << " zero point must be in [0, 255], got " << zp);
}

} // namespace detail

void validate_int8_conv(const models::Int8ConvLayer& layer) {
    const std::string& n = layer.name;
    const int64_t cin = layer.in_channels;
    const int64_t cout = layer.out_channels;
    TRISEG_CHECK(cin >= 1 && cout >= 1, InputError,
                 "int8 layer '" << n << "' has " << cin << " input and " << cout
                                << " output channels; both must be >= 1");
    const auto check_size = [&](std::size_t got, int64_t want, const char* field) {
        TRISEG_CHECK(static_cast<int64_t>(got) == want, InputError,
                     "int8 layer '" << n << "': " << field << " has " << got
                                    << " entries, expected " << want);
    };
    check_size(layer.weight.size(), cout * cin * kTaps, "weight [out][in][3][3]");
    check_size(layer.weight_scale.size(), cout, "weight_scale");
    check_size(layer.bias.size(), cout, "bias");
    check_size(layer.multiplier.size(), cout, "multiplier");
    check_size(layer.shift.size(), cout, "shift");
    detail::check_zero_point(layer.input.zero_point, "int8 layer '" + n + "': input");
    detail::check_zero_point(layer.output.zero_point, "int8 layer '" + n + "': output");
    const int64_t dist =
        std::max<int64_t>(layer.input.zero_point, kMaxCodeDistance - layer.input.zero_point);
    for (int64_t oc = 0; oc < cout; ++oc) {
        const int32_t m = layer.multiplier[oc];
        const int32_t s = layer.shift[oc];
        TRISEG_CHECK(m >= (int32_t{1} << 30), InputError,
                     "int8 layer '" << n << "': multiplier[" << oc << "] = " << m
                                    << " is outside [2^30, 2^31)");
        TRISEG_CHECK(s >= 1 && s <= 62, InputError,
                     "int8 layer '" << n << "': shift[" << oc << "] = " << s
                                    << " is outside [1, 62]");
        const int64_t bound = std::abs(static_cast<int64_t>(layer.bias[oc])) +
                              dist * sum_abs(layer.weight.data() + oc * cin * kTaps, cin * kTaps);
        TRISEG_CHECK(bound <= INT32_MAX, InputError,
                     "int8 layer '" << n << "': output channel " << oc
                                    << " can overflow the int32 accumulator (|bias| + max |x| * "
                                    << "sum |w| = " << bound << ")");
    }
}

void validate_int8_linear(const models::Int8LinearLayer& layer) {
    const int64_t in = layer.in_features;
    const int64_t out = layer.out_features;
    TRISEG_CHECK(in >= 1 && out >= 1, InputError,
                 "int8 classifier has " << in << " input and " << out
                                        << " output features; both must be >= 1");
    const auto check_size = [&](std::size_t got, int64_t want, const char* field) {
        TRISEG_CHECK(static_cast<int64_t>(got) == want, InputError,
                     "int8 classifier: " << field << " has " << got << " entries, expected "
                                         << want);
    };
    check_size(layer.weight.size(), out * in, "weight [out][in]");
    check_size(layer.weight_scale.size(), out, "weight_scale");
    check_size(layer.bias.size(), out, "bias");
    detail::check_zero_point(layer.input.zero_point, "int8 classifier: input");
    const int64_t dist =
        std::max<int64_t>(layer.input.zero_point, kMaxCodeDistance - layer.input.zero_point);
    for (int64_t o = 0; o < out; ++o) {
        const int64_t bound = std::abs(static_cast<int64_t>(layer.bias[o])) +
                              dist * sum_abs(layer.weight.data() + o * in, in);
        TRISEG_CHECK(bound <= INT32_MAX, InputError,
                     "int8 classifier: output " << o << " can overflow the int32 accumulator "
                                                << "(|bias| + max |x| * sum |w| = " << bound
                                                << ")");
    }
}

} // namespace triseg::engine
