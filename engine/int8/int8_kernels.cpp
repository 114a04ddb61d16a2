// Fast exact integer kernels: packed direct conv3x3 (AVX2 and portable), max-pool, classifier.
#include "engine/int8/int8_kernels.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRISEG_HAVE_X86 1
#else
#define TRISEG_HAVE_X86 0
#endif

#include "common/error.h"
#include "engine/core/requant.h"
#include "engine/int8/conv3x3_ymm.h"
#include "engine/int8/conv3x3_zmm.h"
#include "engine/int8/cpu_features.h"

namespace triseg::engine {
namespace {

constexpr int kLanes = 8; ///< int32 lanes of one 256-bit vector = output channels
constexpr int kMaxNv = 2; ///< widest output-channel block, in vectors
constexpr int kMaxLanes = kLanes * kMaxNv;
constexpr int kTaps = 9;      ///< 3x3
constexpr int kMaxMrNv1 = 12; ///< positions per block when nv = 1 (12 accumulators)
constexpr int kMaxMrNv2 = 6;  ///< positions per block when nv = 2 (12 accumulators)
constexpr int64_t kMaxCodeDistance = 255;

/// What one register block needs: MR output positions x (8 * NV) output channels.
struct BlockArgs {
    const int16_t* weights = nullptr; ///< the OcBlock's weights, [pair][ky][kx][8 NV][2]
    /// Per position: the padded input at (pair 0, top-left corner of its 3x3 window).
    std::array<const int16_t*, kMaxMrNv1> px{};
    int64_t pair_stride = 0;       ///< int16 elements between channel pairs of the padded input
    int64_t row_stride = 0;        ///< int16 elements between rows of the padded input
    int64_t pairs = 0;             ///< channel pairs (reduction length = 18 * pairs)
    const int32_t* bias = nullptr; ///< [8 NV] lanes of the block, zero-padded
    const int32_t* multiplier = nullptr; ///< [8 NV], padding lanes hold a valid dummy
    const int32_t* shift = nullptr;      ///< [8 NV]
    int32_t zero_point = 0;              ///< output zero point
};

/// Computes codes[i * kMaxLanes + l] = requantize_relu(bias[l] + sum_{pair, ky, kx} w . x,
/// M[l], zero_point) for position i and lane l of the block.
using BlockFn = void (*)(const BlockArgs&, int32_t*);

/// Portable micro-kernel: the same sums in plain int32 loops (the compiler may vectorize).
template <int MR, int NV> void block_portable(const BlockArgs& a, int32_t* codes) {
    constexpr int kL = kLanes * NV;
    int32_t acc[MR][kL] = {};
    const int16_t* w = a.weights;
    for (int64_t c = 0; c < a.pairs; ++c) {
        for (int ky = 0; ky < 3; ++ky) {
            const int64_t row = c * a.pair_stride + ky * a.row_stride;
            for (int kx = 0; kx < 3; ++kx, w += 2 * kL) {
                for (int i = 0; i < MR; ++i) {
                    const int32_t x0 = a.px[i][row + 2 * kx];
                    const int32_t x1 = a.px[i][row + 2 * kx + 1];
                    for (int l = 0; l < kL; ++l) {
                        acc[i][l] += w[2 * l] * x0 + w[2 * l + 1] * x1;
                    }
                }
            }
        }
    }
    for (int i = 0; i < MR; ++i) {
        for (int l = 0; l < kL; ++l) {
            const FixedPointMultiplier m{a.multiplier[l], a.shift[l]};
            codes[i * kMaxLanes + l] = requantize_relu(acc[i][l] + a.bias[l], m, a.zero_point);
        }
    }
}

#if TRISEG_HAVE_X86
/// requantize_relu on 8 lanes, exactly: v = acc + bias; t = v * multiplier + 2^(shift-1) in
/// int64 (even and odd lanes separately, _mm256_mul_epi32); t < 0 gives code zp (ReLU), so
/// the arithmetic shift AVX2 lacks is a logical one on max(t, 0); clamp to 255 - zp; + zp.
__attribute__((target("avx2"))) inline __m256i requantize_relu_avx2(
    __m256i acc, __m256i bias, __m256i multiplier, __m256i shift, __m256i zero_point) {
    const __m256i zero = _mm256_setzero_si256();
    const __m256i one = _mm256_set1_epi64x(1);
    const __m256i hi = _mm256_sub_epi64(_mm256_set1_epi64x(255), _mm256_srli_epi64(zero_point, 32));
    const __m256i v = _mm256_add_epi32(acc, bias);
    const __m256i s_even = _mm256_and_si256(shift, _mm256_set1_epi64x(0xFFFFFFFF));
    const __m256i s_odd = _mm256_srli_epi64(shift, 32);
    __m256i t_even = _mm256_mul_epi32(v, multiplier);
    __m256i t_odd = _mm256_mul_epi32(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(multiplier, 32));
    t_even = _mm256_add_epi64(t_even, _mm256_sllv_epi64(one, _mm256_sub_epi64(s_even, one)));
    t_odd = _mm256_add_epi64(t_odd, _mm256_sllv_epi64(one, _mm256_sub_epi64(s_odd, one)));
    t_even = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, t_even), t_even);
    t_odd = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, t_odd), t_odd);
    __m256i y_even = _mm256_srlv_epi64(t_even, s_even);
    __m256i y_odd = _mm256_srlv_epi64(t_odd, s_odd);
    y_even = _mm256_blendv_epi8(y_even, hi, _mm256_cmpgt_epi64(y_even, hi));
    y_odd = _mm256_blendv_epi8(y_odd, hi, _mm256_cmpgt_epi64(y_odd, hi));
    return _mm256_add_epi32(_mm256_or_si256(y_even, _mm256_slli_epi64(y_odd, 32)), zero_point);
}

