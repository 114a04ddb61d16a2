// PackedDepthwise3x3::run_avx2: 16 output positions of one channel per step, pairs of taps
// multiplied with _mm256_madd_epi16 (see depthwise3x3.h).
#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRISEG_DW_X86 1
#else
#define TRISEG_DW_X86 0
#endif

#include "common/error.h"
#include "engine/int8/conv3x3_ymm.h"
#include "engine/int8/conv3x3_ymm_requant.h"
#include "engine/int8/depthwise3x3.h"

namespace triseg::engine {
namespace {

constexpr int64_t kStep = 16; ///< output positions per step
constexpr int kTaps = 9;

#if TRISEG_DW_X86
#define TRISEG_DW_TARGET __attribute__((target("avx2")))

/// What one channel's rows need: `stride` phase planes of `rows` rows of `pw` int16 each.
struct Planes {
    int16_t* data = nullptr;
    int64_t stride = 1;
    int64_t rows = 0;
    int64_t pw = 0;
};

/// Fills the phase planes of one channel: plane r, row i, column j holds the padded input
/// (zero border) at row i, column r + s j, as code - zp.
TRISEG_DW_TARGET void
fill_planes(const uint8_t* in, int64_t height, int64_t width, int32_t zero_point, const Planes& p) {
    std::fill(p.data, p.data + p.stride * p.rows * p.pw, int16_t{0});
    const auto zp = static_cast<int16_t>(zero_point);
    for (int64_t y = 0; y < height; ++y) {
        const uint8_t* src = in + y * width;
        if (p.stride == 1) {
            int16_t* d = p.data + (y + 1) * p.pw + 1;
            for (int64_t x = 0; x < width; ++x) { // vectorized under the avx2 target
                d[x] = static_cast<int16_t>(src[x] - zp);
            }
            continue;
        }
        if (p.stride == 2) { // even input columns to plane 1, odd ones to plane 0
            int16_t* d0 = p.data + (y + 1) * p.pw;          // padded 2 j: input 2 j - 1
            int16_t* d1 = p.data + (p.rows + y + 1) * p.pw; // padded 2 j + 1: input 2 j
            const __m256i z = _mm256_set1_epi16(zp);
            const __m256i low = _mm256_set1_epi16(0x00FF);
            int64_t x = 0;
            for (; x + 32 <= width; x += 32) { // int16 lane j holds bytes 2 j, 2 j + 1
                const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + x));
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(d1 + x / 2),
                                    _mm256_sub_epi16(_mm256_and_si256(v, low), z));
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(d0 + x / 2 + 1),
                                    _mm256_sub_epi16(_mm256_srli_epi16(v, 8), z));
            }
            for (; x + 16 <= width; x += 16) { // the same on 16 bytes
                const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + x));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(d1 + x / 2),
                                 _mm_sub_epi16(_mm_and_si128(v, _mm256_castsi256_si128(low)),
                                               _mm256_castsi256_si128(z)));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(d0 + x / 2 + 1),
                                 _mm_sub_epi16(_mm_srli_epi16(v, 8), _mm256_castsi256_si128(z)));
            }
            for (; x < width; ++x) {
                (x % 2 == 0 ? d1 : d0 + 1)[x / 2] = static_cast<int16_t>(src[x] - zp);
            }
            continue;
        }
        for (int64_t r = 0; r < p.stride; ++r) { // plane r: padded columns r + s j
            int16_t* d = p.data + (r * p.rows + y + 1) * p.pw;
            // Padded column r + s j is input column r + s j - 1, inside for j in [j0, j1).
            const int64_t j0 = r == 0 ? 1 : 0;
            for (int64_t j = j0, x = r + p.stride * j0 - 1; x < width; ++j, x += p.stride) {
                d[j] = static_cast<int16_t>(src[x] - zp);
            }
        }
    }
}

/// One tap of 16 positions: 16 values at base0 + offset, or 8 there and 8 at base1 + offset.
template <bool TWO_ROWS>
TRISEG_DW_TARGET inline __m256i
load_tap(const int16_t* base0, const int16_t* base1, int64_t offset) {
    if constexpr (TWO_ROWS) {
        return _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(base1 + offset),
                                   reinterpret_cast<const __m128i*>(base0 + offset));
    } else {
        (void)base1;
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base0 + offset));
    }
}

