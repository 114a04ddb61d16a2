// The fast conv kernels of graph convs (make_conv_kernel) against the scalar reference
// (reference::graph_op_u8) bit for bit, on every ISA this CPU runs: every output clamp (ReLU,
// ReLU6, none, any), awkward channel counts and sizes, zero points at the edges, extreme
// weights and codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/rng.h"
#include "engine/core/requant.h"
#include "engine/int8/conv_kernel.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_reference.h"

namespace triseg::engine {
namespace {

/// How a tensor of codes or weights is filled.
enum class Fill { Random, Max, Min, Saturated };

/// The output clamp of a case.
enum class Clamp { Relu, Relu6, None, Any };

struct OpCase {
    int64_t cin = 1;
    int64_t cout = 1;
    int64_t height = 1;
    int64_t width = 1;
    int64_t kernel = 3;
    int64_t stride = 1;
    int64_t padding = 1;
    int64_t groups = 1;
    int32_t zp_in = 0;
    int32_t zp_out = 0;
    Clamp clamp = Clamp::Relu;
    Fill codes = Fill::Random;
    Fill weights = Fill::Random;
    bool lut = false;
};

std::string describe(const OpCase& c) {
    return std::to_string(c.cin) + "->" + std::to_string(c.cout) + " k" + std::to_string(c.kernel) +
           " s" + std::to_string(c.stride) + " p" + std::to_string(c.padding) + " g" +
           std::to_string(c.groups) + " at " + std::to_string(c.height) + "x" +
           std::to_string(c.width) + ", zp " + std::to_string(c.zp_in) + "/" +
           std::to_string(c.zp_out) + ", clamp " + std::to_string(static_cast<int>(c.clamp)) +
           ", codes " + std::to_string(static_cast<int>(c.codes)) + ", weights " +
           std::to_string(static_cast<int>(c.weights)) + (c.lut ? ", lut" : "");
}

/// A graph of the input tensor, one conv op and its output tensor (no classifier: the
/// kernels and the reference need only these). Multipliers spread the typical sums over the
/// codes; some channels sit at shift 62, shift 1, exact ties, and the largest and smallest
/// bias the int32 bound allows; weights span [-128, 127].
models::Int8Graph one_conv(const OpCase& c, Rng& rng) {
    models::Int8Graph g;
    const int64_t side_h = (c.height + 2 * c.padding - c.kernel) / c.stride + 1;
    const int64_t side_w = (c.width + 2 * c.padding - c.kernel) / c.stride + 1;
    g.tensors.push_back({"input", c.cin, c.height, c.width, {0.02f, c.zp_in}, false});
    g.tensors.push_back({"out", c.cout, side_h, side_w, {0.05f, c.zp_out}, false});
    models::Int8Op op;
    op.kind = models::Int8OpKind::Conv;
    op.name = "conv_test";
    op.inputs = {0};
    op.output = 1;
    op.kernel = c.kernel;
    op.stride = c.stride;
    op.padding = c.padding;
    op.groups = c.groups;
    op.in_channels = c.cin;
    op.out_channels = c.cout;
    const int64_t k = c.cin / c.groups * c.kernel * c.kernel;
    op.weight.resize(static_cast<size_t>(c.cout * k));
    for (auto& w : op.weight) {
        switch (c.weights) {
        case Fill::Max:
            w = 127;
            break;
        case Fill::Min:
            w = -128;
            break;
        case Fill::Saturated:
            w = rng.coin() ? 127 : -128;
            break;
        case Fill::Random:
            w = static_cast<int8_t>(static_cast<int>(rng.uniform_below(256)) - 128);
        }
    }
    const double typical = std::sqrt(static_cast<double>(k)) * 128.0 * 128.0;
    for (int64_t oc = 0; oc < c.cout; ++oc) {
        int64_t sum_abs = 0;
        for (int64_t i = 0; i < k; ++i) {
            sum_abs += std::abs(static_cast<int>(op.weight[static_cast<size_t>(oc * k + i)]));
        }
        const int64_t room = INT32_MAX - std::max(c.zp_in, 255 - c.zp_in) * sum_abs;
        auto bias = static_cast<int32_t>(std::clamp<int64_t>(
            static_cast<int64_t>(rng.uniform_below(20001)) - 10000, -room, room));
        double m = 200.0 / typical * (0.25 + 4.0 * rng.uniform01());
        switch (oc % 7) {
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
        op.weight_scale.push_back(0.01f);
        op.bias.push_back(bias);
        op.multiplier.push_back(q.multiplier);
        op.shift.push_back(q.shift);
    }
    switch (c.clamp) {
    case Clamp::Relu:
        op.clamp_min = c.zp_out;
        op.clamp_max = 255;
        break;
    case Clamp::Relu6:
        op.clamp_min = c.zp_out;
        op.clamp_max = std::min(255, c.zp_out + 40);
        break;
    case Clamp::None:
        op.clamp_min = 0;
        op.clamp_max = 255;
        break;
    case Clamp::Any:
        op.clamp_min = static_cast<int32_t>(rng.uniform_below(200));
        op.clamp_max = op.clamp_min + static_cast<int32_t>(rng.uniform_below(56));
        break;
    }
    g.ops.push_back(op);
    return g;
}

std::vector<uint8_t> codes_of(const OpCase& c, Rng& rng) {
    std::vector<uint8_t> x(static_cast<size_t>(c.cin * c.height * c.width));
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

std::vector<KernelIsa> supported_isas() {
    std::vector<KernelIsa> isas;
    for (KernelIsa isa :
         {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512Vnni, KernelIsa::Avx512Zmm}) {
        if (kernel_isa_supported(isa)) {
            isas.push_back(isa);
        }
    }
    return isas;
}

/// One case through the reference and the op's fast kernel on every supported ISA; all must
/// agree. `scratch` is shared between cases and starts dirty, so stale contents would show.
void expect_kernel_matches_reference(const OpCase& c, Rng& rng, std::vector<int16_t>& scratch) {
    SCOPED_TRACE(describe(c));
    const models::Int8Graph g = one_conv(c, rng);
    const models::Int8Op& op = g.ops[0];
    const std::vector<uint8_t> x = codes_of(c, rng);
    std::vector<uint8_t> lut(256);
    for (int i = 0; i < 256; ++i) {
        lut[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    }
    rng.shuffle(lut);
    const auto n = static_cast<size_t>(g.tensors[1].size());
    std::vector<uint8_t> want(n);
    reference::graph_op_u8(g, op, {x.data()}, want.data());
    if (c.lut) {
        for (auto& v : want) {
            v = lut[v];
        }
    }
    const std::unique_ptr<ConvKernel> kernel = make_conv_kernel(g, op);
    ASSERT_NE(kernel, nullptr) << "no fast kernel for this conv";
    std::vector<uint8_t> got(n);
    for (KernelIsa isa : supported_isas()) {
        std::fill(got.begin(), got.end(), uint8_t{0xCD});
        kernel->run_with(isa, x.data(), c.height, c.width, got.data(), c.lut ? lut.data() : nullptr,
                         scratch);
        ASSERT_EQ(got, want) << kernel_isa_name(isa);
    }
}

constexpr Clamp kClamps[] = {Clamp::Relu, Clamp::Relu6, Clamp::None, Clamp::Any};
constexpr int32_t kZps[] = {0, 128, 255, 37};

TEST(ConvKernels, Packed3x3GivesEveryClampOnEveryIsa) {
    // C_in around the pair, quad and im2col (C_in <= 3) layouts, C_out around the 8-, 16- and
    // 64-lane blocks, sizes around the register blocks and the 16-position groups.
    Rng rng(71);
    std::vector<int16_t> scratch(3000, int16_t{0x5A5A});
    const int64_t cins[] = {1, 3, 5, 16, 33};
    const int64_t couts[] = {1, 9, 17, 70};
    int n = 0;
    for (const int64_t cin : cins) {
        for (const int64_t cout : couts) {
            for (const Clamp clamp : kClamps) {
                OpCase c;
                c.cin = cin;
                c.cout = cout;
                c.height = 1 + static_cast<int64_t>(rng.uniform_below(9));
                c.width = 1 + static_cast<int64_t>(rng.uniform_below(19));
                c.zp_in = kZps[n % 4];
                c.zp_out = kZps[(n / 4) % 4];
                c.clamp = clamp;
                c.lut = n % 3 == 1;
                expect_kernel_matches_reference(c, rng, scratch);
                ++n;
            }
        }
    }
}

TEST(ConvKernels, Packed3x3ClampsExtremeCodesAndWeights) {
    Rng rng(72);
    std::vector<int16_t> scratch;
    const Fill fills[] = {Fill::Max, Fill::Min, Fill::Saturated};
    int n = 0;
    for (const Fill codes : fills) {
        for (const Fill weights : fills) {
            for (const Clamp clamp : kClamps) {
                OpCase c;
                c.cin = 7 + n % 5;
                c.cout = 10 + n % 9;
                c.height = 5;
                c.width = 6;
                c.zp_in = kZps[n % 4];
                c.zp_out = kZps[(n / 2) % 4];
                c.clamp = clamp;
                c.codes = codes;
                c.weights = weights;
                expect_kernel_matches_reference(c, rng, scratch);
                ++n;
            }
        }
    }
}

TEST(ConvKernels, Packed3x3StridedMatchesReference) {
    // Stride 2 (and 3) on the im2col (C_in <= 3) and the pair and quad layouts, odd and even
    // sizes, every clamp; ResNet-20's stride-2 convs (16 -> 32 at 32x32, 32 -> 64 at 16x16).
    Rng rng(78);
    std::vector<int16_t> scratch(700, int16_t{0x1111});
    for (int trial = 0; trial < 120; ++trial) {
        OpCase c;
        c.stride = trial % 6 == 5 ? 3 : 2;
        c.cin = 1 + static_cast<int64_t>(rng.uniform_below(trial % 3 == 0 ? 3 : 40));
        c.cout = 1 + static_cast<int64_t>(rng.uniform_below(trial % 8 == 1 ? 140 : 40));
        c.height = 1 + static_cast<int64_t>(rng.uniform_below(trial % 10 == 0 ? 33 : 13));
        c.width = 1 + static_cast<int64_t>(rng.uniform_below(trial % 10 == 0 ? 33 : 19));
        c.zp_in = kZps[trial % 4];
        c.zp_out = kZps[(trial / 4) % 4];
        c.clamp = kClamps[(trial / 3) % 4];
        c.lut = trial % 4 == 2;
        expect_kernel_matches_reference(c, rng, scratch);
    }
    const int64_t shapes[][3] = {{16, 32, 32}, {32, 64, 16}, {3, 32, 28}};
    int n = 0;
    for (const auto& sh : shapes) {
        OpCase c;
        c.stride = 2;
        c.cin = sh[0];
        c.cout = sh[1];
        c.height = c.width = sh[2];
        c.zp_in = kZps[n % 4];
        c.zp_out = 100;
        c.clamp = kClamps[n % 4];
        expect_kernel_matches_reference(c, rng, scratch);
        ++n;
    }
}

TEST(ConvKernels, OneByOneMatchesReferenceOnRandomShapes) {
    // C_in around the pair and quad widths, C_out around the 8-, 16- and 64-lane blocks,
    // odd sizes around the register blocks and 16-position groups, strides 1 to 3.
    Rng rng(75);
    std::vector<int16_t> scratch(5000, int16_t{0x3C3C});
    for (int trial = 0; trial < 160; ++trial) {
        OpCase c;
        c.kernel = 1;
        c.padding = 0;
        c.stride = trial % 5 == 4 ? 3 : 1 + trial % 2;
        c.cin = 1 + static_cast<int64_t>(rng.uniform_below(trial % 8 == 0 ? 300 : 41));
        c.cout = 1 + static_cast<int64_t>(rng.uniform_below(trial % 8 == 1 ? 150 : 70));
        c.height = 1 + static_cast<int64_t>(rng.uniform_below(trial % 10 == 0 ? 29 : 11));
        c.width = 1 + static_cast<int64_t>(rng.uniform_below(trial % 10 == 0 ? 29 : 19));
        c.zp_in = kZps[trial % 4];
        c.zp_out = kZps[(trial / 4) % 4];
        c.clamp = kClamps[(trial / 2) % 4];
        c.lut = trial % 3 == 2;
        expect_kernel_matches_reference(c, rng, scratch);
    }
}

TEST(ConvKernels, OneByOneOnExtremeCodesAndWeights) {
    Rng rng(76);
    std::vector<int16_t> scratch;
    const Fill fills[] = {Fill::Max, Fill::Min, Fill::Saturated};
    int n = 0;
    for (const Fill codes : fills) {
        for (const Fill weights : fills) {
            for (const Clamp clamp : kClamps) {
                OpCase c;
                c.kernel = 1;
                c.padding = 0;
                c.stride = 1 + n % 2;
                c.cin = 29 + n % 7;
                c.cout = 17 + n % 13;
                c.height = 7;
                c.width = 9;
                c.zp_in = kZps[n % 4];
                c.zp_out = kZps[(n / 2) % 4];
                c.clamp = clamp;
                c.codes = codes;
                c.weights = weights;
                expect_kernel_matches_reference(c, rng, scratch);
                ++n;
            }
        }
    }
}

TEST(ConvKernels, OneByOneShapesOfResNetAndMobileNet) {
    // The projection shortcuts of ResNet-20 (16 -> 32, 32 -> 64, stride 2) and MobileNetV2's
    // expansions and projections at 28x28 and below.
    Rng rng(77);
    std::vector<int16_t> scratch;
    const int64_t shapes[][4] = {{16, 32, 32, 2}, {32, 64, 16, 2}, {16, 96, 28, 1},
                                 {96, 24, 14, 1}, {144, 32, 7, 1}, {384, 64, 4, 1}};
    int n = 0;
    for (const auto& s : shapes) {
        OpCase c;
        c.kernel = 1;
        c.padding = 0;
        c.cin = s[0];
        c.cout = s[1];
        c.height = c.width = s[2];
        c.stride = s[3];
        c.zp_in = kZps[n % 4];
        c.zp_out = 128;
        c.clamp = kClamps[n % 4];
        expect_kernel_matches_reference(c, rng, scratch);
        ++n;
    }
}

TEST(ConvKernels, DepthwiseMatchesReferenceOnRandomShapes) {
    // Strides 1 to 3, widths around the 16-position step, one channel and many, every clamp,
    // zero point edges; MobileNetV2's depthwise shapes at 28x28 and 14x14.
    Rng rng(79);
    std::vector<int16_t> scratch(900, int16_t{0x2222});
    for (int trial = 0; trial < 160; ++trial) {
        OpCase c;
        c.stride = trial % 7 == 6 ? 3 : 1 + trial % 2;
        c.cin = c.cout = c.groups =
            1 + static_cast<int64_t>(rng.uniform_below(trial % 4 == 0 ? 40 : 9));
        c.height = 1 + static_cast<int64_t>(rng.uniform_below(trial % 10 == 0 ? 40 : 13));
        c.width = 1 + static_cast<int64_t>(rng.uniform_below(trial % 10 == 1 ? 70 : 35));
        c.zp_in = kZps[trial % 4];
        c.zp_out = kZps[(trial / 4) % 4];
        c.clamp = kClamps[(trial / 2) % 4];
        c.lut = trial % 3 == 0;
        const Fill fills[] = {Fill::Random, Fill::Max, Fill::Min, Fill::Saturated};
        c.codes = trial % 9 == 8 ? fills[(trial / 9) % 4] : Fill::Random;
        c.weights = trial % 11 == 10 ? fills[(trial / 11) % 4] : Fill::Random;
        expect_kernel_matches_reference(c, rng, scratch);
    }
    const int64_t shapes[][3] = {{96, 28, 2}, {144, 14, 1}, {192, 14, 2}, {384, 7, 1}};
    int n = 0;
    for (const auto& sh : shapes) {
        OpCase c;
        c.cin = c.cout = c.groups = sh[0];
        c.height = c.width = sh[1];
        c.stride = sh[2];
        c.zp_in = kZps[n % 4];
        c.zp_out = 90;
        c.clamp = kClamps[n % 4];
        expect_kernel_matches_reference(c, rng, scratch);
        ++n;
    }
}

TEST(ConvKernels, FiveByFiveConvsHaveNoFastKernel) {
    Rng rng(73);
    OpCase c;
    c.cin = 4;
    c.cout = 4;
    c.height = 5;
    c.width = 5;
    c.kernel = 5;
    c.padding = 2;
    const models::Int8Graph g = one_conv(c, rng);
    EXPECT_EQ(make_conv_kernel(g, g.ops[0]), nullptr);
}

TEST(ConvKernels, PackedConvRefusesAClampOutOfOrder) {
    Rng rng(74);
    OpCase c;
    c.cin = 2;
    c.cout = 2;
    c.height = 3;
    c.width = 3;
    const models::Int8Graph g = one_conv(c, rng);
    const models::Int8ConvLayer layer = models::conv_layer_of(g, g.ops[0]);
    EXPECT_THROW(PackedConv3x3(layer, 10, 9), InputError);
    EXPECT_THROW(PackedConv3x3(layer, -1, 9), InputError);
    EXPECT_THROW(PackedConv3x3(layer, 0, 256), InputError);
}

} // namespace
} // namespace triseg::engine