/// The epilogue both micro-kernels share: codes[i * kMaxLanes + 8 j + l] =
/// requantize_relu(acc[i][j] lane l + bias, multiplier, shift, zero point).
template <int MR, int NV>
__attribute__((target("avx2"))) inline void store_requantized(const __m256i (&acc)[MR][NV],
                                                              const int32_t* bias,
                                                              const int32_t* multiplier,
                                                              const int32_t* shift,
                                                              int32_t zero_point,
                                                              int32_t* codes) {
    const __m256i zp = _mm256_set1_epi32(zero_point);
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias) + j);
        const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(multiplier) + j);
        const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(shift) + j);
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + i * kMaxLanes) + j,
                                requantize_relu_avx2(acc[i][j], b, m, s, zp));
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
    const int32_t* bias = nullptr; ///< bias - zp_in * sum w, [8 NV]
    const int32_t* multiplier = nullptr;
    const int32_t* shift = nullptr;
    int32_t zero_point = 0;
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
    store_requantized<MR, NV>(acc, a.bias, a.multiplier, a.shift, a.zero_point, codes);
}

template <int NV, int... I>
constexpr std::array<QuadFn, sizeof...(I)> vnni_table(std::integer_sequence<int, I...>) {
    return {&block_vnni<I + 1, NV>...};
}
constexpr auto kVnniNv1 = vnni_table<1>(std::make_integer_sequence<int, kMaxMrNv1>{});
constexpr auto kVnniNv2 = vnni_table<2>(std::make_integer_sequence<int, kMaxMrNv2>{});
#endif

/// Kernel tables indexed by MR - 1, for MR = 1 .. max (tails use the smaller MR).
template <int NV, int... I>
constexpr std::array<BlockFn, sizeof...(I)> portable_table(std::integer_sequence<int, I...>) {
    return {&block_portable<I + 1, NV>...};
}
constexpr auto kPortableNv1 = portable_table<1>(std::make_integer_sequence<int, kMaxMrNv1>{});
constexpr auto kPortableNv2 = portable_table<2>(std::make_integer_sequence<int, kMaxMrNv2>{});

/// The portable kernel for nv output vectors and mr positions (1 <= mr <= max for nv).
BlockFn block_kernel(int nv, int mr) {
    return nv == 1 ? kPortableNv1[mr - 1] : kPortableNv2[mr - 1];
}

/// Copies [C][H][W] codes into channel pairs with a zero border (see PackedConv3x3):
/// dst[pair][y + 1][x + 1][2] = (x[2 pair] - zp, x[2 pair + 1] - zp), missing channel = 0.
void pack_input(const uint8_t* in,
                int64_t channels,
                int64_t height,
                int64_t width,
                int32_t zero_point,
                int16_t* dst) {
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
            const uint8_t* s0 = c0 + y * width;
            if (c1 != nullptr) {
                const uint8_t* s1 = c1 + y * width;
                for (int64_t x = 0; x < width; ++x) {
                    r[2 * x + 2] = static_cast<int16_t>(s0[x] - zp);
                    r[2 * x + 3] = static_cast<int16_t>(s1[x] - zp);
                }
            } else {
                for (int64_t x = 0; x < width; ++x) {
                    r[2 * x + 2] = static_cast<int16_t>(s0[x] - zp);
                    r[2 * x + 3] = 0;
                }
            }
        }
        std::fill(d + 2 * wp * (height + 1), d + 2 * wp * (height + 2), int16_t{0});
    }
}

