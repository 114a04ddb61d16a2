// The add and average-pool kernels on every ISA this CPU runs (add_u8 and avgpool_u8 with a
// KernelIsa) against the scalar reference (reference::graph_op_u8) and the portable loops, bit
// for bit: lengths around the vector steps, random and extreme zero points, multipliers over
// the whole range validate_graph allows ([0, 2^31) for the add, [2^30, 2^31) for the pools),
// every shift in [1, 62], any clamp, codes at the edges.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/int8/graph_kernels.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_reference.h"
#include "models/spec/int8_graph.h"

namespace triseg::engine {
namespace {

using models::Int8Graph;
using models::Int8Op;
using models::Int8OpKind;

constexpr int32_t kMaxMultiplier = 2147483647;     ///< 2^31 - 1, validate_graph's bound
constexpr int32_t kMinPoolMultiplier = 1073741824; ///< 2^30

/// The ISAs this CPU runs; prints the ones it lacks once, so that a skipped ISA is visible.
std::vector<KernelIsa> supported_isas() {
    static bool told = false;
    std::vector<KernelIsa> isas;
    for (KernelIsa isa :
         {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512Vnni, KernelIsa::Avx512Zmm}) {
        if (kernel_isa_supported(isa)) {
            isas.push_back(isa);
        } else if (!told) {
            std::printf("[ info ] %s not compared: this CPU (or TRISEG_KERNEL_ISA) excludes it\n",
                        kernel_isa_name(isa));
        }
    }
    told = true;
    return isas;
}

/// Codes of one of four kinds: random, all 0, all 255, or 0/255 at random.
std::vector<uint8_t> codes(int64_t n, int kind, Rng& rng) {
    std::vector<uint8_t> x(static_cast<size_t>(n));
    for (auto& v : x) {
        switch (kind % 4) {
        case 1:
            v = 0;
            break;
        case 2:
            v = 255;
            break;
        case 3:
            v = rng.coin() ? 255 : 0;
            break;
        default:
            v = static_cast<uint8_t>(rng.uniform_below(256));
        }
    }
    return x;
}

int32_t random_zero_point(Rng& rng) {
    const int32_t edges[] = {0, 255, 128};
    return rng.uniform_below(2) == 0 ? edges[rng.uniform_below(3)]
                                     : static_cast<int32_t>(rng.uniform_below(256));
}

/// A multiplier in [lo, 2^31): the ends half of the time.
int32_t random_multiplier(Rng& rng, int32_t lo) {
    switch (rng.uniform_below(4)) {
    case 0:
        return lo;
    case 1:
        return kMaxMultiplier;
    default:
        return lo + static_cast<int32_t>(rng.uniform_below(static_cast<uint64_t>(kMaxMultiplier) -
                                                           static_cast<uint64_t>(lo) + 1));
    }
}

/// A clamp: ReLU-like [zp, 255], ReLU6-like [zp, hi], none, or any [lo, hi].
void random_clamp(Int8Op& op, int32_t zp_out, Rng& rng) {
    switch (rng.uniform_below(4)) {
    case 0:
        op.clamp_min = zp_out;
        op.clamp_max = 255;
        break;
    case 1:
        op.clamp_min = zp_out;
        op.clamp_max = zp_out + static_cast<int32_t>(rng.uniform_below(256 - zp_out));
        break;
    case 2:
        op.clamp_min = 0;
        op.clamp_max = 255;
        break;
    default:
        op.clamp_min = static_cast<int32_t>(rng.uniform_below(256));
        op.clamp_max = op.clamp_min + static_cast<int32_t>(rng.uniform_below(256 - op.clamp_min));
    }
}

struct AddCase {
    Int8Graph g; ///< tensors a, b, out; ops: the add
    std::vector<uint8_t> a, b;
};

AddCase add_case(int64_t c, int64_t h, int64_t w, int32_t shift, int kind, Rng& rng) {
    AddCase t;
    const int32_t zo = random_zero_point(rng);
    t.g.tensors.push_back({"a", c, h, w, {0.1f, random_zero_point(rng)}, false});
    t.g.tensors.push_back({"b", c, h, w, {0.1f, random_zero_point(rng)}, false});
    t.g.tensors.push_back({"out", c, h, w, {0.1f, zo}, false});
    Int8Op op;
    op.kind = Int8OpKind::Add;
    op.name = "add";
    op.inputs = {0, 1};
    op.output = 2;
    op.multiplier = {random_multiplier(rng, 0), random_multiplier(rng, 0)};
    if (rng.uniform_below(8) == 0) {
        op.multiplier[rng.uniform_below(2)] = 0;
    }
    if (rng.uniform_below(3) == 0) { // multiples of 2^(s-3) below 2^31: many exact ties
        const int32_t low = std::max(0, shift - 3);
        for (auto& m : op.multiplier) {
            m = low >= 31
                    ? 0
                    : static_cast<int32_t>(rng.uniform_below(uint64_t{1} << (31 - low)) << low);
        }
    }
    op.shift = {shift};
    random_clamp(op, zo, rng);
    t.g.ops.push_back(op);
    t.a = codes(c * h * w, kind, rng);
    t.b = codes(c * h * w, kind / 4, rng);
    return t;
}

/// The add of `t` on every supported ISA equals the reference and the portable loops.
void expect_add_matches(const AddCase& t) {
    const Int8Op& op = t.g.ops[0];
    const auto& ts = t.g.tensors;
    const auto n = static_cast<size_t>(ts[2].size());
    std::vector<uint8_t> want(n);
    reference::graph_op_u8(t.g, op, {t.a.data(), t.b.data()}, want.data());
    std::vector<uint8_t> got(n);
    add_u8(op, ts[0], ts[1], ts[2], t.a.data(), t.b.data(), got.data());
    ASSERT_EQ(got, want) << "portable loops";
    for (KernelIsa isa : supported_isas()) {
        std::fill(got.begin(), got.end(), uint8_t{0xCD});
        // The output is one byte longer than the tensor: nothing may be written past its end.
        got.push_back(0xEE);
        add_u8(isa, op, ts[0], ts[1], ts[2], t.a.data(), t.b.data(), got.data());
        ASSERT_EQ(got.back(), 0xEE) << kernel_isa_name(isa) << " wrote past the end";
        got.pop_back();
        ASSERT_EQ(got, want) << kernel_isa_name(isa);
    }
}

std::string describe(const AddCase& t) {
    const Int8Op& op = t.g.ops[0];
    return "n " + std::to_string(t.g.tensors[2].size()) + ", zp " +
           std::to_string(t.g.tensors[0].quant.zero_point) + "/" +
           std::to_string(t.g.tensors[1].quant.zero_point) + "/" +
           std::to_string(t.g.tensors[2].quant.zero_point) + ", m " +
           std::to_string(op.multiplier[0]) + "/" + std::to_string(op.multiplier[1]) + ", shift " +
           std::to_string(op.shift[0]) + ", clamp [" + std::to_string(op.clamp_min) + ", " +
           std::to_string(op.clamp_max) + "]";
}

TEST(GraphKernels, AddEqualsTheReferenceOnEveryIsaAndShift) {
    // Every shift (both sides of the AVX2 kernel's int32 path), lengths around the 16- and
    // 32-code steps, random and extreme codes.
    Rng rng(5);
    for (int32_t shift = 1; shift <= 62; ++shift) {
        for (int rep = 0; rep < 6; ++rep) {
            const int64_t c = 1 + static_cast<int64_t>(rng.uniform_below(5));
            const int64_t h = 1 + static_cast<int64_t>(rng.uniform_below(7));
            const int64_t w = 1 + static_cast<int64_t>(rng.uniform_below(13));
            const AddCase t =
                add_case(c, h, w, shift, static_cast<int>(rng.uniform_below(16)), rng);
            SCOPED_TRACE(describe(t));
            expect_add_matches(t);
        }
    }
}

TEST(GraphKernels, AddEqualsTheReferenceOnEveryLengthNearTheSteps) {
    Rng rng(6);
    for (int64_t n = 1; n <= 100; ++n) {
        // Shifts near 31 are what exporters make; 1 and 62 are the ends.
        const int32_t shifts[] = {31, 1, 62, 10, 11, 24, 40};
        const AddCase t = add_case(1, 1, n, shifts[n % 7], static_cast<int>(n % 16), rng);
        SCOPED_TRACE(describe(t));
        expect_add_matches(t);
    }
    const int64_t big[] = {1024, 1056, 4096 + 17, 16384};
    for (const int64_t n : big) {
        const AddCase t = add_case(1, 1, n, 30 + static_cast<int32_t>(n % 3), 0, rng);
        SCOPED_TRACE(describe(t));
        expect_add_matches(t);
    }
}

TEST(GraphKernels, AddReachesBothEndsOfInt64SumsAndTheClamp) {
    // Largest multipliers on codes 0 and 255 with zero points at either end: da and db of
    // +-255 with the same sign give |v| near 2 * 255 * 2^31 = 2^40, shifted by 1 (far outside
    // int32, clamped) up to 62 (rounds to 0 or -1); shifts 8 to 10 sit just below the
    // kernels' int32 path (shift 11 on), where v >> 8 reaches 2^32.
    Rng rng(7);
    for (int32_t shift : {1, 2, 8, 9, 10, 11, 12, 20, 31, 32, 39, 40, 41, 42, 61, 62}) {
        for (int32_t za : {0, 255}) {
            for (int32_t zb : {0, 255}) {
                for (int32_t zo : {0, 77, 255}) {
                    AddCase t = add_case(2, 3, 37, shift, 3, rng);
                    Int8Op& op = t.g.ops[0];
                    t.g.tensors[0].quant.zero_point = za;
                    t.g.tensors[1].quant.zero_point = zb;
                    t.g.tensors[2].quant.zero_point = zo;
                    op.multiplier = {kMaxMultiplier, rng.coin() ? kMaxMultiplier : 1};
                    op.clamp_min = 0;
                    op.clamp_max = 255;
                    SCOPED_TRACE(describe(t));
                    expect_add_matches(t);
                    op.clamp_min = zo;
                    op.clamp_max = std::min(255, zo + 6);
                    expect_add_matches(t);
                }
            }
        }
    }
}

TEST(GraphKernels, AddWorkedExampleOnEveryIsa) {
    // docs/int8-model.md's worked example, with the four codes repeated past a vector step.
    Rng rng(8);
    AddCase t = add_case(1, 1, 40, 31, 0, rng);
    Int8Op& op = t.g.ops[0];
    t.g.tensors[0].quant.zero_point = 128;
    t.g.tensors[1].quant.zero_point = 128;
    t.g.tensors[2].quant.zero_point = 10;
    op.multiplier = {1610612736, 805306368};
    op.clamp_min = 0;
    op.clamp_max = 255;
    const uint8_t x[4] = {130, 124, 255, 0};
    const int want[4] = {12, 6, 153, 0};
    for (size_t i = 0; i < 40; ++i) {
        t.a[i] = t.b[i] = x[i % 4];
    }
    for (KernelIsa isa : supported_isas()) {
        std::vector<uint8_t> out(40);
        add_u8(isa, op, t.g.tensors[0], t.g.tensors[1], t.g.tensors[2], t.a.data(), t.b.data(),
               out.data());
        for (size_t i = 0; i < 40; ++i) {
            ASSERT_EQ(int{out[i]}, want[i % 4]) << kernel_isa_name(isa) << ", code " << i;
        }
    }
}

/// A pool of `kind` (GlobalAvgPool, or a k x k AvgPool with stride) on c x h x w codes.
void expect_pool_matches(Int8OpKind kind,
                         int64_t c,
                         int64_t h,
                         int64_t w,
                         int64_t k,
                         int64_t stride,
                         int fill,
                         Rng& rng) {
    Int8Graph g;
    const bool global = kind == Int8OpKind::GlobalAvgPool;
    const int64_t ho = global ? 1 : (h - k) / stride + 1;
    const int64_t wo = global ? 1 : (w - k) / stride + 1;
    const int32_t zo = random_zero_point(rng);
    g.tensors.push_back({"in", c, h, w, {0.1f, random_zero_point(rng)}, false});
    g.tensors.push_back({"out", c, ho, wo, {0.1f, zo}, false});
    Int8Op op;
    op.kind = kind;
    op.name = global ? "gap" : "pool";
    op.inputs = {0};
    op.output = 1;
    op.kernel = global ? 0 : k;
    op.stride = global ? 1 : stride;
    op.multiplier = {random_multiplier(rng, kMinPoolMultiplier)};
    op.shift = {1 + static_cast<int32_t>(rng.uniform_below(62))};
    random_clamp(op, zo, rng);
    g.ops.push_back(op);
    const std::vector<uint8_t> x = codes(c * h * w, fill, rng);
    SCOPED_TRACE(std::string(global ? "gap" : "avgpool k" + std::to_string(k)) + " on " +
                 std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w) + ", zp " +
                 std::to_string(g.tensors[0].quant.zero_point) + "/" + std::to_string(zo) + ", m " +
                 std::to_string(op.multiplier[0]) + ", shift " + std::to_string(op.shift[0]) +
                 ", clamp [" + std::to_string(op.clamp_min) + ", " + std::to_string(op.clamp_max) +
                 "]");
    const auto n = static_cast<size_t>(g.tensors[1].size());
    std::vector<uint8_t> want(n);
    reference::graph_op_u8(g, op, {x.data()}, want.data());
    std::vector<uint8_t> got(n);
    avgpool_u8(op, g.tensors[0], g.tensors[1], x.data(), got.data());
    ASSERT_EQ(got, want) << "portable loops";
    for (KernelIsa isa : supported_isas()) {
        std::fill(got.begin(), got.end(), uint8_t{0xCD});
        avgpool_u8(isa, op, g.tensors[0], g.tensors[1], x.data(), got.data());
        ASSERT_EQ(got, want) << kernel_isa_name(isa);
    }
}

TEST(GraphKernels, GlobalAvgPoolEqualsTheReferenceOnEveryIsa) {
    // Planes of 1 to 80 codes (around the 8-, 16- and 32-code sums), the ResNet and
    // MobileNetV2 ones (8x8, 4x4, 2x2) and larger planes.
    Rng rng(9);
    for (int64_t plane = 1; plane <= 80; ++plane) {
        expect_pool_matches(Int8OpKind::GlobalAvgPool, 1 + plane % 7, 1, plane, 0, 1,
                            static_cast<int>(plane % 4), rng);
    }
    const int64_t sides[][3] = {{64, 8, 8}, {1280, 4, 4}, {1280, 2, 2}, {3, 32, 32}, {2, 57, 61}};
    int fill = 0;
    for (const auto& s : sides) {
        for (int rep = 0; rep < 4; ++rep) {
            expect_pool_matches(Int8OpKind::GlobalAvgPool, s[0], s[1], s[2], 0, 1, fill++, rng);
        }
    }
}

TEST(GraphKernels, AvgPoolEqualsTheReferenceOnEveryIsa) {
    Rng rng(10);
    for (int trial = 0; trial < 40; ++trial) {
        const int64_t k = 1 + static_cast<int64_t>(rng.uniform_below(4));
        const int64_t stride =
            1 + static_cast<int64_t>(rng.uniform_below(static_cast<uint64_t>(k)));
        const int64_t h = k + static_cast<int64_t>(rng.uniform_below(9));
        const int64_t w = k + static_cast<int64_t>(rng.uniform_below(9));
        expect_pool_matches(Int8OpKind::AvgPool, 1 + trial % 5, h, w, k, stride, trial % 4, rng);
    }
}

} // namespace
} // namespace triseg::engine
