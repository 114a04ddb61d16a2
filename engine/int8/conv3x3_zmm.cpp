// The 512-bit VNNI conv kernel of PackedConv3x3: its micro-kernels (see conv3x3_zmm.h) and
// PackedConv3x3::run_zmm.
#include "engine/int8/conv3x3_zmm.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRISEG_ZMM_X86 1
#else
#define TRISEG_ZMM_X86 0
#endif

#include "common/error.h"
#include "engine/int8/conv3x3_layout.h"
#include "engine/int8/cpu_features.h"
#include "engine/int8/int8_kernels.h"

// GCC 12's avx512fintrin.h seeds its _mm512_undefined_* values with themselves, which
// -W(maybe-)uninitialized reports inside every unmasked intrinsic (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace triseg::engine::detail {
namespace {

#if TRISEG_ZMM_X86
#define TRISEG_ZMM_TARGET __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))

using ZmmFn = void (*)(const ZmmBlockArgs&, uint8_t*);

inline int32_t load_quad(const uint8_t* p) {
    int32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

/// Per-lane requantization constants of one output vector.
struct Requant {
    __m512i bias, mul_even, mul_odd, shift_even, shift_odd, round_even, round_odd, lo, hi, zp;
};

TRISEG_ZMM_TARGET inline Requant make_requant(const int32_t* bias,
                                              const int32_t* multiplier,
                                              const int32_t* shift,
                                              int32_t zero_point,
                                              int32_t clamp_min,
                                              int32_t clamp_max) {
    const __m512i low32 = _mm512_set1_epi64(0xFFFFFFFF);
    const __m512i one = _mm512_set1_epi64(1);
    const __m512i m = _mm512_loadu_si512(multiplier);
    const __m512i s = _mm512_loadu_si512(shift);
    Requant r;
    r.bias = _mm512_loadu_si512(bias);
    r.mul_even = m;
    r.mul_odd = _mm512_srli_epi64(m, 32);
    r.shift_even = _mm512_and_si512(s, low32);
    r.shift_odd = _mm512_srli_epi64(s, 32);
    r.round_even = _mm512_sllv_epi64(one, _mm512_sub_epi64(r.shift_even, one));
    r.round_odd = _mm512_sllv_epi64(one, _mm512_sub_epi64(r.shift_odd, one));
    r.lo = _mm512_set1_epi64(clamp_min - zero_point);
    r.hi = _mm512_set1_epi64(clamp_max - zero_point);
    r.zp = _mm512_set1_epi32(zero_point);
    return r;
}

/// The code on 16 lanes, exactly: v = acc + bias (mod 2^32, the true value fits);
/// y = (v * M + 2^(s-1)) >> s in int64 (arithmetic), clamped to [clamp_min - zp,
/// clamp_max - zp], + zp; as bytes.
TRISEG_ZMM_TARGET inline __m128i requantize(__m512i acc, const Requant& r) {
    const __m512i v = _mm512_add_epi32(acc, r.bias);
    __m512i t_even = _mm512_add_epi64(_mm512_mul_epi32(v, r.mul_even), r.round_even);
    __m512i t_odd =
        _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(v, 32), r.mul_odd), r.round_odd);
    t_even = _mm512_srav_epi64(t_even, r.shift_even);
    t_odd = _mm512_srav_epi64(t_odd, r.shift_odd);
    t_even = _mm512_min_epi64(_mm512_max_epi64(t_even, r.lo), r.hi);
    t_odd = _mm512_min_epi64(_mm512_max_epi64(t_odd, r.lo), r.hi);
    // The even lanes' high halves may hold sign bits (clamp_min < zp): blend, not or.
    const __m512i y = _mm512_add_epi32(
        _mm512_mask_blend_epi32(0xAAAA, t_even, _mm512_slli_epi64(t_odd, 32)), r.zp);
    return _mm512_cvtepi32_epi8(y);
}

/// The micro-kernel: per (quad, tap), NV weight vectors times MR broadcast pixel quads;
/// _mm512_dpbusd_epi32 adds x0 w0 + .. + x3 w3 (u8 x s8) to each int32 lane, wrapping.
template <int MR, int NV, int TAPS>
TRISEG_ZMM_TARGET void zmm_kernel(const ZmmBlockArgs& a, uint8_t* tile) {
    __m512i acc[MR][NV];
#pragma GCC unroll 24
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) {
            acc[i][j] = _mm512_setzero_si512();
        }
    }
    const uint8_t* px[MR];
