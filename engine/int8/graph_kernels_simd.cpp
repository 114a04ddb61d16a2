// The requantized add and the global average pool on AVX2 and AVX-512, and which ISA runs them
// (see graph_kernels.h). Bit-identical to the portable loops of graph_kernels.cpp.
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRISEG_GK_X86 1
#else
#define TRISEG_GK_X86 0
#endif

#include "common/error.h"
#include "engine/core/requant.h"
#include "engine/int8/graph_kernels.h"
#include "engine/int8/int8_kernels.h"

// GCC 12's avx512fintrin.h seeds its _mm512_undefined_* values with themselves, which
// -W(maybe-)uninitialized reports inside every unmasked intrinsic (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace triseg::engine {
namespace {

/// An Add op's constants. |da * m_a + db * m_b| <= 2 * 255 * (2^31 - 1) < 2^40.
struct AddParams {
    int32_t za = 0;
    int32_t zb = 0;
    int64_t ma = 0;
    int64_t mb = 0;
    int32_t shift = 1;
    int32_t zo = 0;
    int32_t lo = 0;
    int32_t hi = 255;
};

AddParams add_params(const models::Int8Op& op,
                     const models::Int8Tensor& a_t,
                     const models::Int8Tensor& b_t,
                     const models::Int8Tensor& out_t) {
    AddParams p;
    p.za = a_t.quant.zero_point;
    p.zb = b_t.quant.zero_point;
    p.ma = op.multiplier[0];
    p.mb = op.multiplier[1];
    p.shift = op.shift[0];
    p.zo = out_t.quant.zero_point;
    p.lo = op.clamp_min;
    p.hi = op.clamp_max;
    return p;
}

#if TRISEG_GK_X86
#define TRISEG_GK_AVX2 __attribute__((target("avx2")))
#define TRISEG_GK_AVX512 __attribute__((target("avx2,avx512f,avx512bw")))

/// From this shift on, |(v + 2^(s-1)) >> s| < 2^30 + 1 for every add sum v (|v| < 2^40), so the
/// rounded value is exact in int32 and the clamp can wait until then.
constexpr int32_t kNarrowMinShift = 11;

/// The AVX2 add's constants, in every lane.
struct AddYmm {
    __m256i za, zb;   ///< int32
    __m256i ma, mb;   ///< int64 (mul_epi32 reads the low half)
    __m256i bias;     ///< int64: 2^(s-1) + 2^62, so that the sum is positive
    __m256i count;    ///< int64: s
    __m256i lo64;     ///< int64: clamp_min - zp_out + 2^(62-s) (only for s < kNarrowMinShift)
    __m256i hi64;     ///< int64: clamp_max - zp_out + 2^(62-s)
    __m256i offset;   ///< int32: zp_out - 2^(62-s) mod 2^32
    __m256i lo8, hi8; ///< uint8: the clamp
    __m256i order;    ///< the dword order that undoes the two in-lane packs
};

TRISEG_GK_AVX2 AddYmm add_ymm(const AddParams& p) {
    const int64_t c = int64_t{1} << (62 - p.shift); // the offset's share of the result
    AddYmm k{};
    k.za = _mm256_set1_epi32(p.za);
    k.zb = _mm256_set1_epi32(p.zb);
    k.ma = _mm256_set1_epi64x(p.ma);
    k.mb = _mm256_set1_epi64x(p.mb);
    k.bias = _mm256_set1_epi64x((int64_t{1} << (p.shift - 1)) + (int64_t{1} << 62));
    k.count = _mm256_set1_epi64x(p.shift);
    k.lo64 = _mm256_set1_epi64x(p.lo - p.zo + c);
    k.hi64 = _mm256_set1_epi64x(p.hi - p.zo + c);
    k.offset = _mm256_set1_epi32(
        static_cast<int32_t>(static_cast<uint32_t>(p.zo) - static_cast<uint32_t>(c)));
    k.lo8 = _mm256_set1_epi8(static_cast<char>(p.lo));
    k.hi8 = _mm256_set1_epi8(static_cast<char>(p.hi));
    k.order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    return k;
}

/// 8 codes of a and b: (v + 2^(s-1) + 2^62) >> s in int32 lanes (its low half; clamped in
/// int64 first when kWide). The offset 2^62 is a multiple of 2^s, so the logical shift of the
/// positive sum is the arithmetic shift of v + 2^(s-1) plus 2^(62-s), exactly.
template <bool kWide>
TRISEG_GK_AVX2 inline __m256i add8_avx2(const uint8_t* a, const uint8_t* b, const AddYmm& k) {
    const __m256i da = _mm256_sub_epi32(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a))), k.za);
    const __m256i db = _mm256_sub_epi32(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b))), k.zb);
    __m256i even = _mm256_add_epi64(_mm256_mul_epi32(da, k.ma), _mm256_mul_epi32(db, k.mb));
    __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(da, 32), k.ma),
                                   _mm256_mul_epi32(_mm256_srli_epi64(db, 32), k.mb));
    even = _mm256_srlv_epi64(_mm256_add_epi64(even, k.bias), k.count);
    odd = _mm256_srlv_epi64(_mm256_add_epi64(odd, k.bias), k.count);
    if (kWide) { // both are in [0, 2^63), as are the bounds: signed compares are exact
        even = _mm256_blendv_epi8(even, k.hi64, _mm256_cmpgt_epi64(even, k.hi64));
        even = _mm256_blendv_epi8(even, k.lo64, _mm256_cmpgt_epi64(k.lo64, even));
        odd = _mm256_blendv_epi8(odd, k.hi64, _mm256_cmpgt_epi64(odd, k.hi64));
        odd = _mm256_blendv_epi8(odd, k.lo64, _mm256_cmpgt_epi64(k.lo64, odd));
    }
    return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