bool cpu_has_avx2() {
    return cpu_features().avx2;
}

/// A register block's codes [position][lane] -> out [lane][position] (out points at the
/// block's first channel and position; rows `positions` apart), through `lut` if any.
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

bool cpu_has_vnni() {
    const CpuFeatures& f = cpu_features();
    return f.avx2 && f.avx512vl && f.avx512vnni;
}

bool cpu_has_zmm() {
    const CpuFeatures& f = cpu_features();
    return cpu_has_vnni() && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni;
}

/// Copies [C][H][W] codes (C <= 3) into im2col rows of `quads` quads: dst[p][4 q + r] holds
/// reduction index k = 4 q + r = ic * 9 + ky * 3 + kx, the code at (y + ky - 1, x + kx - 1)
/// of channel ic (the zero point outside the image); indices k >= 9 C hold 0 (weights 0).
/// `padded` is work memory of C (H + 2) (W + 2) bytes with 64 bytes before it (the vpermb
/// path for one channel reads rows through masked loads that start before them).
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
    if (channels == 1 && quads == 3 && detail::zmm_im2col_one_channel(padded, height, width, dst)) {
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

/// Copies [C][H][W] codes into channel quads with a border of the zero point:
/// dst[quad][y + 1][x + 1][4] = (x[4q], .., x[4q + 3]); a missing channel holds 0 (its
/// weights are 0).
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

int64_t sum_abs(const int8_t* w, int64_t n) {
    int64_t s = 0;
    for (int64_t i = 0; i < n; ++i) {
        s += std::abs(static_cast<int64_t>(w[i]));
    }
    return s;
}

void check_zero_point(int32_t zp, const std::string& what) {
    TRISEG_CHECK(zp >= 0 && zp <= 255, InputError,
                 what << " zero point must be in [0, 255], got " << zp);
}

} // namespace

const char* kernel_isa_name(KernelIsa isa) {
    switch (isa) {
    case KernelIsa::Portable:
        return "portable";
    case KernelIsa::Avx2:
        return "AVX2";
    case KernelIsa::Avx512Vnni:
        return "AVX-512 VNNI";
    case KernelIsa::Avx512Zmm:
        return "AVX-512 VNNI zmm";
    }
    return "unknown";
}

KernelIsa parse_kernel_isa_cap(const char* value) {
    const std::string v = value == nullptr ? "" : value;
    if (v.empty() || v == "avx512zmm") {
        return KernelIsa::Avx512Zmm;
    }
    if (v == "avx512vnni") {
        return KernelIsa::Avx512Vnni;
    }
    if (v == "avx2") {
        return KernelIsa::Avx2;
    }
    TRISEG_CHECK(
        v == "portable", ConfigError,
        "TRISEG_KERNEL_ISA must be portable, avx2, avx512vnni or avx512zmm (or unset), got '"
            << v << "'");
    return KernelIsa::Portable;
}

bool kernel_isa_supported(KernelIsa isa) {
    static const KernelIsa cap = parse_kernel_isa_cap(std::getenv("TRISEG_KERNEL_ISA"));
    if (static_cast<int>(isa) > static_cast<int>(cap)) {
        return false;
    }
    return isa == KernelIsa::Portable || (isa == KernelIsa::Avx2 && cpu_has_avx2()) ||
           (isa == KernelIsa::Avx512Vnni && cpu_has_vnni()) ||
           (isa == KernelIsa::Avx512Zmm && cpu_has_zmm());
}

KernelIsa best_kernel_isa() {
    if (kernel_isa_supported(KernelIsa::Avx512Zmm)) {
        return KernelIsa::Avx512Zmm;
    }
    if (kernel_isa_supported(KernelIsa::Avx512Vnni)) {
        return KernelIsa::Avx512Vnni;
    }
    return kernel_isa_supported(KernelIsa::Avx2) ? KernelIsa::Avx2 : KernelIsa::Portable;
}

