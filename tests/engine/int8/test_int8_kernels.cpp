// INT8 kernels: reference vs hand-computed cases, fast (portable, AVX2, ymm and zmm VNNI) vs
// reference bit for bit on awkward shapes and extreme codes, pool, classifier, input
// quantization, CPU features, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/core/requant.h"
#include "engine/int8/cpu_features.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_reference.h"

namespace triseg::engine {
namespace {

/// Largest |x - zp| times |w| summed over one output's reduction of length k.
int64_t worst_sum(int32_t zp, int64_t k, int w_abs) {
    return std::max<int64_t>(zp, 255 - zp) * k * w_abs;
}

/// How a random test tensor is filled.
enum class Fill { Random, Max, Min, Saturated };

struct ConvCase {
    int64_t cin = 1;
    int64_t cout = 1;
    int64_t height = 1;
    int64_t width = 1;
    int32_t zp_in = 0;
    int32_t zp_out = 0;
    Fill codes = Fill::Random;
    Fill weights = Fill::Random;
    bool lut = false;
};

std::string describe(const ConvCase& c) {
    return std::to_string(c.cin) + "->" + std::to_string(c.cout) + " at " +
           std::to_string(c.height) + "x" + std::to_string(c.width) + ", zp " +
           std::to_string(c.zp_in) + "/" + std::to_string(c.zp_out) + ", codes " +
           std::to_string(static_cast<int>(c.codes)) + ", weights " +
           std::to_string(static_cast<int>(c.weights)) + (c.lut ? ", lut" : "");
}

/// A layer whose multipliers map the typical accumulator range onto codes, with some
/// channels at extreme shifts, and biases up to the int32 limit the validator allows.
models::Int8ConvLayer random_layer(const ConvCase& c, Rng& rng) {
    models::Int8ConvLayer layer;
    layer.name = "conv_test";
    layer.in_channels = c.cin;
    layer.out_channels = c.cout;
    layer.input = {0.02f, c.zp_in};
    layer.output = {0.05f, c.zp_out};
    const int64_t k = c.cin * 9;
    layer.weight.resize(static_cast<std::size_t>(c.cout * k));
    for (auto& w : layer.weight) {
        switch (c.weights) {
        case Fill::Max:
            w = 127;
            break;
        case Fill::Min:
            w = -127;
            break;
        case Fill::Saturated:
            w = rng.coin() ? 127 : -127;
            break;
        case Fill::Random:
            w = static_cast<int8_t>(static_cast<int>(rng.uniform_below(255)) - 127);
        }
    }
    const int64_t room = INT32_MAX - worst_sum(c.zp_in, k, 127);
    const double typical = std::sqrt(static_cast<double>(k)) * 127.0 * 128.0;
    for (int64_t oc = 0; oc < c.cout; ++oc) {
        layer.weight_scale.push_back(0.01f);
        int32_t bias = static_cast<int32_t>(rng.uniform_below(200001)) - 100000;
        if (oc % 5 == 3) {
            bias = static_cast<int32_t>(room); // largest allowed
        } else if (oc % 5 == 4) {
            bias = static_cast<int32_t>(-room);
        }
        layer.bias.push_back(bias);
        double m = 200.0 / typical * (0.25 + 4.0 * rng.uniform01());
        if (oc % 7 == 5) {
            m = std::ldexp(1.0 + rng.uniform01(), -31); // shift 62: everything rounds to 0
        } else if (oc % 7 == 6) {
            m = std::ldexp(1.0 + rng.uniform01(), 29); // shift 1: everything saturates
        } else if (oc % 7 == 2) {
            m = 0.5; // exact ties: x.5 rounds up
        }
        const FixedPointMultiplier q = quantize_multiplier(m);
        layer.multiplier.push_back(q.multiplier);
        layer.shift.push_back(q.shift);
    }
    return layer;
}

std::vector<uint8_t> random_codes(const ConvCase& c, Rng& rng) {
    std::vector<uint8_t> x(static_cast<std::size_t>(c.cin * c.height * c.width));
    for (auto& v : x) {
        switch (c.codes) {
        case Fill::Max:
            v = 255;
            break;
        case Fill::Min:
            v = 0;
            break;
        case Fill::Saturated:
            v = rng.coin() ? 255 : 0;
            break;
        case Fill::Random:
            v = static_cast<uint8_t>(rng.uniform_below(256));
        }
    }
    return x;
}

std::vector<uint8_t> random_lut(Rng& rng) {
    std::vector<uint8_t> lut(256);
    for (int i = 0; i < 256; ++i) {
        lut[i] = static_cast<uint8_t>(i);
    }
    rng.shuffle(lut);
    return lut;
}

std::vector<KernelIsa> supported_isas() {
    std::vector<KernelIsa> isas{KernelIsa::Portable};
    if (kernel_isa_supported(KernelIsa::Avx2)) {
        isas.push_back(KernelIsa::Avx2);
    }
    if (kernel_isa_supported(KernelIsa::Avx512Vnni)) {
        isas.push_back(KernelIsa::Avx512Vnni);
    }
    if (kernel_isa_supported(KernelIsa::Avx512Zmm)) {
        isas.push_back(KernelIsa::Avx512Zmm);
    }
    return isas;
}

/// Runs one case through the reference, run() and every supported ISA; all must agree.
/// `scratch` is shared between cases and starts dirty, so stale contents would show.
void expect_fast_matches_reference(const ConvCase& c, Rng& rng, std::vector<int16_t>& scratch) {
    SCOPED_TRACE(describe(c));
    const models::Int8ConvLayer layer = random_layer(c, rng);
    const std::vector<uint8_t> x = random_codes(c, rng);
    const std::vector<uint8_t> lut = random_lut(rng);
    const uint8_t* table = c.lut ? lut.data() : nullptr;
    const auto n = static_cast<std::size_t>(c.cout * c.height * c.width);

    std::vector<uint8_t> want(n);
    reference::conv3x3_u8(layer, x.data(), c.height, c.width, want.data(), table);

    const PackedConv3x3 packed(layer);
    EXPECT_EQ(packed.in_channels(), c.cin);
    EXPECT_EQ(packed.out_channels(), c.cout);
    std::vector<uint8_t> got(n, 0xAB);
    packed.run(x.data(), c.height, c.width, got.data(), table, scratch);
    ASSERT_EQ(got, want) << "run()";
    for (KernelIsa isa : supported_isas()) {
        std::fill(got.begin(), got.end(), uint8_t{0xCD});
        packed.run_with(isa, x.data(), c.height, c.width, got.data(), table, scratch);
        ASSERT_EQ(got, want) << "isa " << static_cast<int>(isa);
    }
}

// ---------------------------------------------------------------------------------------
// Reference against hand-computed numbers.

/// 1 -> 1 channel, 3x3 image, all weights 1, input zero point 10, bias -2, M = 1/2, output
/// zero point 5. Window sums of (x - 10) with real-zero padding, worked out by hand.
models::Int8ConvLayer hand_layer() {
    models::Int8ConvLayer layer;
    layer.name = "hand";
    layer.in_channels = 1;
    layer.out_channels = 1;
    layer.weight.assign(9, 1);
    layer.weight_scale = {1.0f};
    layer.bias = {-2};
    layer.input = {1.0f, 10};
    layer.output = {1.0f, 5};
    layer.multiplier = {1 << 30}; // 2^30 * 2^-31 = 0.5
    layer.shift = {31};
    return layer;
}

const std::vector<uint8_t> kHandInput = {10, 12, 14, 11, 10, 20, 30, 10, 9};
// x - zp = [0 2 4; 1 0 10; 20 0 -1]; window sums [3 17 16; 23 36 15; 21 30 9];
// + bias [1 15 14; 21 34 13; 19 28 7]; * 0.5 ties up [1 8 7; 11 17 7; 10 14 4]; + 5:
const std::vector<uint8_t> kHandOutput = {6, 13, 12, 16, 22, 12, 15, 19, 9};

TEST(Int8Reference, HandComputedConvPadsWithZeroPointAndRoundsHalfUp) {
    std::vector<uint8_t> out(9);
    reference::conv3x3_u8(hand_layer(), kHandInput.data(), 3, 3, out.data(), nullptr);
    EXPECT_EQ(out, kHandOutput);
}

TEST(Int8Reference, HandComputedConvAppliesLutAndClampsBothEnds) {
    std::vector<uint8_t> lut(256);
    for (int i = 0; i < 256; ++i) {
        lut[i] = static_cast<uint8_t>(255 - i);
    }
    std::vector<uint8_t> out(9);
    reference::conv3x3_u8(hand_layer(), kHandInput.data(), 3, 3, out.data(), lut.data());
    for (int i = 0; i < 9; ++i) {
        EXPECT_EQ(out[i], 255 - kHandOutput[i]) << i;
    }
    models::Int8ConvLayer low = hand_layer();
    low.bias = {-1000}; // every accumulator negative: ReLU gives the zero point
    reference::conv3x3_u8(low, kHandInput.data(), 3, 3, out.data(), nullptr);
    EXPECT_EQ(out, std::vector<uint8_t>(9, 5));
    models::Int8ConvLayer high = hand_layer();
    high.bias = {1000};
    high.shift = {20}; // M = 1024: saturates at 255
    reference::conv3x3_u8(high, kHandInput.data(), 3, 3, out.data(), nullptr);
    EXPECT_EQ(out, std::vector<uint8_t>(9, 255));
}

TEST(Int8Reference, HandComputedMaxPool) {
    // 2 channels of 2x4.
    const std::vector<uint8_t> in = {1, 9, 3, 4, 5, 2, 8, 0, 255, 0, 0, 0, 0, 0, 0, 7};
    std::vector<uint8_t> out(4);
    reference::maxpool2x2_u8(in.data(), 2, 2, 4, out.data());
    EXPECT_EQ(out, (std::vector<uint8_t>{9, 8, 255, 7}));
    maxpool2x2_u8(in.data(), 2, 2, 4, out.data());
    EXPECT_EQ(out, (std::vector<uint8_t>{9, 8, 255, 7}));
}

models::Int8LinearLayer hand_linear() {
    models::Int8LinearLayer layer;
    layer.in_features = 3;
    layer.out_features = 2;
    layer.weight = {1, 2, 3, -1, 0, 1};
    layer.weight_scale = {0.25f, 2.0f};
    layer.bias = {5, -5};
    layer.input = {0.5f, 10};
    return layer;
}

TEST(Int8Reference, HandComputedLinear) {
    // x - zp = [0, -10, 245]: acc = [5 - 20 + 735, -5 + 245] = [720, 240].
    const std::vector<uint8_t> x = {10, 0, 255};
    std::vector<float> logits(2);
    reference::linear_u8(hand_linear(), x.data(), logits.data());
    EXPECT_EQ(logits, (std::vector<float>{720.0f * 0.5f * 0.25f, 240.0f * 0.5f * 2.0f}));
    std::vector<float> fast(2);
    linear_u8(hand_linear(), x.data(), fast.data());
    EXPECT_EQ(fast, logits);
}

// ---------------------------------------------------------------------------------------
// Fast conv vs reference.

TEST(Int8Kernels, KernelIsaCapFromTheEnvironment) {
    EXPECT_EQ(parse_kernel_isa_cap(nullptr), KernelIsa::Avx512Zmm);
    EXPECT_EQ(parse_kernel_isa_cap(""), KernelIsa::Avx512Zmm);
    EXPECT_EQ(parse_kernel_isa_cap("avx512zmm"), KernelIsa::Avx512Zmm);
    EXPECT_EQ(parse_kernel_isa_cap("avx512vnni"), KernelIsa::Avx512Vnni);
    EXPECT_EQ(parse_kernel_isa_cap("avx2"), KernelIsa::Avx2);
    EXPECT_EQ(parse_kernel_isa_cap("portable"), KernelIsa::Portable);
    try {
        parse_kernel_isa_cap("AVX2");
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("TRISEG_KERNEL_ISA"), std::string::npos) << m;
        EXPECT_NE(m.find("'AVX2'"), std::string::npos) << m;
        EXPECT_NE(m.find("avx512zmm"), std::string::npos) << m;
    }
    // The cap of this process holds: the best kernel is one the process allows.
    EXPECT_TRUE(kernel_isa_supported(best_kernel_isa()));
}

TEST(Int8Kernels, ConvHandCaseOnEveryIsa) {
    const PackedConv3x3 packed(hand_layer());
    std::vector<int16_t> scratch;
    for (KernelIsa isa : supported_isas()) {
        std::vector<uint8_t> out(9);
        packed.run_with(isa, kHandInput.data(), 3, 3, out.data(), nullptr, scratch);
        EXPECT_EQ(out, kHandOutput) << "isa " << static_cast<int>(isa);
    }
}

TEST(Int8Kernels, ConvMatchesReferenceOnAwkwardShapes) {
    Rng rng(11);
    std::vector<int16_t> scratch(50000, int16_t{0x5A5A});
    const int64_t sizes[][2] = {{1, 1}, {2, 2}, {3, 3}, {5, 7}, {7, 5}, {1, 9}, {6, 1}, {4, 4}};
    const int64_t channels[][2] = {{1, 16}, {3, 5}, {5, 13}, {13, 3}, {2, 17},
                                   {4, 8},  {7, 1}, {16, 9}, {9, 24}, {1, 7}};
    const int32_t zps[] = {0, 73, 255};
    int n = 0;
    for (const auto& s : sizes) {
        for (const auto& ch : channels) {
            ConvCase c;
            c.cin = ch[0];
            c.cout = ch[1];
            c.height = s[0];
            c.width = s[1];
            c.zp_in = zps[n % 3];
            c.zp_out = zps[(n / 3) % 3];
            c.lut = n % 2 == 1;
            expect_fast_matches_reference(c, rng, scratch);
            ++n;
        }
    }
}

TEST(Int8Kernels, ConvMatchesReferenceOnVggShapes) {
    // VGG-16 width 0.25 on 32x32 (image size reduced where the shape repeats).
    Rng rng(12);
    std::vector<int16_t> scratch;
    const int64_t shapes[][3] = {{1, 16, 32},   {3, 16, 16},  {16, 16, 32}, {16, 32, 16},
                                 {32, 32, 16},  {32, 64, 8},  {64, 64, 8},  {64, 128, 4},
                                 {128, 128, 4}, {128, 128, 2}};
    int n = 0;
    for (const auto& s : shapes) {
        ConvCase c;
        c.cin = s[0];
        c.cout = s[1];
        c.height = c.width = s[2];
        c.zp_in = n == 0 ? 73 : 0; // ReLU outputs have zero point 0; the image does not
        c.zp_out = 0;
        c.lut = n % 2 == 0;
        expect_fast_matches_reference(c, rng, scratch);
        ++n;
    }
}

TEST(Int8Kernels, ConvMatchesReferenceOnExtremeCodesAndLongReductions) {
    // K = 1152 and 2304 with |x - zp| = 255 and |w| = 127 everywhere: the largest
    // accumulators, plus biases at the int32 limit the validator allows.
    Rng rng(13);
    std::vector<int16_t> scratch;
    const Fill fills[][2] = {{Fill::Max, Fill::Max},
                             {Fill::Max, Fill::Min},
                             {Fill::Min, Fill::Max},
                             {Fill::Min, Fill::Min},
                             {Fill::Saturated, Fill::Max},
                             {Fill::Max, Fill::Saturated},
                             {Fill::Saturated, Fill::Saturated}};
    const int64_t shapes[][4] = {{128, 24, 3, 3}, {256, 9, 2, 3}, {255, 17, 1, 2}};
    int n = 0;
    for (const auto& s : shapes) {
        for (const auto& f : fills) {
            for (int32_t zp : {0, 255, 73}) {
                ConvCase c;
                c.cin = s[0];
                c.cout = s[1];
                c.height = s[2];
                c.width = s[3];
                c.zp_in = zp;
                c.zp_out = n % 4 == 0 ? 255 : 0;
                c.codes = f[0];
                c.weights = f[1];
                c.lut = n % 3 == 0;
                expect_fast_matches_reference(c, rng, scratch);
                ++n;
            }
        }
    }
}

TEST(Int8Kernels, ConvMatchesReferenceOnManyShapes) {
    // The zmm kernel's edges: C_in 1..3 (im2col rows: 3, 5, 7 quads) and C_in 4 / 5 / 64 / 65
    // (3x3 quads, a partial last quad); C_out around its 16-, 32- and 64-lane blocks (a
    // remainder of 3 vectors is padded to 4); 1..33 positions around its 16-position groups
    // and its 6 / 12 / 24-position register blocks, and a full 32x32 image.
    Rng rng(21);
    std::vector<int16_t> scratch(1000, int16_t{0x3C3C});
    const int64_t cins[] = {1, 2, 3, 4, 5, 64, 65};
    const int64_t couts[] = {1, 16, 17, 33, 48, 64, 65, 130};
    const int64_t sizes[][2] = {{1, 1},  {2, 2},  {3, 3}, {4, 4}, {1, 15},
                                {17, 1}, {3, 11}, {5, 7}, {6, 6}, {32, 32}};
    int n = 0;
    for (const int64_t cin : cins) {
        for (const int64_t cout : couts) {
            for (const auto& s : sizes) {
                // Every (C_in, C_out) pair sees a few sizes; 32x32 only with narrow layers.
                if ((n++ % 3) != 0 && !(s[0] == 1 && s[1] == 1)) {
                    continue;
                }
                if (s[0] == 32 && cin * cout > 64 * 17) {
                    continue;
                }
                ConvCase c;
                c.cin = cin;
                c.cout = cout;
                c.height = s[0];
                c.width = s[1];
                c.zp_in = static_cast<int32_t>(rng.uniform_below(256));
                c.zp_out = n % 4 == 0 ? static_cast<int32_t>(rng.uniform_below(256)) : 0;
                c.lut = n % 2 == 0;
                expect_fast_matches_reference(c, rng, scratch);
            }
        }
    }
}

TEST(Int8Kernels, ConvMatchesReferenceOnWidthOneVggShapes) {
    // VGG-16 width 1.0 on 32x32x3 (CIFAR-10 shape), image sizes reduced where the shape repeats
    // so that the scalar reference stays quick; conv1_1 at full size.
    Rng rng(22);
    std::vector<int16_t> scratch;
    const int64_t shapes[][3] = {{3, 64, 32},   {64, 64, 8},   {64, 128, 16}, {128, 256, 8},
                                 {256, 512, 4}, {512, 512, 2}, {512, 512, 1}};
    int n = 0;
    for (const auto& s : shapes) {
        ConvCase c;
        c.cin = s[0];
        c.cout = s[1];
        c.height = c.width = s[2];
        c.zp_in = n == 0 ? 120 : 0;
        c.lut = n % 2 == 1;
        expect_fast_matches_reference(c, rng, scratch);
        ++n;
    }
}

TEST(Int8Kernels, ConvRunsManyImagesOfDifferentSizesThroughOneLayer) {
    // One packed layer and one scratch, images of several sizes in turn (as the network runs
    // image after image): each equals the reference on its own on every ISA.
    Rng rng(23);
    for (const int64_t cin : {1, 3, 24}) {
        ConvCase base;
        base.cin = cin;
        base.cout = 40;
        base.zp_in = 11;
        const models::Int8ConvLayer layer = random_layer(base, rng);
        const PackedConv3x3 packed(layer);
        std::vector<int16_t> scratch;
        const int64_t sizes[][2] = {{32, 32}, {2, 2}, {4, 4}, {1, 1}, {9, 14}, {32, 32}, {3, 3}};
        for (const auto& s : sizes) {
            ConvCase c = base;
            c.height = s[0];
            c.width = s[1];
            const std::vector<uint8_t> x = random_codes(c, rng);
            const auto n = static_cast<std::size_t>(c.cout * c.height * c.width);
            std::vector<uint8_t> want(n);
            reference::conv3x3_u8(layer, x.data(), c.height, c.width, want.data(), nullptr);
            for (KernelIsa isa : supported_isas()) {
                std::vector<uint8_t> got(n, 0xEE);
                packed.run_with(isa, x.data(), c.height, c.width, got.data(), nullptr, scratch);
                ASSERT_EQ(got, want) << describe(c) << ", isa " << kernel_isa_name(isa);
            }
        }
    }
}

TEST(Int8Kernels, ZmmKernelNeedsAvx512FBwVlAndVnni) {
    const CpuFeatures& f = cpu_features();
    if (kernel_isa_supported(KernelIsa::Avx512Zmm)) {
        EXPECT_TRUE(f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.os_avx512);
        EXPECT_EQ(best_kernel_isa(), KernelIsa::Avx512Zmm);
    }
    if (!f.avx512f || !f.avx512bw || !f.avx512vnni) {
        EXPECT_FALSE(kernel_isa_supported(KernelIsa::Avx512Zmm));
    }
    EXPECT_STREQ(kernel_isa_name(KernelIsa::Avx512Zmm), "AVX-512 VNNI zmm");
}

// cpu_features() is the one detection every kernel choice uses; its CPUID bits agree with the
// compiler's own detection on this machine (which also checks the OS state).
TEST(Int8Kernels, CpuFeaturesAgreeWithTheCompilersDetection) {
    const CpuFeatures& f = cpu_features();
    EXPECT_EQ(f.avx2, __builtin_cpu_supports("avx2") != 0);
    EXPECT_EQ(f.fma, __builtin_cpu_supports("fma") != 0);
    EXPECT_EQ(f.avx512f, __builtin_cpu_supports("avx512f") != 0);
    EXPECT_EQ(f.avx512bw, __builtin_cpu_supports("avx512bw") != 0);
    EXPECT_EQ(f.avx512vl, __builtin_cpu_supports("avx512vl") != 0);
    EXPECT_EQ(f.avx512vnni, __builtin_cpu_supports("avx512vnni") != 0);
    EXPECT_EQ(f.avx512vbmi, __builtin_cpu_supports("avx512vbmi") != 0);
}

TEST(Int8Kernels, CpuFeaturesDescribeAmx) {
    const CpuFeatures& f = cpu_features();
    // AMX is usable only with the CPU flags, the OS tile state and the permission.
    EXPECT_EQ(f.amx_usable(), f.amx_tile && f.amx_int8 && f.os_amx && f.amx_permitted);
    const std::string line = describe_cpu_features(f);
    EXPECT_NE(line.find("AMX-INT8: "), std::string::npos) << line;
    CpuFeatures none;
    EXPECT_EQ(describe_cpu_features(none), "no AVX2; AMX-INT8: not in this CPU");
    CpuFeatures cpu_only;
    cpu_only.avx2 = true;
    cpu_only.amx_tile = cpu_only.amx_int8 = true;
    EXPECT_EQ(describe_cpu_features(cpu_only),
              "avx2; AMX-INT8: in the CPU, but the OS does not enable the tile state "
              "(XCR0 bits 17/18)");
    cpu_only.os_amx = true;
    EXPECT_NE(describe_cpu_features(cpu_only).find("refused"), std::string::npos);
    cpu_only.amx_permitted = true;
    EXPECT_TRUE(cpu_only.amx_usable());
    EXPECT_NE(describe_cpu_features(cpu_only).find("usable"), std::string::npos);
}

TEST(Int8Kernels, ConvIsRepeatableWithReusedScratch) {
    Rng rng(14);
    ConvCase c;
    c.cin = 5;
    c.cout = 20;
    c.height = 6;
    c.width = 9;
    c.zp_in = 73;
    const models::Int8ConvLayer layer = random_layer(c, rng);
    const std::vector<uint8_t> x = random_codes(c, rng);
    const PackedConv3x3 packed(layer);
    std::vector<int16_t> scratch;
    std::vector<uint8_t> first(20 * 6 * 9);
    std::vector<uint8_t> again(first.size());
    packed.run(x.data(), 6, 9, first.data(), nullptr, scratch);
    const int16_t* data = scratch.data();
    // A larger image and then the first one again: stale scratch must not leak in.
    std::vector<uint8_t> big(5 * 12 * 12, 200);
    std::vector<uint8_t> big_out(20 * 12 * 12);
    packed.run(big.data(), 12, 12, big_out.data(), nullptr, scratch);
    packed.run(x.data(), 6, 9, again.data(), nullptr, scratch);
    EXPECT_EQ(first, again);
    const int16_t* grown = scratch.data();
    packed.run(x.data(), 6, 9, again.data(), nullptr, scratch);
    EXPECT_EQ(scratch.data(), grown) << "steady state must not reallocate";
    EXPECT_NE(data, nullptr);
}

// ---------------------------------------------------------------------------------------
// Pool, classifier, input quantization.

TEST(Int8Kernels, MaxPoolMatchesReference) {
    Rng rng(15);
    for (const auto& s : {std::array<int64_t, 3>{1, 2, 2}, std::array<int64_t, 3>{3, 4, 6},
                          std::array<int64_t, 3>{16, 32, 32}, std::array<int64_t, 3>{5, 2, 10}}) {
        const auto n = static_cast<std::size_t>(s[0] * s[1] * s[2]);
        std::vector<uint8_t> in(n);
        for (auto& v : in) {
            v = static_cast<uint8_t>(rng.uniform_below(256));
        }
        std::vector<uint8_t> want(n / 4);
        std::vector<uint8_t> got(n / 4);
        reference::maxpool2x2_u8(in.data(), s[0], s[1], s[2], want.data());
        maxpool2x2_u8(in.data(), s[0], s[1], s[2], got.data());
        EXPECT_EQ(got, want);
    }
}

TEST(Int8Kernels, LinearMatchesReference) {
    Rng rng(16);
    for (int32_t zp : {0, 73, 255}) {
        models::Int8LinearLayer layer;
        layer.in_features = 517;
        layer.out_features = 11;
        layer.input = {0.037f, zp};
        for (int64_t i = 0; i < layer.in_features * layer.out_features; ++i) {
            layer.weight.push_back(
                static_cast<int8_t>(static_cast<int>(rng.uniform_below(255)) - 127));
        }
        for (int64_t o = 0; o < layer.out_features; ++o) {
            layer.weight_scale.push_back(static_cast<float>(0.001 + rng.uniform01() * 0.01));
            layer.bias.push_back(static_cast<int32_t>(rng.uniform_below(2000001)) - 1000000);
        }
        std::vector<uint8_t> x(static_cast<std::size_t>(layer.in_features));
        for (auto& v : x) {
            v = static_cast<uint8_t>(rng.uniform_below(256));
        }
        std::vector<float> want(11);
        std::vector<float> got(11);
        reference::linear_u8(layer, x.data(), want.data());
        linear_u8(layer, x.data(), got.data());
        EXPECT_EQ(got, want) << "zp " << zp;
        std::vector<float> unchecked(11);
        linear_u8_prevalidated(layer, x.data(), unchecked.data());
        EXPECT_EQ(unchecked, want) << "zp " << zp;
    }
}

TEST(Int8Kernels, QuantizeInputRoundsTiesToEvenAndClamps) {
    // scale 0.5: inv = 2 exactly, so x * inv lands on exact halves.
    const std::vector<float> x = {0.25f,   0.75f,    1.25f,   -0.25f,  -0.75f, 0.0f, -1.25f,
                                  1000.0f, -1000.0f, 112.75f, 112.25f, -5.0f,  1e30f};
    std::vector<uint8_t> out(x.size());
    quantize_input(x.data(), static_cast<int64_t>(x.size()), {0.5f, 10}, out.data());
    // 0.5->0, 1.5->2, 2.5->2, -0.5->0, -1.5->-2, 0, -2.5->-2, clamp, clamp, 225.5->226,
    // 224.5->224, -10, clamp
    EXPECT_EQ(out, (std::vector<uint8_t>{10, 12, 12, 10, 8, 10, 8, 255, 0, 236, 234, 0, 255}));
    quantize_input(x.data(), 3, {0.5f, 0}, out.data());
    EXPECT_EQ(out[0], 0);
    EXPECT_EQ(out[1], 2);
    EXPECT_EQ(out[2], 2);
}

TEST(Int8Kernels, QuantizeInputMultipliesByTheFloatInverse) {
    // With scale 0.1f, inv = 1.0f / 0.1f = 10.0f and 1.55f * 10.0f rounds (in float) to the
    // tie 15.5f -> 16, while 1.55f / 0.1f = 15.499999f -> 15; 1.95f gives 19.5f -> 20 vs 19.
    ASSERT_EQ(1.55f * (1.0f / 0.1f), 15.5f);
    ASSERT_LT(1.55f / 0.1f, 15.5f);
    const std::vector<float> x = {1.55f, 1.95f};
    std::vector<uint8_t> out(2);
    quantize_input(x.data(), 2, {0.1f, 3}, out.data());
    EXPECT_EQ(out, (std::vector<uint8_t>{19, 23}));
}

// ---------------------------------------------------------------------------------------
// Errors.

void expect_input_error(const std::function<void()>& f, const std::string& needle) {
    try {
        f();
        ADD_FAILURE() << "expected InputError containing '" << needle << "'";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST(Int8Kernels, BadLayersThrowInputErrorNamingTheLayer) {
    using Mutate = void (*)(models::Int8ConvLayer&);
    const std::pair<Mutate, const char*> cases[] = {
        {[](models::Int8ConvLayer& l) { l.weight.pop_back(); }, "weight"},
        {[](models::Int8ConvLayer& l) { l.in_channels = 2; }, "weight"},
        {[](models::Int8ConvLayer& l) { l.out_channels = 0; }, "channels"},
        {[](models::Int8ConvLayer& l) { l.bias.push_back(1); }, "bias"},
        {[](models::Int8ConvLayer& l) { l.weight_scale.clear(); }, "weight_scale"},
        {[](models::Int8ConvLayer& l) { l.multiplier = {1 << 29}; }, "multiplier"},
        {[](models::Int8ConvLayer& l) { l.shift.clear(); }, "shift"},
        {[](models::Int8ConvLayer& l) { l.shift = {0}; }, "shift"},
        {[](models::Int8ConvLayer& l) { l.shift = {63}; }, "shift"},
        {[](models::Int8ConvLayer& l) { l.input.zero_point = 256; }, "zero point"},
        {[](models::Int8ConvLayer& l) { l.output.zero_point = -1; }, "zero point"},
        {[](models::Int8ConvLayer& l) { l.bias = {INT32_MAX - 100}; }, "overflow"},
    };
    for (const auto& [mutate, field] : cases) {
        models::Int8ConvLayer layer = hand_layer();
        layer.name = "conv3_2";
        mutate(layer);
        SCOPED_TRACE(field);
        expect_input_error([&] { PackedConv3x3 p(layer); }, "conv3_2");
        expect_input_error([&] { PackedConv3x3 p(layer); }, field);
        std::vector<uint8_t> in(18);
        std::vector<uint8_t> out(18);
        expect_input_error(
            [&] { reference::conv3x3_u8(layer, in.data(), 3, 3, out.data(), nullptr); }, "conv3_2");
    }
}

TEST(Int8Kernels, BadShapesThrowInputError) {
    const PackedConv3x3 packed(hand_layer());
    std::vector<int16_t> scratch;
    std::vector<uint8_t> buf(64);
    expect_input_error([&] { packed.run(buf.data(), 0, 3, buf.data(), nullptr, scratch); }, "hand");
    expect_input_error([&] { maxpool2x2_u8(buf.data(), 1, 3, 4, buf.data()); }, "even");
    expect_input_error([&] { reference::maxpool2x2_u8(buf.data(), 1, 4, 5, buf.data()); }, "even");
    models::Int8LinearLayer lin = hand_linear();
    lin.weight.pop_back();
    std::vector<float> logits(2);
    expect_input_error([&] { linear_u8(lin, buf.data(), logits.data()); }, "classifier");
    expect_input_error([&] { reference::linear_u8(lin, buf.data(), logits.data()); }, "classifier");
    const float nan = std::numeric_limits<float>::quiet_NaN();
    expect_input_error([&] { quantize_input(&nan, 1, {0.5f, 0}, buf.data()); }, "NaN");
    const float one = 1.0f;
    expect_input_error([&] { quantize_input(&one, 1, {0.0f, 0}, buf.data()); }, "scale");
    expect_input_error([&] { quantize_input(&one, 1, {1.0f, 300}, buf.data()); }, "zero point");
}

TEST(Int8Kernels, PortableIsAlwaysSupported) {
    EXPECT_TRUE(kernel_isa_supported(KernelIsa::Portable));
    EXPECT_TRUE(kernel_isa_supported(best_kernel_isa()));
    if (!kernel_isa_supported(KernelIsa::Avx2)) {
        GTEST_SKIP() << "no AVX2 on this CPU: only the portable kernel was compared";
    }
    const KernelIsa want = kernel_isa_supported(KernelIsa::Avx512Zmm)    ? KernelIsa::Avx512Zmm
                           : kernel_isa_supported(KernelIsa::Avx512Vnni) ? KernelIsa::Avx512Vnni
                                                                         : KernelIsa::Avx2;
    EXPECT_EQ(best_kernel_isa(), want);
}

} // namespace
} // namespace triseg::engine