/// 32 codes: out[0, 32) from a[0, 32) and b[0, 32).
template <bool kWide>
TRISEG_GK_AVX2 inline void
add32_avx2(const uint8_t* a, const uint8_t* b, uint8_t* out, const AddYmm& k) {
    // zp_out + the rounded value, exact in int32 (|value| <= 2^30 + 1, or clamped already);
    // the packs saturate, which changes nothing that the clamp to [lo, hi] keeps.
    const __m256i g0 = _mm256_add_epi32(add8_avx2<kWide>(a, b, k), k.offset);
    const __m256i g1 = _mm256_add_epi32(add8_avx2<kWide>(a + 8, b + 8, k), k.offset);
    const __m256i g2 = _mm256_add_epi32(add8_avx2<kWide>(a + 16, b + 16, k), k.offset);
    const __m256i g3 = _mm256_add_epi32(add8_avx2<kWide>(a + 24, b + 24, k), k.offset);
    __m256i u = _mm256_packus_epi16(_mm256_packs_epi32(g0, g1), _mm256_packs_epi32(g2, g3));
    u = _mm256_permutevar8x32_epi32(u, k.order);
    u = _mm256_min_epu8(_mm256_max_epu8(u, k.lo8), k.hi8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), u);
}

template <bool kWide>
TRISEG_GK_AVX2 void
add_avx2(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* out, int64_t n) {
    const AddYmm k = add_ymm(p);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        add32_avx2<kWide>(a + i, b + i, out + i, k);
    }
    if (i < n) {
        uint8_t ta[32] = {};
        uint8_t tb[32] = {};
        uint8_t to[32];
        const auto rest = static_cast<size_t>(n - i);
        std::memcpy(ta, a + i, rest);
        std::memcpy(tb, b + i, rest);
        add32_avx2<kWide>(ta, tb, to, k);
        std::memcpy(out + i, to, rest);
    }
}