void validate_int8_conv(const models::Int8ConvLayer& layer) {
    const std::string& n = layer.name;
    const int64_t cin = layer.in_channels;
    const int64_t cout = layer.out_channels;
    TRISEG_CHECK(cin >= 1 && cout >= 1, InputError,
                 "int8 layer '" << n << "' has " << cin << " input and " << cout
                                << " output channels; both must be >= 1");
    const auto check_size = [&](std::size_t got, int64_t want, const char* field) {
        TRISEG_CHECK(static_cast<int64_t>(got) == want, InputError,
                     "int8 layer '" << n << "': " << field << " has " << got
                                    << " entries, expected " << want);
    };
    check_size(layer.weight.size(), cout * cin * kTaps, "weight [out][in][3][3]");
    check_size(layer.weight_scale.size(), cout, "weight_scale");
    check_size(layer.bias.size(), cout, "bias");
    check_size(layer.multiplier.size(), cout, "multiplier");
    check_size(layer.shift.size(), cout, "shift");
    check_zero_point(layer.input.zero_point, "int8 layer '" + n + "': input");
    check_zero_point(layer.output.zero_point, "int8 layer '" + n + "': output");
    const int64_t dist =
        std::max<int64_t>(layer.input.zero_point, kMaxCodeDistance - layer.input.zero_point);
    for (int64_t oc = 0; oc < cout; ++oc) {
        const int32_t m = layer.multiplier[oc];
        const int32_t s = layer.shift[oc];
        TRISEG_CHECK(m >= (int32_t{1} << 30), InputError,
                     "int8 layer '" << n << "': multiplier[" << oc << "] = " << m
                                    << " is outside [2^30, 2^31)");
        TRISEG_CHECK(s >= 1 && s <= 62, InputError,
                     "int8 layer '" << n << "': shift[" << oc << "] = " << s
                                    << " is outside [1, 62]");
        const int64_t bound = std::abs(static_cast<int64_t>(layer.bias[oc])) +
                              dist * sum_abs(layer.weight.data() + oc * cin * kTaps, cin * kTaps);
        TRISEG_CHECK(bound <= INT32_MAX, InputError,
                     "int8 layer '" << n << "': output channel " << oc
                                    << " can overflow the int32 accumulator (|bias| + max |x| * "
                                    << "sum |w| = " << bound << ")");
    }
}

void validate_int8_linear(const models::Int8LinearLayer& layer) {
    const int64_t in = layer.in_features;
    const int64_t out = layer.out_features;
    TRISEG_CHECK(in >= 1 && out >= 1, InputError,
                 "int8 classifier has " << in << " input and " << out
                                        << " output features; both must be >= 1");
    const auto check_size = [&](std::size_t got, int64_t want, const char* field) {
        TRISEG_CHECK(static_cast<int64_t>(got) == want, InputError,
                     "int8 classifier: " << field << " has " << got << " entries, expected "
                                         << want);
    };
    check_size(layer.weight.size(), out * in, "weight [out][in]");
    check_size(layer.weight_scale.size(), out, "weight_scale");
    check_size(layer.bias.size(), out, "bias");
    check_zero_point(layer.input.zero_point, "int8 classifier: input");
    const int64_t dist =
        std::max<int64_t>(layer.input.zero_point, kMaxCodeDistance - layer.input.zero_point);
    for (int64_t o = 0; o < out; ++o) {
        const int64_t bound = std::abs(static_cast<int64_t>(layer.bias[o])) +
                              dist * sum_abs(layer.weight.data() + o * in, in);
        TRISEG_CHECK(bound <= INT32_MAX, InputError,
                     "int8 classifier: output " << o << " can overflow the int32 accumulator "
                                                << "(|bias| + max |x| * sum |w| = " << bound
                                                << ")");
    }
}

