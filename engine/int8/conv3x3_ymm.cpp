// The AVX2 conv kernel of PackedConv3x3: its micro-kernels (see conv3x3_ymm.h) and
// PackedConv3x3::run_avx2.
#include "engine/int8/conv3x3_ymm.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRISEG_YMM_X86 1
#else
#define TRISEG_YMM_X86 0
#endif

#include "common/error.h"
#include "engine/core/requant.h"
#include "engine/int8/conv3x3_layout.h"
#include "engine/int8/conv3x3_ymm_requant.h"
#include "engine/int8/int8_kernels.h"

namespace triseg::engine::detail {

namespace {

/// The smallest v in [lo, hi] with pred(v) (pred monotone: false then true), or hi + 1.
template <typename Pred> int64_t first_true(int64_t lo, int64_t hi, Pred pred) {
    int64_t end = hi + 1;
    while (lo < end) {
        const int64_t mid = lo + (end - lo) / 2;
        if (pred(mid)) {
            end = mid;
        } else {
            lo = mid + 1;
        }
    }
    return end;
}

} // namespace

bool ymm_needs_lower_clamp(const int32_t* requant, int64_t vectors) {
    for (int64_t v = 0; v < vectors; ++v) {
        for (int l = 0; l < kYmmLanes; ++l) {
            if (requant[v * kYmmRequantInts + kYmmRqLo + l] != 0) {
                return true;
            }
        }
    }
    return false;
}

void make_ymm_requant(const int32_t* bias,
                      const int32_t* multiplier,
                      const int32_t* shift,
                      int32_t zero_point,
                      int32_t clamp_min,
                      int32_t clamp_max,
                      int32_t* out) {
    std::fill(out, out + kYmmRequantInts, 0);
    const auto put64 = [out](int offset, int64_t v) { std::memcpy(out + offset, &v, sizeof v); };
    for (int l = 0; l < kYmmLanes; ++l) {
        const FixedPointMultiplier m{multiplier[l], shift[l]};
        const auto r = [m](int64_t v) { return apply_multiplier(static_cast<int32_t>(v), m); };
        out[kYmmRqBias + l] = bias[l];
        out[kYmmRqMul + l] = multiplier[l];
        // r is monotone in v: bisect for the first v at the top and the last at the bottom.
        const int64_t vcap =
            std::min<int64_t>(first_true(INT32_MIN, INT32_MAX,
                                         [&](int64_t v) { return r(v) >= clamp_max - zero_point; }),
                              INT32_MAX);
        int64_t vmin = first_true(INT32_MIN, INT32_MAX,
                                  [&](int64_t v) { return r(v) > clamp_min - zero_point; }) -
                       1;
        vmin = std::clamp<int64_t>(vmin, INT32_MIN, vcap);
        const int64_t b = -r(vmin);
        out[kYmmRqVcap + l] = static_cast<int32_t>(vcap);
        out[kYmmRqVmin + l] = static_cast<int32_t>(vmin);
        const auto s = static_cast<uint32_t>(shift[l]);
        const uint64_t round = (uint64_t{1} << (s - 1)) + (static_cast<uint64_t>(b) << s);
        put64(l % 2 == 0 ? kYmmRqRoundEven + l : kYmmRqRoundOdd + l - 1,
              static_cast<int64_t>(round));
        put64(l % 2 == 0 ? kYmmRqShiftEven + l : kYmmRqShiftOdd + l - 1, shift[l]);
        // lo < 0 only where v never reaches the bottom (vmin = INT32_MIN above it); y >= 0
        // anyway. vmin = vcap: one code for every v (y = 0), held in add.
        int64_t lo = std::max<int64_t>(0, clamp_min - zero_point + b);
        int64_t hi = clamp_max - zero_point + b;
        int64_t add = zero_point - b;
        if (vmin == vcap) {
            lo = hi = 0;
            add = std::clamp<int64_t>(zero_point + r(vcap), clamp_min, clamp_max);
        }
        out[kYmmRqLo + l] = static_cast<int32_t>(static_cast<uint32_t>(lo));
        out[kYmmRqHi + l] = static_cast<int32_t>(static_cast<uint32_t>(hi));
        out[kYmmRqAdd + l] = static_cast<int32_t>(static_cast<uint32_t>(add));
    }
    for (int k = 0; k < kYmmLanes / 2; ++k) {
        out[kYmmRqMulOdd + 2 * k] = multiplier[2 * k + 1];
    }
}

namespace {

#if TRISEG_YMM_X86
#define TRISEG_YMM_TARGET __attribute__((target("avx2")))

using YmmFn = void (*)(const YmmBlockArgs&, uint8_t*);

inline int32_t load_i32(const char* p) {
    int32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

TRISEG_YMM_TARGET inline __m256i load_v(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

/// The micro-kernel: per (pair, tap), NV weight vectors times MR broadcast pixel pairs;
/// _mm256_madd_epi16 forms w0 x0 + w1 x1 exactly in int32 (|.| <= 2 * 128 * 255, never the
/// one saturating case), added to the accumulators. The empty asm after each tap keeps the
/// compiler from reassociating the additions across taps (it would otherwise form trees of
/// products that outlive the 16 registers and spill them).
template <int MR, int NV, int TAPS>
TRISEG_YMM_TARGET void ymm_kernel(const YmmBlockArgs& a, uint8_t* tile) {
    __m256i acc[MR][NV];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) {
            acc[i][j] = _mm256_setzero_si256();
        }
    }
    const char* px[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
        px[i] = reinterpret_cast<const char*>(a.px[i]);
    }
    const int64_t rs = a.row_stride;
    const int16_t* w = a.weights;
    for (int64_t q = 0; q < a.pairs; ++q) {
#pragma GCC unroll 9
        for (int t = 0; t < TAPS; ++t, w += 2 * kYmmLanes * NV) {
            // 3x3: tap (t / 3, t % 3) of pair q; one tap: pair q, pair_stride bytes apart.
            const int64_t off = TAPS == 1 ? q * a.pair_stride : (t / 3) * rs + 4 * (t % 3);
            __m256i wv[NV];
#pragma GCC unroll 2
            for (int j = 0; j < NV; ++j) {
                wv[j] = load_v(w + 2 * kYmmLanes * j);
            }
#pragma GCC unroll 12
            for (int i = 0; i < MR; ++i) {
                const __m256i x = _mm256_set1_epi32(load_i32(px[i] + off));
#pragma GCC unroll 2
                for (int j = 0; j < NV; ++j) {
                    acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(wv[j], x));
                }
            }
#pragma GCC unroll 12
            for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
                for (int j = 0; j < NV; ++j) {
                    __asm__("" : "+x"(acc[i][j]));
                }
            }
        }
        if (TAPS != 1) {
#pragma GCC unroll 12
            for (int i = 0; i < MR; ++i) {
                px[i] += a.pair_stride;
            }
        }
    }
    if (a.lower_clamp) {
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) {
            const int32_t* r = a.requant + kYmmRequantInts * j;
#pragma GCC unroll 12
            for (int i = 0; i < MR; ++i) {
                acc[i][j] = ymm_requantize<true>(acc[i][j], r);
            }
        }
    } else {
#pragma GCC unroll 2
        for (int j = 0; j < NV; ++j) {
            const int32_t* r = a.requant + kYmmRequantInts * j;
#pragma GCC unroll 12
            for (int i = 0; i < MR; ++i) {
                acc[i][j] = ymm_requantize<false>(acc[i][j], r);
            }
        }
    }
    // Codes 0..255 in int32 lanes -> bytes, two positions per 32-byte store: the packs leave
    // 4-byte groups in the order (i: 0-3, i: 8-11, i+1: 0-3, i+1: 8-11 | i: 4-7, i: 12-15,
    // i+1: 4-7, i+1: 12-15), which the permute puts back.
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