#pragma GCC unroll 24
    for (int i = 0; i < MR; ++i) {
        px[i] = a.px[i];
    }
    int64_t off[TAPS];
#pragma GCC unroll 9
    for (int t = 0; t < TAPS; ++t) {
        off[t] = a.tap_offset[t];
    }
    const int8_t* w = a.weights;
    if constexpr (TAPS == 1) {
        // One tap (im2col rows, 1x1 convs): one running offset instead of MR pointer steps
        // per quad.
        int64_t qoff = off[0];
        for (int64_t q = 0; q < a.quads; ++q, w += 4 * kZmmLanes * NV, qoff += a.quad_stride) {
            __m512i wv[NV];
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) {
                wv[j] = _mm512_loadu_si512(w + 64 * j);
            }
#pragma GCC unroll 24
            for (int i = 0; i < MR; ++i) {
                const __m512i x = _mm512_set1_epi32(load_quad(px[i] + qoff));
#pragma GCC unroll 4
                for (int j = 0; j < NV; ++j) {
                    acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], x, wv[j]);
                }
            }
            // Keeps the accumulators in registers: without it GCC 12 copies each one to the
            // stack on every trip of this one-tap loop (half the speed).
#pragma GCC unroll 24
            for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
                for (int j = 0; j < NV; ++j) {
                    __asm__("" : "+v"(acc[i][j]));
                }
            }
        }
    } else {
        for (int64_t q = 0; q < a.quads; ++q) {
#pragma GCC unroll 9
            for (int t = 0; t < TAPS; ++t, w += 4 * kZmmLanes * NV) {
                __m512i wv[NV];
#pragma GCC unroll 4
                for (int j = 0; j < NV; ++j) {
                    wv[j] = _mm512_loadu_si512(w + 64 * j);
                }
#pragma GCC unroll 24
                for (int i = 0; i < MR; ++i) {
                    const __m512i x = _mm512_set1_epi32(load_quad(px[i] + off[t]));
#pragma GCC unroll 4
                    for (int j = 0; j < NV; ++j) {
                        acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], x, wv[j]);
                    }
                }
            }
#pragma GCC unroll 24
            for (int i = 0; i < MR; ++i) {
                px[i] += a.quad_stride;
            }
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
        const Requant r =
            make_requant(a.bias + kZmmLanes * j, a.multiplier + kZmmLanes * j,
                         a.shift + kZmmLanes * j, a.zero_point, a.clamp_min, a.clamp_max);
#pragma GCC unroll 24
        for (int i = 0; i < MR; ++i) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(tile + i * kZmmTileRow + kZmmLanes * j),
                             requantize(acc[i][j], r));
        }
    }
}

/// The 256-entry table on 64 codes: vpermt2b looks up the low 7 bits in each half of the
/// table; bit 7 picks the half.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void
lut_rows_vbmi(const uint8_t* tile, const uint8_t* lut, uint8_t* dst) {
    const __m512i t0 = _mm512_loadu_si512(lut);
    const __m512i t1 = _mm512_loadu_si512(lut + 64);
    const __m512i t2 = _mm512_loadu_si512(lut + 128);
    const __m512i t3 = _mm512_loadu_si512(lut + 192);
    for (int i = 0; i < kZmmGroup; ++i) {
        const __m512i x = _mm512_loadu_si512(tile + i * kZmmTileRow);
        const __m512i lo = _mm512_permutex2var_epi8(t0, x, t1);
        const __m512i hi = _mm512_permutex2var_epi8(t2, x, t3);
        _mm512_storeu_si512(dst + i * kZmmTileRow,
                            _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi));
    }
}

bool cpu_has_vbmi() {
    return cpu_features().avx512vbmi;
}