PackedConv3x3::PackedConv3x3(const models::Int8ConvLayer& layer)
    : name_(layer.name), in_channels_(layer.in_channels), out_channels_(layer.out_channels),
      in_zero_point_(layer.input.zero_point), out_zero_point_(layer.output.zero_point) {
    validate_int8_conv(layer);
    channel_pairs_ = (in_channels_ + 1) / 2;
    // Requantization per lane, padded to whole vectors with harmless values (M = 2^-1).
    const int64_t vectors = (out_channels_ + kLanes - 1) / kLanes;
    bias_.assign(vectors * kLanes, 0);
    multiplier_.assign(vectors * kLanes, int32_t{1} << 30);
    shift_.assign(vectors * kLanes, 1);
    std::copy(layer.bias.begin(), layer.bias.end(), bias_.begin());
    std::copy(layer.multiplier.begin(), layer.multiplier.end(), multiplier_.begin());
    std::copy(layer.shift.begin(), layer.shift.end(), shift_.begin());
    // Blocks of two vectors (16 output channels), then one vector for an odd remainder.
    const int64_t block_size = channel_pairs_ * kTaps * 2; // int16 per lane
    for (int64_t v = 0; v < vectors;) {
        const int nv = vectors - v >= 2 ? 2 : 1;
        blocks_.push_back({v * kLanes, nv, static_cast<int64_t>(weights_.size())});
        weights_.resize(weights_.size() + block_size * kLanes * nv, 0);
        v += nv;
    }
    for (const OcBlock& b : blocks_) {
        const int64_t lanes = kLanes * b.nv;
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            const int64_t oc = b.oc0 + l;
            for (int64_t ic = 0; ic < in_channels_; ++ic) {
                for (int t = 0; t < kTaps; ++t) {
                    const int64_t step = (ic / 2) * kTaps + t; // [pair][ky][kx]
                    weights_[b.offset + (step * lanes + l) * 2 + ic % 2] =
                        layer.weight[(oc * in_channels_ + ic) * kTaps + t];
                }
            }
        }
    }
    // VNNI packing: the same blocks with int8 quads, and bias - zp_in * sum w per lane.
    // The kernel sums w * x over raw codes x; in int32 that sum may wrap, but only
    // additions follow, so the result is exact modulo 2^32, and the true final value
    // bias + sum w (x - zp_in) fits int32 (validate_int8_conv): it comes out exactly.
    channel_quads_ = (in_channels_ + 3) / 4;
    const int64_t quad_block = channel_quads_ * kTaps * 4; // int8 per lane
    bias_q_ = bias_;
    int64_t offset_q = 0;
    for (const OcBlock& b : blocks_) {
        const int64_t lanes = kLanes * b.nv;
        weights_q_.resize(weights_q_.size() + quad_block * lanes, 0);
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            const int64_t oc = b.oc0 + l;
            int64_t sum = 0;
            for (int64_t ic = 0; ic < in_channels_; ++ic) {
                for (int t = 0; t < kTaps; ++t) {
                    const int8_t w = layer.weight[(oc * in_channels_ + ic) * kTaps + t];
                    const int64_t step = (ic / 4) * kTaps + t; // [quad][ky][kx]
                    weights_q_[offset_q + (step * lanes + l) * 4 + ic % 4] = w;
                    sum += w;
                }
            }
            const int64_t corrected = bias_[oc] - static_cast<int64_t>(in_zero_point_) * sum;
            bias_q_[oc] = static_cast<int32_t>(static_cast<uint32_t>(corrected)); // mod 2^32
        }
        offset_q += quad_block * lanes;
    }
    pack_zmm(layer);
    pack_ymm(layer);
}

void PackedConv3x3::pack_ymm(const models::Int8ConvLayer& layer) {
    const int64_t vectors = (out_channels_ + kLanes - 1) / kLanes;
    requant_y_.assign(vectors * detail::kYmmRequantInts, 0);
    for (int64_t v = 0; v < vectors; ++v) {
        detail::make_ymm_requant(bias_.data() + v * kLanes, multiplier_.data() + v * kLanes,
                                 shift_.data() + v * kLanes, out_zero_point_,
                                 requant_y_.data() + v * detail::kYmmRequantInts);
    }
    if (!im2col_) {
        return; // the 3x3 form uses weights_
    }
    im2col_pairs_ = (in_channels_ * kTaps + 1) / 2;
    for (const OcBlock& b : blocks_) {
        const int64_t lanes = kLanes * b.nv;
        const auto offset = static_cast<int64_t>(weights_y_.size());
        weights_y_.resize(weights_y_.size() + 2 * im2col_pairs_ * lanes, 0);
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            const int64_t oc = b.oc0 + l;
            for (int64_t k = 0; k < in_channels_ * kTaps; ++k) { // k = ic * 9 + tap
                weights_y_[offset + ((k / 2) * lanes + l) * 2 + k % 2] =
                    layer.weight[oc * in_channels_ * kTaps + k];
            }
        }
    }
}

void PackedConv3x3::pack_zmm(const models::Int8ConvLayer& layer) {
    constexpr int64_t kZ = detail::kZmmLanes;
    im2col_ = in_channels_ <= 3;
    im2col_quads_ = (in_channels_ * kTaps + 3) / 4;
    // Blocks of 4 vectors (64 channels); a remainder of 3 is padded to 4, of 2 or 1 kept.
    const int64_t vectors = (out_channels_ + kZ - 1) / kZ;
    const int64_t per_lane = im2col_ ? 4 * im2col_quads_ : 4 * channel_quads_ * kTaps;
    for (int64_t v = 0; v < vectors;) {
        const int64_t left = vectors - v;
        const int nv = left >= 3 ? 4 : static_cast<int>(left);
        blocks_z_.push_back({v * kZ, nv, static_cast<int64_t>(weights_z_.size())});
        weights_z_.resize(weights_z_.size() + per_lane * kZ * nv, 0);
        v += nv;
    }
    const int64_t padded = blocks_z_.back().oc0 + kZ * blocks_z_.back().nv;
    bias_z_.assign(padded, 0);
    multiplier_z_.assign(padded, int32_t{1} << 30);
    shift_z_.assign(padded, 1);
    std::copy(bias_q_.begin(), bias_q_.begin() + out_channels_, bias_z_.begin());
    std::copy(layer.multiplier.begin(), layer.multiplier.end(), multiplier_z_.begin());
    std::copy(layer.shift.begin(), layer.shift.end(), shift_z_.begin());
    for (const ZmmBlock& b : blocks_z_) {
        const int64_t lanes = kZ * b.nv;
        for (int64_t l = 0; l < lanes && b.oc0 + l < out_channels_; ++l) {
            const int64_t oc = b.oc0 + l;
            for (int64_t ic = 0; ic < in_channels_; ++ic) {
                for (int t = 0; t < kTaps; ++t) {
                    const int8_t w = layer.weight[(oc * in_channels_ + ic) * kTaps + t];
                    const int64_t k = ic * kTaps + t; // im2col reduction index
                    const int64_t step = im2col_ ? k / 4 : (ic / 4) * kTaps + t;
                    const int64_t r = im2col_ ? k % 4 : ic % 4;
                    weights_z_[b.offset + (step * lanes + l) * 4 + r] = w;
                }
            }
        }
    }
}