template <int NV, int TAPS, int... I>
constexpr std::array<YmmFn, sizeof...(I)> ymm_table(std::integer_sequence<int, I...>) {
    return {&ymm_kernel<I + 1, NV, TAPS>...};
}
template <int NV, int TAPS>
constexpr auto kYmm = ymm_table<NV, TAPS>(std::make_integer_sequence<int, ymm_max_mr(NV)>{});

/// 16 x 16 bytes: r[i] = row i on entry, column i on return (four unpack stages, as
/// conv3x3_zmm.cpp does within each 128-bit lane).
inline void transpose16(__m128i (&r)[16]) {
    __m128i t[16];
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
        t[k] = _mm_unpacklo_epi8(r[2 * k], r[2 * k + 1]);
        t[k + 8] = _mm_unpackhi_epi8(r[2 * k], r[2 * k + 1]);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 16; h += 8) {
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
            r[h + k] = _mm_unpacklo_epi16(t[h + 2 * k], t[h + 2 * k + 1]);
            r[h + k + 4] = _mm_unpackhi_epi16(t[h + 2 * k], t[h + 2 * k + 1]);
        }
    }
#pragma GCC unroll 4
    for (int g = 0; g < 16; g += 4) {
#pragma GCC unroll 2
        for (int k = 0; k < 2; ++k) {
            t[g + k] = _mm_unpacklo_epi32(r[g + 2 * k], r[g + 2 * k + 1]);
            t[g + k + 2] = _mm_unpackhi_epi32(r[g + 2 * k], r[g + 2 * k + 1]);
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < 8; ++m) {
        r[2 * m] = _mm_unpacklo_epi64(t[2 * m], t[2 * m + 1]);
        r[2 * m + 1] = _mm_unpackhi_epi64(t[2 * m], t[2 * m + 1]);
    }
}