/// vpermb indices and zero masks of zmm_im2col_one_channel: output byte 12 i + k of 16
/// positions (3 vectors) takes source byte 18 (k / 3) + i + k % 3 (row k / 3 at 18-byte
/// offsets in the source vector) for k < 9, and 0 for k >= 9.
struct Im2colTables {
    alignas(64) uint8_t index[3][64] = {};
    uint64_t keep[3] = {};
    Im2colTables() {
        for (int b = 0; b < 192; ++b) {
            const int i = b / 12;
            const int k = b % 12;
            if (k < 9) {
                index[b / 64][b % 64] = static_cast<uint8_t>(18 * (k / 3) + i + k % 3);
                keep[b / 64] |= uint64_t{1} << (b % 64);
            }
        }
    }
};

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void
im2col_c1_vbmi(const uint8_t* padded, int64_t height, int64_t width, uint8_t* dst) {
    static const Im2colTables t;
    const int64_t wp = width + 2;
    __m512i idx[3];
    for (int c = 0; c < 3; ++c) {
        idx[c] = _mm512_load_si512(t.index[c]);
    }
    for (int64_t y = 0; y < height; ++y) {
        const uint8_t* r0 = padded + y * wp;
        for (int64_t x0 = 0; x0 < width; x0 += 16) {
            const int64_t n = std::min<int64_t>(16, width - x0);
            const uint64_t m = (uint64_t{1} << (n + 2)) - 1; // source bytes 0 .. n + 1 of a row
            __m512i src = _mm512_maskz_loadu_epi8(m, r0 + x0);
            src = _mm512_mask_loadu_epi8(src, m << 18, r0 + wp + x0 - 18);
            src = _mm512_mask_loadu_epi8(src, m << 36, r0 + 2 * wp + x0 - 36);
            uint8_t* d = dst + (y * width + x0) * 12;
            const int64_t bytes = 12 * n;
            for (int c = 0; c < 3 && 64 * c < bytes; ++c) {
                const int64_t left = bytes - 64 * c;
                const uint64_t store = left >= 64 ? ~uint64_t{0} : (uint64_t{1} << left) - 1;
                _mm512_mask_storeu_epi8(d + 64 * c, store,
                                        _mm512_maskz_permutexvar_epi8(t.keep[c], idx[c], src));
            }
        }
    }
}

template <int J> TRISEG_ZMM_TARGET inline void store_lane(__m512i v, __mmask16 mask, uint8_t* out) {
    _mm_mask_storeu_epi8(out, mask, _mm512_extracti32x4_epi32(v, J));
}

TRISEG_ZMM_TARGET void
store_transposed(const uint8_t* tile, int npos, int64_t lanes, uint8_t* out, int64_t stride) {
    __m512i r[16];
    __m512i t[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
        r[i] = _mm512_loadu_si512(tile + i * kZmmTileRow);
    }
    // Four unpack stages within each 128-bit lane: afterwards r[c] lane j holds lane
    // (16 j + c) of positions 0..15, in order.
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
        t[k] = _mm512_unpacklo_epi8(r[2 * k], r[2 * k + 1]);
        t[k + 8] = _mm512_unpackhi_epi8(r[2 * k], r[2 * k + 1]);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 16; h += 8) {
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
            r[h + k] = _mm512_unpacklo_epi16(t[h + 2 * k], t[h + 2 * k + 1]);
            r[h + k + 4] = _mm512_unpackhi_epi16(t[h + 2 * k], t[h + 2 * k + 1]);
        }
    }
#pragma GCC unroll 4
    for (int g = 0; g < 16; g += 4) {
#pragma GCC unroll 2
        for (int k = 0; k < 2; ++k) {
            t[g + k] = _mm512_unpacklo_epi32(r[g + 2 * k], r[g + 2 * k + 1]);
            t[g + k + 2] = _mm512_unpackhi_epi32(r[g + 2 * k], r[g + 2 * k + 1]);
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < 8; ++m) {
        r[2 * m] = _mm512_unpacklo_epi64(t[2 * m], t[2 * m + 1]);
        r[2 * m + 1] = _mm512_unpackhi_epi64(t[2 * m], t[2 * m + 1]);
    }
    const auto mask = static_cast<__mmask16>((1U << npos) - 1U);
    for (int64_t l = 0; l < lanes; ++l) {
        const __m512i v = r[l % 16];
        uint8_t* o = out + l * stride;
        switch (l / 16) {
        case 0:
            store_lane<0>(v, mask, o);
            break;
        case 1:
            store_lane<1>(v, mask, o);
            break;
        case 2:
            store_lane<2>(v, mask, o);
            break;
        default:
            store_lane<3>(v, mask, o);
        }
    }
}

template <int NV, int TAPS, int... I>
constexpr std::array<ZmmFn, sizeof...(I)> zmm_table(std::integer_sequence<int, I...>) {
    return {&zmm_kernel<I + 1, NV, TAPS>...};
}
template <int NV, int TAPS>
constexpr auto kZmm = zmm_table<NV, TAPS>(std::make_integer_sequence<int, zmm_max_mr(NV)>{});