/// 16 codes of one channel: lanes 0-7 at tap offsets from `base0`, lanes 8-15 from
/// `base1` (TWO_ROWS; else all 16 from base0, base1 unused), as bytes in lane order.
template <bool TWO_ROWS>
TRISEG_DW_TARGET inline __m128i step16(const int16_t* base0,
                                       const int16_t* base1,
                                       const int64_t (&off)[kTaps],
                                       const __m256i (&w)[5],
                                       const int32_t* requant) {
    __m256i acc_lo = _mm256_setzero_si256();
    __m256i acc_hi = _mm256_setzero_si256();
#pragma GCC unroll 5
    for (int k = 0; k < 5; ++k) {
        const __m256i a = load_tap<TWO_ROWS>(base0, base1, off[2 * k]);
        const __m256i b =
            k < 4 ? load_tap<TWO_ROWS>(base0, base1, off[2 * k + 1]) : _mm256_setzero_si256();
        // Positions 0-3 | 8-11 and 4-7 | 12-15, each (tap 2k, tap 2k + 1).
        acc_lo = _mm256_add_epi32(acc_lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), w[k]));
        acc_hi = _mm256_add_epi32(acc_hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), w[k]));
    }
    const __m256i lo = detail::ymm_requantize(acc_lo, requant);
    const __m256i hi = detail::ymm_requantize(acc_hi, requant);
    // packs: positions 0-7 | 8-15 as int16; packus: bytes 0-7, 0-7 | 8-15, 8-15.
    const __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(lo, hi), _mm256_setzero_si256());
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(bytes, 0x08)); // qwords 0, 2
}

/// Stores codes[from, from + n) at o, through `lut` when not null.
inline void
store_codes(const uint8_t* codes, int64_t from, int64_t n, uint8_t* o, const uint8_t* lut) {
    for (int64_t i = 0; i < n; ++i) {
        o[i] = lut != nullptr ? lut[codes[from + i]] : codes[from + i];
    }
}

/// One channel: all its output rows, 16 positions per step; maps at most 8 wide take two
/// rows per step (8 lanes each), so that small maps do not leave most lanes idle.
TRISEG_DW_TARGET void channel_avx2(const Planes& p,
                                   const int16_t* pairs,
                                   const int32_t* requant,
                                   int64_t ho,
                                   int64_t wo,
                                   uint8_t* out,
                                   const uint8_t* lut) {
    const int64_t s = p.stride;
    int32_t wpair[5];
    std::memcpy(wpair, pairs, sizeof wpair);
    __m256i w[5];
    for (int k = 0; k < 5; ++k) {
        w[k] = _mm256_set1_epi32(wpair[k]);
    }
    // Offsets of the taps from (row s y, column x) of plane 0.
    int64_t off[kTaps];
    for (int t = 0; t < kTaps; ++t) {
        const int64_t ky = t / 3;
        const int64_t kx = t % 3;
        off[t] = ((kx % s) * p.rows + ky) * p.pw + kx / s;
    }
    alignas(16) uint8_t tmp[kStep];
    if (wo <= kStep / 2) {
        for (int64_t y = 0; y < ho; y += 2) {
            const int64_t y1 = std::min(y + 1, ho - 1); // the last odd row repeats itself
            const __m128i codes =
                step16<true>(p.data + s * y * p.pw, p.data + s * y1 * p.pw, off, w, requant);
            _mm_store_si128(reinterpret_cast<__m128i*>(tmp), codes);
            store_codes(tmp, 0, wo, out + y * wo, lut);
            if (y + 1 < ho) {
                store_codes(tmp, kStep / 2, wo, out + (y + 1) * wo, lut);
            }
        }
        return;
    }
    for (int64_t y = 0; y < ho; ++y) {
        const int16_t* row = p.data + s * y * p.pw;
        for (int64_t x0 = 0; x0 < wo; x0 += kStep) {
            const __m128i codes = step16<false>(row + x0, nullptr, off, w, requant);
            uint8_t* o = out + y * wo + x0;
            const int64_t n = std::min(kStep, wo - x0);
            if (lut == nullptr && n == kStep) {
                _mm_storeu_si128(reinterpret_cast<__m128i*>(o), codes);
                continue;
            }
            _mm_store_si128(reinterpret_cast<__m128i*>(tmp), codes);
            store_codes(tmp, 0, n, o, lut);
        }
    }
}
#endif

} // namespace

void PackedDepthwise3x3::run_avx2(const uint8_t* in,
                                  int64_t height,
                                  int64_t width,
                                  uint8_t* out,
                                  const uint8_t* lut,
                                  std::vector<int16_t>& scratch) const {
#if TRISEG_DW_X86
    const int64_t ho = (height - 1) / stride_ + 1;
    const int64_t wo = (width - 1) / stride_ + 1;
    // Each plane holds the padded columns it needs plus the 16 + 2 a step may read past the
    // last output position (those lanes are computed and dropped).
    Planes p;
    p.stride = stride_;
    p.rows = height + 2;
    p.pw = std::max((width + 2 + stride_ - 1) / stride_, wo + 2) + kStep;
    const auto need = static_cast<size_t>(p.stride * p.rows * p.pw);
    if (scratch.size() < need) {
        scratch.resize(need);
    }
    p.data = scratch.data();
    for (int64_t c = 0; c < channels_; ++c) {
        fill_planes(in + c * height * width, height, width, in_zero_point_, p);
        channel_avx2(p, pairs_y_.data() + c * 10, requant_y_.data() + c * detail::kYmmRequantInts,
                     ho, wo, out + c * ho * wo, lut);
    }
#else
    (void)in, (void)height, (void)width, (void)out, (void)lut, (void)scratch;
    TRISEG_THROW(InputError, "the AVX2 kernel needs an x86-64 build");
#endif
}

} // namespace triseg::engine