void PackedConv3x3::run(const uint8_t* in,
                        int64_t height,
                        int64_t width,
                        uint8_t* out,
                        const uint8_t* lut,
                        std::vector<int16_t>& scratch) const {
    run_with(best_kernel_isa(), in, height, width, out, lut, scratch);
}

void PackedConv3x3::run_with(KernelIsa isa,
                             const uint8_t* in,
                             int64_t height,
                             int64_t width,
                             uint8_t* out,
                             const uint8_t* lut,
                             std::vector<int16_t>& scratch) const {
    TRISEG_CHECK(kernel_isa_supported(isa), InputError,
                 "int8 layer '" << name_ << "': this CPU cannot run the requested kernel ("
                                << kernel_isa_name(isa) << ")");
    TRISEG_CHECK(height >= 1 && width >= 1, InputError,
                 "int8 layer '" << name_ << "': image size " << height << "x" << width
                                << " must be at least 1x1");
    if (isa == KernelIsa::Avx512Vnni) {
        run_vnni(in, height, width, out, lut, scratch);
        return;
    }
    if (isa == KernelIsa::Avx512Zmm) {
        run_zmm(in, height, width, out, lut, scratch);
        return;
    }
    if (isa == KernelIsa::Avx2) {
        run_avx2(in, height, width, out, lut, scratch);
        return;
    }
    const int64_t row_stride = 2 * (width + 2);
    const int64_t pair_stride = row_stride * (height + 2);
    const auto need = static_cast<std::size_t>(channel_pairs_ * pair_stride);
    if (scratch.size() < need) {
        scratch.resize(need);
    }
    pack_input(in, in_channels_, height, width, in_zero_point_, scratch.data());

    const int64_t positions = height * width;
    BlockArgs args;
    args.pair_stride = pair_stride;
    args.row_stride = row_stride;
    args.pairs = channel_pairs_;
    args.zero_point = out_zero_point_;
    alignas(32) int32_t codes[kMaxMrNv1 * kMaxLanes];
    for (const OcBlock& b : blocks_) {
        args.weights = weights_.data() + b.offset;
        args.bias = bias_.data() + b.oc0;
        args.multiplier = multiplier_.data() + b.oc0;
        args.shift = shift_.data() + b.oc0;
        const int max_mr = b.nv == 1 ? kMaxMrNv1 : kMaxMrNv2;
        const int64_t lanes = std::min<int64_t>(kLanes * b.nv, out_channels_ - b.oc0);
        int64_t y = 0; // row and column of position p0
        int64_t x = 0;
        for (int64_t p0 = 0; p0 < positions; p0 += max_mr) {
            const int mr = static_cast<int>(std::min<int64_t>(max_mr, positions - p0));
            for (int i = 0; i < mr; ++i) {
                args.px[i] = scratch.data() + y * row_stride + 2 * x;
                if (++x == width) {
                    x = 0;
                    ++y;
                }
            }
            block_kernel(b.nv, mr)(args, codes);
            store_block(codes, mr, lanes, out + b.oc0 * positions + p0, positions, lut);
        }
    }
}

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
    pack_input_quads(in, in_channels_, height, width, in_zero_point_, packed);

    const int64_t positions = height * width;
    QuadArgs args;
    args.quad_stride = quad_stride;
    args.row_stride = row_stride;
    args.quads = channel_quads_;
    args.zero_point = out_zero_point_;
    alignas(32) int32_t codes[kMaxMrNv1 * kMaxLanes];
    int64_t offset_q = 0;
    for (const OcBlock& b : blocks_) {
        args.weights = weights_q_.data() + offset_q;
        offset_q += channel_quads_ * kTaps * 4 * kLanes * b.nv;
        args.bias = bias_q_.data() + b.oc0;
        args.multiplier = multiplier_.data() + b.oc0;
        args.shift = shift_.data() + b.oc0;
        const int max_mr = b.nv == 1 ? kMaxMrNv1 : kMaxMrNv2;
        const int64_t lanes = std::min<int64_t>(kLanes * b.nv, out_channels_ - b.oc0);
        int64_t y = 0;
        int64_t x = 0;
        for (int64_t p0 = 0; p0 < positions; p0 += max_mr) {
            const int mr = static_cast<int>(std::min<int64_t>(max_mr, positions - p0));
            for (int i = 0; i < mr; ++i) {
                args.px[i] = packed + y * row_stride + 4 * x;
                if (++x == width) {
                    x = 0;
                    ++y;
                }
            }
            (b.nv == 1 ? kVnniNv1[mr - 1] : kVnniNv2[mr - 1])(args, codes);
            store_block(codes, mr, lanes, out + b.oc0 * positions + p0, positions, lut);
        }
    }
