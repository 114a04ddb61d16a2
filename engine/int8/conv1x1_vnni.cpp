// PackedConv1x1::run_vnni: the 1x1 conv on 256-bit VNNI micro-kernels, uint8 channel quads
// times int8 weight quads with _mm256_dpbusd_epi32, and the AVX2 kernel's epilogue and store.
#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRISEG_VNNI1_X86 1
#else
#define TRISEG_VNNI1_X86 0
#endif

#include "common/error.h"
#include "engine/int8/conv1x1.h"
#include "engine/int8/conv3x3_layout.h"
#include "engine/int8/conv3x3_ymm.h"
#include "engine/int8/conv3x3_ymm_requant.h"

namespace triseg::engine {
namespace {

using detail::kYmmLanes;
using detail::kYmmTileRow;

/// What one register block needs: MR positions x 8 NV output channels.
struct QuadArgs {
    const int8_t* weights = nullptr;                    ///< [quad][8 NV lanes][4]
    std::array<const uint8_t*, detail::kYmmMaxMr> px{}; ///< each position's quad 0
    int64_t quad_stride = 0;                            ///< bytes between quad planes
    int64_t quads = 0;
    const int32_t* requant = nullptr; ///< NV x kYmmRequantInts, over the corrected bias
};

#if TRISEG_VNNI1_X86
#define TRISEG_VNNI1_TARGET __attribute__((target("avx2,avx512f,avx512vl,avx512vnni")))

using QuadFn = void (*)(const QuadArgs&, uint8_t*);

inline int32_t load_quad(const uint8_t* p) {
    int32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

/// tile[i * kYmmTileRow + l] = the code of position i, lane l: per quad, NV weight vectors
/// times MR broadcast pixel quads, _mm256_dpbusd_epi32 (u8 x s8, wrapping, exact modulo 2^32
/// with the corrected bias); then ymm_requantize. For NV = 1, bytes 8..15 of a tile row
/// repeat bytes 0..7.
template <int MR, int NV> TRISEG_VNNI1_TARGET void quad_kernel(const QuadArgs& a, uint8_t* tile) {
    __m256i acc[MR][NV];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) {
            acc[i][j] = _mm256_setzero_si256();
        }
    }
    const int8_t* w = a.weights;
    int64_t qoff = 0;
    for (int64_t q = 0; q < a.quads; ++q, w += 4 * kYmmLanes * NV, qoff += a.quad_stride) {
        __m256i wv[NV];
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) {
            wv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w) + j);
        }
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
            const __m256i x = _mm256_set1_epi32(load_quad(a.px[i] + qoff));
#pragma GCC unroll 2
            for (int j = 0; j < NV; ++j) {
                acc[i][j] = _mm256_dpbusd_epi32(acc[i][j], x, wv[j]);
            }
        }
        // Keeps the accumulators in registers across trips (see conv3x3_zmm.cpp).
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
            for (int j = 0; j < NV; ++j) {
                __asm__("" : "+v"(acc[i][j]));
            }
        }
    }
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
        const int32_t* r = a.requant + detail::kYmmRequantInts * j;
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
            acc[i][j] = detail::ymm_requantize(acc[i][j], r);
        }
    }
    // Codes to bytes, two positions per 32-byte store, as the AVX2 kernel does.
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i += 2) {
        const __m256i p0 = _mm256_packs_epi32(acc[i][0], acc[i][NV - 1]);
        if (i + 1 < MR) {
            const __m256i p1 = _mm256_packs_epi32(acc[i + 1][0], acc[i + 1][NV - 1]);
            const __m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(p0, p1), order);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + i * kYmmTileRow), b);
        } else {
            const __m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(p0, p0), order);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(tile + i * kYmmTileRow),
                             _mm256_castsi256_si128(b));
        }
    }
}

