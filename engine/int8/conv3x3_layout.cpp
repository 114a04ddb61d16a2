// The input layouts and the block store shared by the conv kernels (see conv3x3_layout.h).
#include "engine/int8/conv3x3_layout.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRISEG_HAVE_X86 1
#else
#define TRISEG_HAVE_X86 0
#endif

#include "engine/int8/conv3x3_zmm.h"

namespace triseg::engine::detail {

void store_block(const int32_t* codes,
                 int mr,
                 int64_t lanes,
                 uint8_t* out,
                 int64_t positions,
                 const uint8_t* lut) {
    for (int64_t l = 0; l < lanes; ++l) {
        uint8_t* o = out + l * positions;
        if (lut != nullptr) {
            for (int i = 0; i < mr; ++i) {
                o[i] = lut[codes[i * kMaxLanes + l]];
            }
        } else {
            for (int i = 0; i < mr; ++i) {
                o[i] = static_cast<uint8_t>(codes[i * kMaxLanes + l]);
            }
        }
    }
}

void pack_im2col(const uint8_t* in,
                 int64_t channels,
                 int64_t height,
                 int64_t width,
                 int32_t zero_point,
                 int64_t quads,
                 uint8_t* dst,
                 uint8_t* padded) {
    const int64_t row = 4 * quads;
    const int64_t wp = width + 2;
    const int64_t plane = (height + 2) * wp;
    // Each channel with a border of the zero point, then the 9 window values of every
    // position without a branch: tap (ky, kx) of (y, x) is padded[y + ky][x + kx].
    std::memset(padded, zero_point, static_cast<std::size_t>(channels * plane));
    for (int64_t ic = 0; ic < channels; ++ic) {
        for (int64_t y = 0; y < height; ++y) {
            std::memcpy(padded + ic * plane + (y + 1) * wp + 1, in + (ic * height + y) * width,
                        static_cast<std::size_t>(width));
        }
    }
    if (channels == 1 && quads == 3 && zmm_im2col_one_channel(padded, height, width, dst)) {
        return;
    }
    for (int64_t p = 0; p < height * width; ++p) {
        for (int64_t k = kTaps * channels; k < row; ++k) {
            dst[p * row + k] = 0;
        }
    }
    for (int64_t ic = 0; ic < channels; ++ic) {
        for (int ky = 0; ky < 3; ++ky) {
            for (int kx = 0; kx < 3; ++kx) {
                const int64_t k = ic * kTaps + ky * 3 + kx;
                for (int64_t y = 0; y < height; ++y) {
                    const uint8_t* src = padded + ic * plane + (y + ky) * wp + kx;
                    uint8_t* d = dst + y * width * row + k;
                    for (int64_t x = 0; x < width; ++x) {
                        d[x * row] = src[x];
                    }
                }
            }
        }
    }
}

void pack_input_quads(const uint8_t* in,
                      int64_t channels,
                      int64_t height,
                      int64_t width,
                      int32_t zero_point,
                      uint8_t* dst) {
    const int64_t wp = width + 2;
    const int64_t plane = height * width;
    const auto put = [](uint8_t* p, uint32_t v) { std::memcpy(p, &v, sizeof v); };
    for (int64_t q = 0; q * 4 < channels; ++q) {
        uint8_t* d = dst + q * (height + 2) * wp * 4;
        const int64_t n = std::min<int64_t>(4, channels - 4 * q);
        uint32_t border = 0; // the zero point in the quad's present channels
        for (int64_t k = 0; k < n; ++k) {
            border |= static_cast<uint32_t>(zero_point) << (8 * k);
        }
        for (int64_t x = 0; x < wp; ++x) {
            put(d + 4 * x, border);
            put(d + 4 * ((height + 1) * wp + x), border);
        }
        const uint8_t* s0 = in + (4 * q) * plane;
        const uint8_t* s1 = n > 1 ? s0 + plane : nullptr;
        const uint8_t* s2 = n > 2 ? s0 + 2 * plane : nullptr;
        const uint8_t* s3 = n > 3 ? s0 + 3 * plane : nullptr;
        for (int64_t y = 0; y < height; ++y) {
            uint8_t* r = d + (y + 1) * wp * 4;
            put(r, border);
            put(r + 4 * (width + 1), border);
            const int64_t o = y * width;
            if (n == 4) { // the common case
                int64_t x = 0;
#if TRISEG_HAVE_X86
                // 16 pixels at a time: interleave the 4 channel rows (SSE2 unpacks) into
                // 16 quads.
                for (; x + 16 <= width; x += 16) {
                    const auto load = [&](const uint8_t* c) {
                        return _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + o + x));
                    };
                    const __m128i a = load(s0);
                    const __m128i b = load(s1);
                    const __m128i c = load(s2);
                    const __m128i e = load(s3);
                    const __m128i ab_lo = _mm_unpacklo_epi8(a, b);
                    const __m128i ab_hi = _mm_unpackhi_epi8(a, b);
                    const __m128i ce_lo = _mm_unpacklo_epi8(c, e);
                    const __m128i ce_hi = _mm_unpackhi_epi8(c, e);
                    auto* dq = reinterpret_cast<__m128i*>(r + 4 * (x + 1));
                    _mm_storeu_si128(dq, _mm_unpacklo_epi16(ab_lo, ce_lo));
                    _mm_storeu_si128(dq + 1, _mm_unpackhi_epi16(ab_lo, ce_lo));
                    _mm_storeu_si128(dq + 2, _mm_unpacklo_epi16(ab_hi, ce_hi));
                    _mm_storeu_si128(dq + 3, _mm_unpackhi_epi16(ab_hi, ce_hi));
                }
                for (; x + 4 <= width; x += 4) { // 4 pixels: 32-bit loads, one store
                    const auto load = [&](const uint8_t* c) {
                        int32_t v = 0;
                        std::memcpy(&v, c + o + x, sizeof v);
                        return _mm_cvtsi32_si128(v);
                    };
                    const __m128i ab = _mm_unpacklo_epi8(load(s0), load(s1));
                    const __m128i ce = _mm_unpacklo_epi8(load(s2), load(s3));
                    _mm_storeu_si128(reinterpret_cast<__m128i*>(r + 4 * (x + 1)),
                                     _mm_unpacklo_epi16(ab, ce));
                }
#endif
                for (; x < width; ++x) {
                    put(r + 4 * (x + 1), static_cast<uint32_t>(s0[o + x]) |
                                             static_cast<uint32_t>(s1[o + x]) << 8 |
                                             static_cast<uint32_t>(s2[o + x]) << 16 |
                                             static_cast<uint32_t>(s3[o + x]) << 24);
                }
            } else {
                for (int64_t x = 0; x < width; ++x) {
                    uint32_t v = s0[o + x];
                    v |= s1 != nullptr ? static_cast<uint32_t>(s1[o + x]) << 8 : 0U;
                    v |= s2 != nullptr ? static_cast<uint32_t>(s2[o + x]) << 16 : 0U;
                    put(r + 4 * (x + 1), v);
                }
            }
        }
    }
}

} // namespace triseg::engine::detail