TRISEG_YMM_TARGET void
store_transposed(const uint8_t* tile, int npos, int64_t lanes, uint8_t* out, int64_t stride) {
    __m128i r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
        r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tile + i * kYmmTileRow));
    }
    transpose16(r);
    if (npos == kYmmGroup) {
        for (int64_t l = 0; l < lanes; ++l) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + l * stride), r[l]);
        }
        return;
    }
    for (int64_t l = 0; l < lanes; ++l) {
        alignas(16) uint8_t column[kYmmGroup];
        _mm_store_si128(reinterpret_cast<__m128i*>(column), r[l]);
        std::memcpy(out + l * stride, column, static_cast<std::size_t>(npos));
    }
}

/// dst = lut[tile] on the first npos rows of a tile (rounded up to even), 32 bytes at a time:
/// lut[x] is entry x % 16 of the 16-byte slice x / 16, so with i = x - 16 h (bytes, wrapping),
/// vpshufb of slice h at adds_epu8(i, 0x70) reads lut[x] where i < 16 and 0 elsewhere (bit 7 set),
/// and the 16 slices are or-ed together. About half the instructions of a byte-by-byte lookup.
TRISEG_YMM_TARGET void lut_tile(const uint8_t* tile, int npos, const uint8_t* lut, uint8_t* dst) {
    __m256i slice[16];
#pragma GCC unroll 16
    for (int h = 0; h < 16; ++h) {
        slice[h] = _mm256_broadcastsi128_si256(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(lut + 16 * h)));
    }
    const __m256i bias = _mm256_set1_epi8(0x70);
    const __m256i step = _mm256_set1_epi8(16);
    for (int v = 0; v < (npos + 1) / 2; ++v) { // 2 tile rows per vector, rows < npos
        __m256i i = load_v(tile + 32 * v);
        __m256i r = _mm256_setzero_si256();
#pragma GCC unroll 16
        for (int h = 0; h < 16; ++h) {
            r = _mm256_or_si256(r, _mm256_shuffle_epi8(slice[h], _mm256_adds_epu8(i, bias)));
            i = _mm256_sub_epi8(i, step);
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * v), r);
    }
}

