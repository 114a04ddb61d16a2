// The 256-bit VNNI conv kernel of PackedConv3x3: uint8 x int8 channel quads summed with
// _mm256_dpbusd_epi32.
#include "engine/int8/int8_kernels.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRISEG_HAVE_X86 1
#else
#define TRISEG_HAVE_X86 0
#endif

#include "common/error.h"
#include "engine/int8/conv3x3_layout.h"
#include "engine/int8/conv3x3_ymm_requant.h"

namespace triseg::engine {
namespace {

using detail::kLanes;
using detail::kMaxLanes;
using detail::kMaxMrNv1;
using detail::kMaxMrNv2;
using detail::kTaps;

#if TRISEG_HAVE_X86
/// The VNNI micro-kernels' epilogue: codes[i * kMaxLanes + 8 j + l] = the code of
/// acc[i][j] lane l (ymm_requantize with the constants of vector j).
template <int MR, int NV>
__attribute__((target("avx2"))) inline void
store_requantized(const __m256i (&acc)[MR][NV], const int32_t* requant, int32_t* codes) {
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
        const int32_t* r = requant + detail::kYmmRequantInts * j;
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + i * kMaxLanes) + j,
                                detail::ymm_requantize(acc[i][j], r));
        }
    }
}

/// What one VNNI register block needs (codes as uint8 quads, weights as int8 quads).
struct QuadArgs {
    const int8_t* weights = nullptr; ///< [quad][ky][kx][8 NV][4]
    std::array<const uint8_t*, kMaxMrNv1> px{};
    int64_t quad_stride = 0; ///< bytes between channel quads of the padded input
    int64_t row_stride = 0;  ///< bytes between rows
    int64_t quads = 0;
    /// NV x kYmmRequantInts epilogue constants over bias - zp_in * sum w (make_ymm_requant)
    const int32_t* requant = nullptr;
};
using QuadFn = void (*)(const QuadArgs&, int32_t*);

int32_t load_quad(const uint8_t* p) {
    int32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

/// VNNI micro-kernel: per (quad, tap), NV weight vectors times MR broadcast pixel quads;
/// _mm256_dpbusd_epi32 adds x0 w0 + x1 w1 + x2 w2 + x3 w3 (u8 x s8) to each int32 lane
/// without saturation (wrapping), so acc + bias is exact modulo 2^32 and, as the true value
/// fits int32, exact.
template <int MR, int NV>
__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"))) void block_vnni(const QuadArgs& a,
                                                                            int32_t* codes) {
    __m256i acc[MR][NV];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) {
            acc[i][j] = _mm256_setzero_si256();
        }
    }
    const int8_t* w = a.weights;
    for (int64_t c = 0; c < a.quads; ++c) {
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ++ky) {
            const int64_t row = c * a.quad_stride + ky * a.row_stride;
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; ++kx, w += 4 * kLanes * NV) {
                __m256i wv[NV];
#pragma GCC unroll 2
                for (int j = 0; j < NV; ++j) {
                    wv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w) + j);
                }
#pragma GCC unroll 12
                for (int i = 0; i < MR; ++i) {
                    const __m256i x = _mm256_set1_epi32(load_quad(a.px[i] + row + 4 * kx));
#pragma GCC unroll 2
                    for (int j = 0; j < NV; ++j) {
                        acc[i][j] = _mm256_dpbusd_epi32(acc[i][j], x, wv[j]);
                    }
                }
            }
        }
    }
    store_requantized<MR, NV>(acc, a.requant, codes);
}

template <int NV, int... I>
constexpr std::array<QuadFn, sizeof...(I)> vnni_table(std::integer_sequence<int, I...>) {
    return {&block_vnni<I + 1, NV>...};
}
constexpr auto kVnniNv1 = vnni_table<1>(std::make_integer_sequence<int, kMaxMrNv1>{});
constexpr auto kVnniNv2 = vnni_table<2>(std::make_integer_sequence<int, kMaxMrNv2>{});
#endif

} // namespace

void PackedConv3x3::run_vnni(const uint8_t* in,
                             int64_t height,
                             int64_t width,
                             uint8_t* out,
                             const uint8_t* lut,
                             std::vector<int16_t>& scratch) const {
#if TRISEG_HAVE_X86
    const int64_t row_stride = 4 * (width + 2);
    const int64_t quad_stride = row_stride * (height + 2);
    const auto bytes = static_cast<std::size_t>(channel_quads_ * quad_stride);
    if (scratch.size() * sizeof(int16_t) < bytes) {
        scratch.resize((bytes + 1) / 2);
    }
    auto* packed = reinterpret_cast<uint8_t*>(scratch.data());
    detail::pack_input_quads(in, in_channels_, height, width, in_zero_point_, packed);

    const int64_t wo = (width - 1) / stride_ + 1; // output size (3x3, padding 1)
    const int64_t positions = ((height - 1) / stride_ + 1) * wo;
    QuadArgs args;
    args.quad_stride = quad_stride;
    args.row_stride = row_stride;
    args.quads = channel_quads_;
    alignas(32) int32_t codes[kMaxMrNv1 * kMaxLanes];
    int64_t offset_q = 0;
    for (const OcBlock& b : blocks_) {
        args.weights = weights_q_.data() + offset_q;
        offset_q += channel_quads_ * kTaps * 4 * kLanes * b.nv;
        args.requant = requant_q_.data() + b.oc0 / kLanes * detail::kYmmRequantInts;
        const int max_mr = b.nv == 1 ? kMaxMrNv1 : kMaxMrNv2;
        const int64_t lanes = std::min<int64_t>(kLanes * b.nv, out_channels_ - b.oc0);
        int64_t y = 0;
        int64_t x = 0;
        for (int64_t p0 = 0; p0 < positions; p0 += max_mr) {
            const int mr = static_cast<int>(std::min<int64_t>(max_mr, positions - p0));
            for (int i = 0; i < mr; ++i) {
                // The window's top-left at input (s y - 1, s x - 1): padded (s y, s x).
                args.px[i] = packed + stride_ * (y * row_stride + 4 * x);
                if (++x == wo) {
                    x = 0;
                    ++y;
                }
            }
            (b.nv == 1 ? kVnniNv1[mr - 1] : kVnniNv2[mr - 1])(args, codes);
            detail::store_block(codes, mr, lanes, out + b.oc0 * positions + p0, positions, lut);
        }
    }
#else
    (void)in, (void)height, (void)width, (void)out, (void)lut, (void)scratch;
    TRISEG_THROW(InputError, "the VNNI kernel needs an x86-64 build");
#endif
}

} // namespace triseg::engine