/// The AVX-512 add's constants, in every lane.
struct AddZmm {
    __m512i za, zb;   ///< int32
    __m512i ma, mb;   ///< int64
    __m512i half;     ///< int64: 2^(s-1)
    __m512i count;    ///< int64: s
    __m512i lo, hi;   ///< int64: clamp_min - zp_out, clamp_max - zp_out (only for a small s)
    __m512i zo;       ///< int32
    __m512i lo8, hi8; ///< uint8: the clamp
    __m512i order;    ///< the dword order that undoes the two in-lane packs
};

/// 16 codes of a and b: zp_out + the rounded value in int32 lanes, exact (clamped in int64
/// first when kWide), with the arithmetic shift of AVX-512F.
template <bool kWide>
TRISEG_GK_AVX512 inline __m512i add16_avx512(const uint8_t* a, const uint8_t* b, const AddZmm& k) {
    const __m512i da = _mm512_sub_epi32(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a))), k.za);
    const __m512i db = _mm512_sub_epi32(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b))), k.zb);
    __m512i even = _mm512_add_epi64(_mm512_mul_epi32(da, k.ma), _mm512_mul_epi32(db, k.mb));
    __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(da, 32), k.ma),
                                   _mm512_mul_epi32(_mm512_srli_epi64(db, 32), k.mb));
    even = _mm512_srav_epi64(_mm512_add_epi64(even, k.half), k.count);
    odd = _mm512_srav_epi64(_mm512_add_epi64(odd, k.half), k.count);
    if (kWide) {
        even = _mm512_min_epi64(_mm512_max_epi64(even, k.lo), k.hi);
        odd = _mm512_min_epi64(_mm512_max_epi64(odd, k.lo), k.hi);
    }
    return _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)),
                            k.zo);
}

/// 64 codes: out[0, 64) from a[0, 64) and b[0, 64); packs with saturation, then the clamp.
template <bool kWide>
TRISEG_GK_AVX512 inline void
add64_avx512(const uint8_t* a, const uint8_t* b, uint8_t* out, const AddZmm& k) {
    const __m512i g0 = add16_avx512<kWide>(a, b, k);
    const __m512i g1 = add16_avx512<kWide>(a + 16, b + 16, k);
    const __m512i g2 = add16_avx512<kWide>(a + 32, b + 32, k);
    const __m512i g3 = add16_avx512<kWide>(a + 48, b + 48, k);
    __m512i u = _mm512_packus_epi16(_mm512_packs_epi32(g0, g1), _mm512_packs_epi32(g2, g3));
    u = _mm512_permutexvar_epi32(k.order, u);
    u = _mm512_min_epu8(_mm512_max_epu8(u, k.lo8), k.hi8);
    _mm512_storeu_si512(out, u);
}

template <bool kWide>
TRISEG_GK_AVX512 void
add_avx512(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* out, int64_t n) {
    AddZmm k{};
    k.za = _mm512_set1_epi32(p.za);
    k.zb = _mm512_set1_epi32(p.zb);
    k.ma = _mm512_set1_epi64(p.ma);
    k.mb = _mm512_set1_epi64(p.mb);
    k.half = _mm512_set1_epi64(int64_t{1} << (p.shift - 1));
    k.count = _mm512_set1_epi64(p.shift);
    k.lo = _mm512_set1_epi64(p.lo - p.zo);
    k.hi = _mm512_set1_epi64(p.hi - p.zo);
    k.zo = _mm512_set1_epi32(p.zo);
    k.lo8 = _mm512_set1_epi8(static_cast<char>(p.lo));
    k.hi8 = _mm512_set1_epi8(static_cast<char>(p.hi));
    // After the packs, dword 4 L + j holds codes 4 L .. 4 L + 3 of g_j (128-bit lane L).
    k.order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        add64_avx512<kWide>(a + i, b + i, out + i, k);
    }
    if (i < n) {
        uint8_t ta[64] = {};
        uint8_t tb[64] = {};
        uint8_t to[64];
        const auto rest = static_cast<size_t>(n - i);
        std::memcpy(ta, a + i, rest);
        std::memcpy(tb, b + i, rest);
        add64_avx512<kWide>(ta, tb, to, k);
        std::memcpy(out + i, to, rest);
    }
}

