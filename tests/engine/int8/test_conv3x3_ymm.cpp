// The AVX2 conv kernel (conv3x3_ymm.h) against the scalar reference, bit for bit: its im2col
// path for C_in <= 3, its 3x3 path around its register blocks and 16-position groups, and
// the clamped requantization it relies on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/rng.h"
#include "engine/core/requant.h"
#include "engine/int8/conv3x3_ymm.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_reference.h"

namespace triseg::engine {
namespace {

/// A random layer: weights in [-128, 127], multipliers that spread the typical sums over
/// the codes, and every fifth channel at an edge (shift 62, shift 1, exact ties, the largest
/// and smallest bias the validator allows).
models::Int8ConvLayer
random_layer(int64_t cin, int64_t cout, int32_t zp_in, int32_t zp_out, Rng& rng) {
    models::Int8ConvLayer layer;
    layer.name = "ymm_test";
    layer.in_channels = cin;
    layer.out_channels = cout;
    layer.input = {0.02f, zp_in};
    layer.output = {0.05f, zp_out};
    const int64_t k = 9 * cin;
    layer.weight.resize(static_cast<std::size_t>(cout * k));
    for (auto& w : layer.weight) {
        w = static_cast<int8_t>(static_cast<int>(rng.uniform_below(256)) - 128);
    }
    const double typical = std::sqrt(static_cast<double>(k)) * 128.0 * 128.0;
    for (int64_t oc = 0; oc < cout; ++oc) {
        int64_t sum_abs = 0;
        for (int64_t i = 0; i < k; ++i) {
            sum_abs += std::abs(static_cast<int>(layer.weight[oc * k + i]));
        }
        const int64_t room = INT32_MAX - std::max(zp_in, 255 - zp_in) * sum_abs;
        int32_t bias = static_cast<int32_t>(rng.uniform_below(20001)) - 10000;
        double m = 200.0 / typical * (0.25 + 4.0 * rng.uniform01());
        switch (oc % 6) {
        case 1:
            m = std::ldexp(1.0 + rng.uniform01(), -31); // shift 62
            break;
        case 2:
            m = std::ldexp(1.0 + rng.uniform01(), 29); // shift 1
            break;
        case 3:
            m = 0.5; // ties round up
            break;
        case 4:
            bias = static_cast<int32_t>(room);
            break;
        case 5:
            bias = static_cast<int32_t>(-room);
            break;
        default:
            break;
        }
        const FixedPointMultiplier q = quantize_multiplier(m);
        layer.weight_scale.push_back(0.01f);
        layer.bias.push_back(bias);
        layer.multiplier.push_back(q.multiplier);
        layer.shift.push_back(q.shift);
    }
    return layer;
}

std::vector<uint8_t> random_lut(Rng& rng) {
    std::vector<uint8_t> lut(256);
    for (int i = 0; i < 256; ++i) {
        lut[i] = static_cast<uint8_t>(255 - i);
    }
    rng.shuffle(lut);
    return lut;
}

/// One random input through the reference and the AVX2 kernel; `scratch` is shared and dirty.
void expect_avx2_matches_reference(int64_t cin,
                                   int64_t cout,
                                   int64_t height,
                                   int64_t width,
                                   int32_t zp_in,
                                   int32_t zp_out,
                                   bool with_lut,
                                   Rng& rng,
                                   std::vector<int16_t>& scratch) {
    SCOPED_TRACE(std::to_string(cin) + "->" + std::to_string(cout) + " at " +
                 std::to_string(height) + "x" + std::to_string(width) + ", zp " +
                 std::to_string(zp_in) + "/" + std::to_string(zp_out) + (with_lut ? ", lut" : ""));
    const models::Int8ConvLayer layer = random_layer(cin, cout, zp_in, zp_out, rng);
    std::vector<uint8_t> x(static_cast<std::size_t>(cin * height * width));
    for (auto& v : x) {
        v = static_cast<uint8_t>(rng.uniform_below(256));
    }
    const std::vector<uint8_t> lut = random_lut(rng);
    const uint8_t* table = with_lut ? lut.data() : nullptr;
    const auto n = static_cast<std::size_t>(cout * height * width);
    std::vector<uint8_t> want(n);
    reference::conv3x3_u8(layer, x.data(), height, width, want.data(), table);
    const PackedConv3x3 packed(layer);
    std::vector<uint8_t> got(n, 0xA5);
    packed.run_with(KernelIsa::Avx2, x.data(), height, width, got.data(), table, scratch);
    ASSERT_EQ(got, want);
}

bool skip_without_avx2() {
    return !kernel_isa_supported(KernelIsa::Avx2);
}

constexpr const char* kNoAvx2 = "the AVX2 kernel cannot run here (no AVX2, or "
                                "TRISEG_KERNEL_ISA caps it)";

TEST(Conv3x3Ymm, Im2colPathMatchesReferenceOnRandomShapes) {
    if (skip_without_avx2()) {
        GTEST_SKIP() << kNoAvx2;
    }
    // C_in 1..3 (rows of 5, 9 and 14 pairs), output channels around the 8- and 16-lane
    // blocks, odd sizes around the 16-position groups, every zero point edge.
    Rng rng(31);
    std::vector<int16_t> scratch(4000, int16_t{0x7B7B});
    const int32_t zps[] = {0, 128, 255};
    for (int trial = 0; trial < 120; ++trial) {
        const auto cin = static_cast<int64_t>(1 + trial % 3);
        const auto cout = static_cast<int64_t>(1 + rng.uniform_below(40));
        const auto h = static_cast<int64_t>(1 + rng.uniform_below(trial % 10 == 0 ? 33 : 19));
        const auto w = static_cast<int64_t>(1 + rng.uniform_below(trial % 10 == 0 ? 33 : 19));
        expect_avx2_matches_reference(cin, cout, h, w, zps[(trial / 3) % 3], zps[(trial / 9) % 3],
                                      trial % 2 == 1, rng, scratch);
    }
}

TEST(Conv3x3Ymm, ThreeByThreePathMatchesReferenceAroundItsBlocks) {
    if (skip_without_avx2()) {
        GTEST_SKIP() << kNoAvx2;
    }
    // An odd channel pair (C_in 5, 17), 1 to 42 positions: single blocks of 1..12, exactly 16,
    // and groups whose last one overlaps the one before; C_out with a one-vector block.
    Rng rng(32);
    std::vector<int16_t> scratch;
    const int64_t cins[] = {4, 5, 17, 32};
    const int64_t couts[] = {8, 9, 16, 23, 40};
    const int64_t sizes[][2] = {{1, 1}, {1, 5}, {2, 3}, {3, 4}, {4, 4}, {1, 17}, {5, 5}, {6, 7}};
    const int32_t zps[] = {0, 128, 255};
    int n = 0;
    for (const int64_t cin : cins) {
        for (const int64_t cout : couts) {
            for (const auto& s : sizes) {
                expect_avx2_matches_reference(cin, cout, s[0], s[1], zps[n % 3], zps[(n / 3) % 3],
                                              n % 2 == 0, rng, scratch);
                ++n;
            }
        }
    }
}

TEST(Conv3x3Ymm, ClampedRequantizationGivesTheScalarCodes) {
    // The epilogue clamps v = acc + bias to [vmin, vcap] before the 64-bit product, adds the
    // offset B 2^s (mod 2^64), shifts logically and clamps the low 32 bits as unsigned: for
    // every multiplier, shift, zero point and clamp tried (ReLU, ReLU6, none, degenerate),
    // the codes equal the scalar rule's and the shifted value stays below 2^32.
    Rng rng(33);
    for (int trial = 0; trial < 6000; ++trial) {
        const double m =
            std::ldexp(0.5 + 0.5 * rng.uniform01(), -30 + static_cast<int>(rng.uniform_below(60)));
        const FixedPointMultiplier q = quantize_multiplier(m);
        const auto zp =
            static_cast<int32_t>(trial % 3 == 0 ? 255 * (trial % 2) : rng.uniform_below(256));
        int32_t lo = zp;
        int32_t hi = 255;
        switch (trial % 5) {
        case 1: // ReLU6
            hi = static_cast<int32_t>(zp + rng.uniform_below(256 - zp));
            break;
        case 2: // none
            lo = 0;
            break;
        case 3: // any order-respecting clamp, also below or above the zero point
            lo = static_cast<int32_t>(rng.uniform_below(256));
            hi = static_cast<int32_t>(lo + rng.uniform_below(256 - lo));
            break;
        case 4: // one code
            lo = hi = static_cast<int32_t>(rng.uniform_below(256));
            break;
        default:
            break;
        }
        int32_t bias[detail::kYmmLanes] = {};
        int32_t mul[detail::kYmmLanes];
        int32_t shift[detail::kYmmLanes];
        std::fill(mul, mul + detail::kYmmLanes, q.multiplier);
        std::fill(shift, shift + detail::kYmmLanes, q.shift);
        int32_t r[detail::kYmmRequantInts];
        detail::make_ymm_requant(bias, mul, shift, zp, lo, hi, r);
        const int64_t vcap = r[detail::kYmmRqVcap];
        const int64_t vmin = r[detail::kYmmRqVmin];
        uint64_t round = 0;
        std::memcpy(&round, r + detail::kYmmRqRoundEven, sizeof round);
        const auto ulo = static_cast<uint32_t>(r[detail::kYmmRqLo]);
        const auto uhi = static_cast<uint32_t>(r[detail::kYmmRqHi]);
        const auto add = static_cast<uint32_t>(r[detail::kYmmRqAdd]);
        const int64_t candidates[] = {INT32_MIN,
                                      -1,
                                      0,
                                      1,
                                      vcap - 1,
                                      vcap,
                                      vcap + 1,
                                      vmin - 1,
                                      vmin,
                                      vmin + 1,
                                      INT32_MAX,
                                      static_cast<int64_t>(rng.uniform_below(1ULL << 32)) +
                                          INT32_MIN,
                                      static_cast<int64_t>(rng.uniform_below(1ULL << 12)) - 2048};
        for (const int64_t c : candidates) {
            const auto v = static_cast<int32_t>(std::clamp<int64_t>(c, INT32_MIN, INT32_MAX));
            const int64_t clamped = std::clamp<int64_t>(v, vmin, vcap);
            const uint64_t t = static_cast<uint64_t>(clamped * q.multiplier) + round;
            const uint64_t y = t >> q.shift;
            ASSERT_LT(y, uint64_t{1} << 32) << "m " << m << ", v " << v;
            const uint32_t code = std::min(std::max(static_cast<uint32_t>(y), ulo), uhi) + add;
            const int64_t want =
                std::clamp<int64_t>(zp + apply_multiplier(v, q), lo, hi); // the scalar rule
            ASSERT_EQ(static_cast<int64_t>(code), want)
                << "m " << m << ", shift " << q.shift << ", zp " << zp << ", clamp [" << lo << ", "
                << hi << "], v " << v << ", vmin " << vmin << ", vcap " << vcap;
        }
    }
}

} // namespace
} // namespace triseg::engine