/// One row of pair-plane values: d[2 x] = s0[x] - zp, d[2 x + 1] = s1[x] - zp (0 without s1).
TRISEG_YMM_TARGET void
pair_row(const uint8_t* s0, const uint8_t* s1, int64_t width, int16_t zp, int16_t* d) {
    const __m256i z = _mm256_set1_epi16(zp);
    int64_t x = 0;
    for (; x + 16 <= width; x += 16) {
        const __m256i a = _mm256_sub_epi16(
            _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s0 + x))), z);
        const __m256i b = s1 != nullptr
                              ? _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(
                                                     reinterpret_cast<const __m128i*>(s1 + x))),
                                                 z)
                              : _mm256_setzero_si256();
        const __m256i lo = _mm256_unpacklo_epi16(a, b); // pixels 0-3 | 8-11
        const __m256i hi = _mm256_unpackhi_epi16(a, b); // pixels 4-7 | 12-15
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 2 * x),
                            _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 2 * x + 16),
                            _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    for (; x < width; ++x) {
        d[2 * x] = static_cast<int16_t>(s0[x] - zp);
        d[2 * x + 1] = s1 != nullptr ? static_cast<int16_t>(s1[x] - zp) : int16_t{0};
    }
}

/// One row of a plain int16 plane: d[x] = s[x] - zp.
TRISEG_YMM_TARGET void plane_row(const uint8_t* s, int64_t width, int16_t zp, int16_t* d) {
    const __m256i z = _mm256_set1_epi16(zp);
    int64_t x = 0;
    for (; x + 16 <= width; x += 16) {
        _mm256_storeu_si256(
            reinterpret_cast<__m256i*>(d + x),
            _mm256_sub_epi16(
                _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + x))), z));
    }
    for (; x < width; ++x) {
        d[x] = static_cast<int16_t>(s[x] - zp);
    }
}
#endif

} // namespace

void ymm_block(int taps, int nv, int mr, const YmmBlockArgs& args, uint8_t* tile) {
#if TRISEG_YMM_X86
    TRISEG_CHECK((taps == kYmmTaps3x3 || taps == kYmmTapsIm2col) && (nv == 1 || nv == 2) &&
                     mr >= 1 && mr <= ymm_max_mr(nv),
                 InputError,
                 "ymm conv block: taps " << taps << ", nv " << nv << ", mr " << mr
                                         << " is not a compiled kernel");
    if (taps == kYmmTaps3x3) {
        (nv == 1 ? kYmm<1, kYmmTaps3x3>[mr - 1] : kYmm<2, kYmmTaps3x3>[mr - 1])(args, tile);
    } else {
        (nv == 1 ? kYmm<1, kYmmTapsIm2col>[mr - 1] : kYmm<2, kYmmTapsIm2col>[mr - 1])(args, tile);
    }
#else
    (void)taps, (void)nv, (void)mr, (void)args, (void)tile;
    TRISEG_THROW(InputError, "the AVX2 kernel needs an x86-64 build");
#endif
}

void ymm_store_transposed(const uint8_t* tile,
                          int npos,
                          int64_t lanes,
                          uint8_t* out,
                          int64_t stride,
                          const uint8_t* lut) {
#if TRISEG_YMM_X86
    if (lut == nullptr) {
        store_transposed(tile, npos, lanes, out, stride);
        return;
    }
    alignas(32) uint8_t mapped[kYmmGroup * kYmmTileRow] = {}; // rows >= npos stay 0
    lut_tile(tile, npos, lut, mapped);
    store_transposed(mapped, npos, lanes, out, stride);
#else
    (void)tile, (void)npos, (void)lanes, (void)out, (void)stride, (void)lut;
    TRISEG_THROW(InputError, "the AVX2 kernel needs an x86-64 build");
#endif
}