/// The sum of the codes p[0, n).
TRISEG_GK_AVX2 int64_t sum_codes_avx2(const uint8_t* p, int64_t n) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i acc = zero;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc = _mm256_add_epi64(
            acc,
            _mm256_sad_epu8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)), zero));
    }
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    if (i + 16 <= n) {
        s = _mm_add_epi64(s, _mm_sad_epu8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)),
                                          _mm256_castsi256_si128(zero)));
        i += 16;
    }
    if (i + 8 <= n) {
        s = _mm_add_epi64(s, _mm_sad_epu8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + i)),
                                          _mm256_castsi256_si128(zero)));
        i += 8;
    }
    int64_t sum = _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
    for (; i < n; ++i) {
        sum += p[i];
    }
    return sum;
}

TRISEG_GK_AVX2 void global_avgpool_avx2(const models::Int8Op& op,
                                        const models::Int8Tensor& in_t,
                                        const models::Int8Tensor& out_t,
                                        const uint8_t* in,
                                        uint8_t* out) {
    const int64_t plane = in_t.height * in_t.width;
    const int64_t window_zero = int64_t{in_t.quant.zero_point} * plane;
    const int32_t m = op.multiplier[0];
    const int32_t s = op.shift[0];
    const int32_t zp_out = out_t.quant.zero_point;
    for (int64_t c = 0; c < out_t.channels; ++c) {
        out[c] = requantize_clamped(sum_codes_avx2(in + c * plane, plane) - window_zero, m, s,
                                    zp_out, op.clamp_min, op.clamp_max);
    }
}
#endif // TRISEG_GK_X86

void check_isa(KernelIsa isa, const models::Int8Op& op) {
    TRISEG_CHECK(kernel_isa_supported(isa), InputError,
                 "int8 op '" << op.name << "': this CPU cannot run the requested kernel ("
                             << kernel_isa_name(isa) << ")");
}

} // namespace

void add_u8(KernelIsa isa,
            const models::Int8Op& op,
            const models::Int8Tensor& a_t,
            const models::Int8Tensor& b_t,
            const models::Int8Tensor& out_t,
            const uint8_t* a,
            const uint8_t* b,
            uint8_t* out) {
    check_isa(isa, op);
#if TRISEG_GK_X86
    const AddParams p = add_params(op, a_t, b_t, out_t);
    if (isa == KernelIsa::Avx512Zmm) {
        if (p.shift >= kNarrowMinShift) {
            add_avx512<false>(p, a, b, out, out_t.size());
        } else {
            add_avx512<true>(p, a, b, out, out_t.size());
        }
        return;
    }
    if (isa != KernelIsa::Portable) { // Avx2 and Avx512Vnni: both CPUs have AVX2
        if (p.shift >= kNarrowMinShift) {
            add_avx2<false>(p, a, b, out, out_t.size());
        } else {
            add_avx2<true>(p, a, b, out, out_t.size());
        }
        return;
    }
#endif
    add_u8(op, a_t, b_t, out_t, a, b, out);
}

void avgpool_u8(KernelIsa isa,
                const models::Int8Op& op,
                const models::Int8Tensor& in_t,
                const models::Int8Tensor& out_t,
                const uint8_t* in,
                uint8_t* out) {
    check_isa(isa, op);
#if TRISEG_GK_X86
    if (isa != KernelIsa::Portable && op.kind == models::Int8OpKind::GlobalAvgPool) {
        global_avgpool_avx2(op, in_t, out_t, in, out);
        return;
    }
#endif
    avgpool_u8(op, in_t, out_t, in, out);
}

} // namespace triseg::engine