#else
    (void)in, (void)height, (void)width, (void)out, (void)lut, (void)scratch;
    TRISEG_THROW(InputError, "the VNNI kernel needs an x86-64 build");
#endif
}

void PackedConv3x3::run_avx2(const uint8_t* in,
                             int64_t height,
                             int64_t width,
                             uint8_t* out,
                             const uint8_t* lut,
                             std::vector<int16_t>& scratch) const {
    const int64_t positions = height * width;
    detail::YmmBlockArgs args;
    args.zero_point = out_zero_point_;
    int64_t row_stride = 0; // int16 elements between rows of a pair plane (3x3 form)
    std::size_t need = 0;
    const int64_t planes = in_channels_ * (height + 2) * (width + 2) + 4;
    if (im2col_) { // the padded planes (with slack), then the rows (and 4 values of slack)
        need = static_cast<std::size_t>(positions * 2 * im2col_pairs_ + 4 + planes);
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
        const int max_mr = detail::ymm_max_mr(b.nv);
        const int64_t lanes = std::min<int64_t>(kLanes * b.nv, out_channels_ - b.oc0);
        for (int64_t g = 0; g < positions; g += detail::kYmmGroup) {
            const int64_t g0 =
                positions >= detail::kYmmGroup ? std::min(g, positions - detail::kYmmGroup) : g;
            const int group =
                static_cast<int>(std::min<int64_t>(detail::kYmmGroup, positions - g0));
            int64_t y = g0 / width;
            int64_t x = g0 % width;
            for (int s0 = 0; s0 < group; s0 += max_mr) {
                const int mr = std::min(max_mr, group - s0);
                for (int i = 0; i < mr; ++i) {
                    args.px[i] = im2col_ ? packed + (g0 + s0 + i) * 2 * im2col_pairs_
                                         : packed + y * row_stride + 2 * x;
                    if (++x == width) {
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

void PackedConv3x3::run_zmm(const uint8_t* in,
                            int64_t height,
                            int64_t width,
                            uint8_t* out,
                            const uint8_t* lut,
                            std::vector<int16_t>& scratch) const {
    const int64_t positions = height * width;
    detail::ZmmBlockArgs args;
    args.zero_point = out_zero_point_;
    int64_t row_stride = 0; // of the quad planes (3x3 form)
    std::size_t bytes = 0;
    if (im2col_) { // the rows, then the padded input planes
        bytes = static_cast<std::size_t>(positions * 4 * im2col_quads_ + 64 +
                                         in_channels_ * (height + 2) * (width + 2));
    } else {
        row_stride = 4 * (width + 2);
        bytes = static_cast<std::size_t>(channel_quads_ * row_stride * (height + 2));
    }
    if (scratch.size() * sizeof(int16_t) < bytes) {
        scratch.resize((bytes + 1) / 2);
    }
    auto* packed = reinterpret_cast<uint8_t*>(scratch.data());
    int taps = kTaps;
    if (im2col_) {
        pack_im2col(in, in_channels_, height, width, in_zero_point_, im2col_quads_, packed,
                    packed + positions * 4 * im2col_quads_ + 64);
        taps = 1;
        args.quads = im2col_quads_;
        args.quad_stride = 4;
        args.tap_offset[0] = 0;
    } else {
        pack_input_quads(in, in_channels_, height, width, in_zero_point_, packed);
        args.quads = channel_quads_;
        args.quad_stride = row_stride * (height + 2);
        for (int t = 0; t < kTaps; ++t) {
            args.tap_offset[t] = (t / 3) * row_stride + 4 * (t % 3);
        }
    }
    // Per block of output channels, groups of 16 positions: micro-kernel blocks fill the
    // group's code tile, which is then stored transposed into [C_out][H][W].
    alignas(64) uint8_t tile[detail::kZmmGroup * detail::kZmmTileRow] = {};
    for (const ZmmBlock& b : blocks_z_) {
        args.weights = weights_z_.data() + b.offset;
        args.bias = bias_z_.data() + b.oc0;
        args.multiplier = multiplier_z_.data() + b.oc0;
        args.shift = shift_z_.data() + b.oc0;
        const int max_mr = detail::zmm_max_mr(b.nv);
        const int64_t lanes = std::min<int64_t>(detail::kZmmLanes * b.nv, out_channels_ - b.oc0);
        int64_t y = 0;
        int64_t x = 0;
        for (int64_t g0 = 0; g0 < positions; g0 += detail::kZmmGroup) {
            const int group =
                static_cast<int>(std::min<int64_t>(detail::kZmmGroup, positions - g0));
            for (int s0 = 0; s0 < group; s0 += max_mr) {
                const int mr = std::min(max_mr, group - s0);
                for (int i = 0; i < mr; ++i) {
                    args.px[i] = im2col_ ? packed + (g0 + s0 + i) * 4 * im2col_quads_
                                         : packed + y * row_stride + 4 * x;
                    if (++x == width) {
                        x = 0;
                        ++y;
                    }
                }
                detail::zmm_block(taps, b.nv, mr, args, tile + s0 * detail::kZmmTileRow);
            }
            detail::zmm_store_transposed(tile, group, lanes, out + b.oc0 * positions + g0,
                                         positions, lut);
        }
    }
}

void maxpool2x2_u8(
    const uint8_t* in, int64_t channels, int64_t height, int64_t width, uint8_t* out) {
    TRISEG_CHECK(channels >= 1 && height >= 2 && width >= 2 && height % 2 == 0 && width % 2 == 0,
                 InputError,
                 "2x2 max-pool needs >= 1 channel and an even size >= 2x2, got "
                     << channels << " channels of " << height << "x" << width);
    const int64_t ho = height / 2;
    const int64_t wo = width / 2;
    for (int64_t c = 0; c < channels; ++c) {
        for (int64_t y = 0; y < ho; ++y) {
            const uint8_t* r0 = in + (c * height + 2 * y) * width;
            const uint8_t* r1 = r0 + width;
            uint8_t* o = out + (c * ho + y) * wo;
            for (int64_t x = 0; x < wo; ++x) {
                const uint8_t a = std::max(r0[2 * x], r0[2 * x + 1]);
                const uint8_t b = std::max(r1[2 * x], r1[2 * x + 1]);
                o[x] = std::max(a, b);
            }
        }
    }
}

void linear_u8(const models::Int8LinearLayer& layer, const uint8_t* x, float* logits) {
    validate_int8_linear(layer);
    linear_u8_prevalidated(layer, x, logits);
}

void linear_u8_prevalidated(const models::Int8LinearLayer& layer, const uint8_t* x, float* logits) {
    const int64_t in = layer.in_features;
    const int32_t zp = layer.input.zero_point;
    for (int64_t o = 0; o < layer.out_features; ++o) {
        const int8_t* w = layer.weight.data() + o * in;
        int32_t acc = 0; // cannot overflow: validate_int8_linear bounds it
        for (int64_t i = 0; i < in; ++i) {
            acc += static_cast<int32_t>(w[i]) * (static_cast<int32_t>(x[i]) - zp);
        }
        acc += layer.bias[o];
        logits[o] =
            static_cast<float>(static_cast<double>(acc) * static_cast<double>(layer.input.scale) *
                               static_cast<double>(layer.weight_scale[o]));
    }
}

void quantize_input(const float* x, int64_t count, models::QuantParams q, uint8_t* out) {
    // A normal scale: 1 / scale of a denormal is inf, and NaN codes are undefined behaviour.
    TRISEG_CHECK(std::isnormal(q.scale) && q.scale > 0.0f, InputError,
                 "input quantization scale must be a normal float > 0, got " << q.scale);
    check_zero_point(q.zero_point, "input quantization");
    const float inv = 1.0f / q.scale;
    const auto zp = static_cast<float>(q.zero_point);
    for (int64_t i = 0; i < count; ++i) {
        TRISEG_CHECK(!std::isnan(x[i]), InputError,
                     "input image value " << i << " is NaN; cannot quantize it");
        float v = std::nearbyint(x[i] * inv) + zp;
        v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
        out[i] = static_cast<uint8_t>(v);
    }
}

} // namespace triseg::engine