template <int TAPS> ZmmFn zmm_pick(int nv, int mr) {
    switch (nv) {
    case 1:
        return kZmm<1, TAPS>[mr - 1];
    case 2:
        return kZmm<2, TAPS>[mr - 1];
    default:
        return kZmm<4, TAPS>[mr - 1];
    }
}
#endif

} // namespace

void zmm_block(int taps, int nv, int mr, const ZmmBlockArgs& args, uint8_t* tile) {
#if TRISEG_ZMM_X86
    TRISEG_CHECK((taps == 9 || taps == 1) && (nv == 1 || nv == 2 || nv == 4) && mr >= 1 &&
                     mr <= zmm_max_mr(nv),
                 InputError,
                 "zmm conv block: taps " << taps << ", nv " << nv << ", mr " << mr
                                         << " is not a compiled kernel");
    (taps == 9 ? zmm_pick<9>(nv, mr) : zmm_pick<1>(nv, mr))(args, tile);
#else
    (void)taps, (void)nv, (void)mr, (void)args, (void)tile;
    TRISEG_THROW(InputError, "the zmm VNNI kernel needs an x86-64 build");
#endif
}

bool zmm_im2col_one_channel(const uint8_t* padded, int64_t height, int64_t width, uint8_t* dst) {
#if TRISEG_ZMM_X86
    if (!cpu_has_vbmi()) {
        return false;
    }
    im2col_c1_vbmi(padded, height, width, dst);
    return true;
#else
    (void)padded, (void)height, (void)width, (void)dst;
    return false;
#endif
}

void zmm_store_transposed(const uint8_t* tile,
                          int npos,
                          int64_t lanes,
                          uint8_t* out,
                          int64_t stride,
                          const uint8_t* lut) {
#if TRISEG_ZMM_X86
    if (lut == nullptr) {
        store_transposed(tile, npos, lanes, out, stride);
        return;
    }
    alignas(64) uint8_t mapped[kZmmGroup * kZmmTileRow];
    if (cpu_has_vbmi()) {
        lut_rows_vbmi(tile, lut, mapped);
    } else {
        for (int i = 0; i < kZmmGroup * kZmmTileRow; ++i) {
            mapped[i] = lut[tile[i]];
        }
    }
    store_transposed(mapped, npos, lanes, out, stride);
#else
    (void)tile, (void)npos, (void)lanes, (void)out, (void)stride, (void)lut;
    TRISEG_THROW(InputError, "the zmm VNNI kernel needs an x86-64 build");
#endif
}

} // namespace triseg::engine::detail

namespace triseg::engine {

using detail::kTaps;

void PackedConv3x3::run_zmm(const uint8_t* in,
                            int64_t height,
                            int64_t width,
                            uint8_t* out,
                            const uint8_t* lut,
                            std::vector<int16_t>& scratch) const {
    const int64_t in_positions = height * width;
    const int64_t wo = (width - 1) / stride_ + 1; // output size (3x3, padding 1)
    const int64_t positions = ((height - 1) / stride_ + 1) * wo;
    detail::ZmmBlockArgs args;
    args.zero_point = out_zero_point_;
    args.clamp_min = clamp_min_;
    args.clamp_max = clamp_max_;
    int64_t row_stride = 0; // of the quad planes (3x3 form)
    std::size_t bytes = 0;
    if (im2col_) { // the rows, then the padded input planes
        bytes = static_cast<std::size_t>(in_positions * 4 * im2col_quads_ + 64 +
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
        detail::pack_im2col(in, in_channels_, height, width, in_zero_point_, im2col_quads_, packed,
                            packed + in_positions * 4 * im2col_quads_ + 64);
        taps = 1;
        args.quads = im2col_quads_;
        args.quad_stride = 4;
        args.tap_offset[0] = 0;
    } else {
        detail::pack_input_quads(in, in_channels_, height, width, in_zero_point_, packed);
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
                    // The window's top-left at input (s y - 1, s x - 1): padded (s y, s x).
                    args.px[i] = im2col_ ? packed + (stride_ * (y * width + x)) * 4 * im2col_quads_
                                         : packed + stride_ * (y * row_stride + 4 * x);
                    if (++x == wo) {
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

} // namespace triseg::engine