void ymm_pack_pairs(const uint8_t* in,
                    int64_t channels,
                    int64_t height,
                    int64_t width,
                    int32_t zero_point,
                    int16_t* dst) {
#if TRISEG_YMM_X86
    const int64_t wp = width + 2;
    const int64_t plane = height * width;
    const auto zp = static_cast<int16_t>(zero_point);
    for (int64_t c = 0; c < channels; c += 2) {
        const uint8_t* c0 = in + c * plane;
        const uint8_t* c1 = c + 1 < channels ? c0 + plane : nullptr;
        int16_t* d = dst + c * (height + 2) * wp; // (c / 2) pairs x 2 values per pixel
        std::fill(d, d + 2 * wp, int16_t{0});
        for (int64_t y = 0; y < height; ++y) {
            int16_t* r = d + 2 * wp * (y + 1);
            r[0] = r[1] = r[2 * wp - 2] = r[2 * wp - 1] = 0;
            pair_row(c0 + y * width, c1 != nullptr ? c1 + y * width : nullptr, width, zp, r + 2);
        }
        std::fill(d + 2 * wp * (height + 1), d + 2 * wp * (height + 2), int16_t{0});
    }
#else
    (void)in, (void)channels, (void)height, (void)width, (void)zero_point, (void)dst;
    TRISEG_THROW(InputError, "the AVX2 kernel needs an x86-64 build");
#endif
}

void ymm_im2col(const uint8_t* in,
                int64_t channels,
                int64_t height,
                int64_t width,
                int32_t zero_point,
                int64_t pairs,
                int16_t* planes,
                int16_t* dst) {
#if TRISEG_YMM_X86
    const int64_t wp = width + 2;
    const int64_t plane = (height + 2) * wp;
    const auto zp = static_cast<int16_t>(zero_point);
    // Each channel with a zero border (and 4 values of slack: the copies below read 4 values
    // where they need 3).
    std::fill(planes, planes + channels * plane + 4, int16_t{0});
    for (int64_t ic = 0; ic < channels; ++ic) {
        for (int64_t y = 0; y < height; ++y) {
            plane_row(in + (ic * height + y) * width, width, zp,
                      planes + ic * plane + (y + 1) * wp + 1);
        }
    }
    // Row of position (y, x): the 3 values of window row ky of channel ic at k = 9 ic + 3 ky,
    // copied as 4 (8 bytes) in increasing k, so each copy's fourth value is overwritten by
    // the next; the last one's lands on the padding value k = 9 C when 9 C is odd (its
    // weights are 0, so any value will do), else on the next row's first value (written
    // later) or the slack after the last row.
    const int64_t row = 2 * pairs;
    for (int64_t y = 0; y < height; ++y) {
        for (int64_t x = 0; x < width; ++x) {
            int16_t* d = dst + (y * width + x) * row;
            for (int64_t ic = 0; ic < channels; ++ic) {
                const int16_t* s = planes + ic * plane + y * wp + x;
                std::memcpy(d + 9 * ic, s, 8);
                std::memcpy(d + 9 * ic + 3, s + wp, 8);
                std::memcpy(d + 9 * ic + 6, s + 2 * wp, 8);
            }
        }
    }
#else
    (void)in, (void)channels, (void)height, (void)width, (void)zero_point, (void)pairs,
        (void)planes, (void)dst;
    TRISEG_THROW(InputError, "the AVX2 kernel needs an x86-64 build");
#endif
}

} // namespace triseg::engine::detail

