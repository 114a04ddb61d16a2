// The AVX2 requantization epilogue that the AVX2 and the 256-bit VNNI conv kernels share:
// 8 int32 sums to codes with the constants of make_ymm_requant (conv3x3_ymm.h).
#pragma once

#include <cstdint>

#include "engine/int8/conv3x3_ymm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace triseg::engine::detail {

/// 8 constants of `r` at `offset`.
__attribute__((target("avx2"))) inline __m256i ymm_requant_load(const int32_t* r, int offset) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + offset));
}

/// clamp(zp + rhu(acc + bias, M), clamp_min, clamp_max) on 8 lanes, exactly, from the constants
/// `r` of make_ymm_requant. v = acc + bias (exact modulo 2^32, and the true value fits int32)
/// is clamped to [vmin, vcap], which changes no code; then t = v M + 2^(s-1) + B 2^s lies in
/// [0, 2^64) and its logical shift is r(v) + B < 2^32, so the int64 halves recombine into
/// uint32 lanes, clamped there to [lo, hi] and moved by `add` onto the codes.
/// LOWER false skips the lower clamp, for constants whose lo is 0 in every lane (see
/// ymm_needs_lower_clamp): y >= 0 = lo there anyway.
template <bool LOWER = true>
__attribute__((target("avx2"))) inline __m256i ymm_requantize(__m256i acc, const int32_t* r) {
    __m256i v = _mm256_add_epi32(acc, ymm_requant_load(r, kYmmRqBias));
    v = _mm256_min_epi32(_mm256_max_epi32(v, ymm_requant_load(r, kYmmRqVmin)),
                         ymm_requant_load(r, kYmmRqVcap));
    __m256i t_even = _mm256_add_epi64(_mm256_mul_epi32(v, ymm_requant_load(r, kYmmRqMul)),
                                      ymm_requant_load(r, kYmmRqRoundEven));
    __m256i t_odd = _mm256_add_epi64(
        _mm256_mul_epi32(_mm256_srli_epi64(v, 32), ymm_requant_load(r, kYmmRqMulOdd)),
        ymm_requant_load(r, kYmmRqRoundOdd));
    t_even = _mm256_srlv_epi64(t_even, ymm_requant_load(r, kYmmRqShiftEven));
    t_odd = _mm256_srlv_epi64(t_odd, ymm_requant_load(r, kYmmRqShiftOdd));
    __m256i y = _mm256_blend_epi32(t_even, _mm256_slli_epi64(t_odd, 32), 0xAA);
    if constexpr (LOWER) {
        y = _mm256_max_epu32(y, ymm_requant_load(r, kYmmRqLo));
    }
    y = _mm256_min_epu32(y, ymm_requant_load(r, kYmmRqHi));
    return _mm256_add_epi32(y, ymm_requant_load(r, kYmmRqAdd));
}

} // namespace triseg::engine::detail

#endif