template <int NV, int... I>
constexpr std::array<QuadFn, sizeof...(I)> quad_table(std::integer_sequence<int, I...>) {
    return {&quad_kernel<I + 1, NV>...};
}
constexpr auto kQuadNv1 = quad_table<1>(std::make_integer_sequence<int, detail::ymm_max_mr(1)>{});
constexpr auto kQuadNv2 = quad_table<2>(std::make_integer_sequence<int, detail::ymm_max_mr(2)>{});
#endif

} // namespace

void PackedConv1x1::run_vnni(const uint8_t* in,
                             int64_t height,
                             int64_t width,
                             uint8_t* out,
                             const uint8_t* lut,
                             std::vector<int16_t>& scratch) const {
#if TRISEG_VNNI1_X86
    const int64_t ho = (height - 1) / stride_ + 1;
    const int64_t wo = (width - 1) / stride_ + 1;
    const int64_t positions = ho * wo;
    const int64_t quads = (in_channels_ + 3) / 4;
    // Quad planes as in run_zmm (flat at stride 1).
    const bool flat = stride_ == 1;
    const int64_t ph = flat ? 1 : height;
    const int64_t pw = flat ? height * width : width;
    const int64_t row_stride = 4 * (pw + 2);
    const auto bytes = static_cast<size_t>(quads * row_stride * (ph + 2));
    if (scratch.size() * sizeof(int16_t) < bytes) {
        scratch.resize((bytes + 1) / 2);
    }
    auto* packed = reinterpret_cast<uint8_t*>(scratch.data());
    detail::pack_input_quads(in, in_channels_, ph, pw, in_zero_point_, packed);
    QuadArgs args;
    args.quads = quads;
    args.quad_stride = row_stride * (ph + 2);
    // Groups of 16 or 12 positions as in run_avx2 (the last one moved back), stored
    // transposed.
    alignas(32) uint8_t tile[detail::kYmmGroup * kYmmTileRow] = {};
    for (size_t k = 0; k < blocks_y_.size(); ++k) {
        const Block& b = blocks_y_[k];
        args.weights = weights_q_.data() + offsets_q_[k];
        args.requant = requant_q_.data() + b.oc0 / kYmmLanes * detail::kYmmRequantInts;
        const int max_mr = detail::ymm_max_mr(b.nv);
        const int64_t lanes = std::min<int64_t>(kYmmLanes * b.nv, out_channels_ - b.oc0);
        const auto calls = [&](int64_t size) {
            const int64_t per_group = (std::min(size, positions) + max_mr - 1) / max_mr;
            return (positions + size - 1) / size * per_group;
        };
        const int64_t whole = detail::kYmmGroup / max_mr * max_mr;
        const int64_t size = calls(whole) < calls(detail::kYmmGroup) ? whole : detail::kYmmGroup;
        for (int64_t g = 0; g < positions; g += size) {
            const int64_t g0 = positions >= size ? std::min(g, positions - size) : g;
            const int group = static_cast<int>(std::min<int64_t>(size, positions - g0));
            int64_t y = g0 / wo;
            int64_t x = g0 % wo;
            for (int s0 = 0; s0 < group; s0 += max_mr) {
                const int mr = std::min(max_mr, group - s0);
                for (int i = 0; i < mr; ++i) { // input pixel (s y, s x), inside the border
                    args.px[i] =
                        flat ? packed + row_stride + 4 * (y * wo + x + 1)
                             : packed + (stride_ * y + 1) * row_stride + 4 * (stride_ * x + 1);
                    if (++x == wo) {
                        x = 0;
                        ++y;
                    }
                }
                (b.nv == 1 ? kQuadNv1[mr - 1] : kQuadNv2[mr - 1])(args, tile + s0 * kYmmTileRow);
            }
            detail::ymm_store_transposed(tile, group, lanes, out + b.oc0 * positions + g0,
                                         positions, lut);
        }
    }
#else
    (void)in, (void)height, (void)width, (void)out, (void)lut, (void)scratch;
    TRISEG_THROW(InputError, "the VNNI kernel needs an x86-64 build");
#endif
}

} // namespace triseg::engine