namespace triseg::engine {

using detail::kLanes;

void PackedConv3x3::run_avx2(const uint8_t* in,
                             int64_t height,
                             int64_t width,
                             uint8_t* out,
                             const uint8_t* lut,
                             std::vector<int16_t>& scratch) const {
    const int64_t in_positions = height * width;
    const int64_t wo = (width - 1) / stride_ + 1; // output size (3x3, padding 1)
    const int64_t positions = ((height - 1) / stride_ + 1) * wo;
    detail::YmmBlockArgs args;
    int64_t row_stride = 0; // int16 elements between rows of a pair plane (3x3 form)
    std::size_t need = 0;
    const int64_t planes = in_channels_ * (height + 2) * (width + 2) + 4;
    if (im2col_) { // the padded planes (with slack), then the rows (and 4 values of slack)
        need = static_cast<std::size_t>(in_positions * 2 * im2col_pairs_ + 4 + planes);
    } else {
        row_stride = 2 * (width + 2);
        need = static_cast<std::size_t>(channel_pairs_ * row_stride * (height + 2));
    }
    if (scratch.size() < need) {
        scratch.resize(need);
    }
    int16_t* packed = scratch.data();
    int taps = detail::kYmmTaps3x3;
    if (im2col_) {
        detail::ymm_im2col(in, in_channels_, height, width, in_zero_point_, im2col_pairs_, packed,
                           packed + planes);
        packed += planes; // px below points into the rows
        taps = detail::kYmmTapsIm2col;
        args.pairs = im2col_pairs_;
        args.pair_stride = 4; // the pairs of a row follow each other
    } else {
        detail::ymm_pack_pairs(in, in_channels_, height, width, in_zero_point_, packed);
        args.pairs = channel_pairs_;
        args.row_stride = row_stride * static_cast<int64_t>(sizeof(int16_t));
        args.pair_stride = args.row_stride * (height + 2);
    }
    // Per block of output channels, groups of 16 positions (the last group moved back to end
    // at the last position when there are 16 or more: it recomputes a few, never a partial
    // store): micro-kernel blocks fill the group's code tile, stored transposed.
    alignas(32) uint8_t tile[detail::kYmmGroup * detail::kYmmTileRow] = {};
    int64_t offset_y = 0;
    for (const OcBlock& b : blocks_) {
        if (im2col_) {
            args.weights = weights_y_.data() + offset_y;
            offset_y += 2 * im2col_pairs_ * kLanes * b.nv;
        } else {
            args.weights = weights_.data() + b.offset;
        }
        args.requant = requant_y_.data() + b.oc0 / kLanes * detail::kYmmRequantInts;
        args.lower_clamp = lower_y_;
        const int max_mr = detail::ymm_max_mr(b.nv);
        const int64_t lanes = std::min<int64_t>(kLanes * b.nv, out_channels_ - b.oc0);
        for (int64_t g = 0; g < positions; g += detail::kYmmGroup) {
            const int64_t g0 =
                positions >= detail::kYmmGroup ? std::min(g, positions - detail::kYmmGroup) : g;
            const int group =
                static_cast<int>(std::min<int64_t>(detail::kYmmGroup, positions - g0));
            int64_t y = g0 / wo; // output row and column
            int64_t x = g0 % wo;
            for (int s0 = 0; s0 < group; s0 += max_mr) {
                const int mr = std::min(max_mr, group - s0);
                for (int i = 0; i < mr; ++i) {
                    // The window's top-left at input (s y - 1, s x - 1): padded (s y, s x).
                    args.px[i] = im2col_ ? packed + (stride_ * (y * width + x)) * 2 * im2col_pairs_
                                         : packed + stride_ * (y * row_stride + 2 * x);
                    if (++x == wo) {
                        x = 0;
                        ++y;
                    }
                }
                detail::ymm_block(taps, b.nv, mr, args, tile + s0 * detail::kYmmTileRow);
            }
            detail::ymm_store_transposed(tile, group, lanes, out + b.oc0 * positions + g0,
                                         positions, lut);
        }
    }
}

} // namespace triseg::engine
