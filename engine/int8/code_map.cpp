// Tri-segment maps on codes: one pass that applies the map and counts what it does.
#include "engine/int8/code_map.h"

#include <algorithm>
#include <cstring>

#include "engine/int8/cpu_features.h"
#include "engine/int8/int8_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRISEG_CODE_MAP_X86 1
#else
#define TRISEG_CODE_MAP_X86 0
#endif

namespace triseg::engine {

MapCounts& MapCounts::operator+=(const MapCounts& o) {
    codes += o.codes;
    changed += o.changed;
    zeroed += o.zeroed;
    covered += o.covered;
    return *this;
}

bool MapCounts::operator==(const MapCounts& o) const {
    return codes == o.codes && changed == o.changed && zeroed == o.zeroed && covered == o.covered;
}

MapCounts map_counts(const CodeHistogram& histogram, const LayerCodes& map) {
    const CodeTable table = make_table(map, "");
    MapCounts c;
    for (int v = 0; v < 256; ++v) {
        const int64_t h = histogram[static_cast<size_t>(v)];
        const uint8_t t = table[static_cast<size_t>(v)];
        c.codes += h;
        c.changed += t != v ? h : 0;
        c.zeroed += v != 0 && t == 0 ? h : 0;
        c.covered += v <= map.tmax ? h : 0;
    }
    return c;
}

namespace {

/// 64 codes; GCC/Clang vector extensions, lowered to the ISA of the function they are
/// inlined into (one zmm with AVX-512BW, two ymm with AVX2, four xmm on baseline x86-64).
using Bytes = uint8_t __attribute__((vector_size(64)));
using Words = uint64_t __attribute__((vector_size(64)));
constexpr int64_t kLanes = 64;
/// Blocks of 64 codes per byte-wide count (a byte lane counts at most 255 hits).
constexpr int64_t kFlushBlocks = 255;

/// The map of one code, as make_table: 0 -> 0, [1, t1] -> 0, (t1, t2] -> v1, (t2, tmax] -> v2,
/// above tmax unchanged.
inline uint8_t map_code(uint8_t c, const LayerCodes& m) {
    if (c > m.tmax) {
        return c;
    }
    if (c <= m.t1) {
        return 0;
    }
    return static_cast<uint8_t>(c <= m.t2 ? m.v1 : m.v2);
}

/// Adds the 64 byte counts of `b` to the 8 uint64 lanes of `sums` (SWAR widening, exact).
[[gnu::always_inline]] inline void widen_add(const Bytes& b, Words& sums) {
    Words w;
    std::memcpy(&w, &b, sizeof w);
    const uint64_t m8 = 0x00FF00FF00FF00FFULL;
    const uint64_t m16 = 0x0000FFFF0000FFFFULL;
    const uint64_t m32 = 0x00000000FFFFFFFFULL;
    w = (w & m8) + ((w >> 8) & m8);
    w = (w & m16) + ((w >> 16) & m16);
    w = (w & m32) + ((w >> 32) & m32);
    sums += w;
}

inline int64_t lane_sum(const Words& w) {
    uint64_t s = 0;
    for (int i = 0; i < 8; ++i) {
        s += w[i];
    }
    return static_cast<int64_t>(s);
}

/// The one body of apply_map, inlined into each ISA's wrapper below.
template <bool Count>
[[gnu::always_inline]] inline void
map_body(const uint8_t* in, uint8_t* out, int64_t n, const LayerCodes& m, MapCounts* counts) {
    Bytes zero = {};
    const Bytes t1 = zero + static_cast<uint8_t>(m.t1);
    const Bytes t2 = zero + static_cast<uint8_t>(m.t2);
    const Bytes tmax = zero + static_cast<uint8_t>(m.tmax);
    const Bytes v1 = zero + static_cast<uint8_t>(m.v1);
    const Bytes v2 = zero + static_cast<uint8_t>(m.v2);
    Words changed = {};
    Words zeroed = {};
    Words covered = {};
    int64_t i = 0;
    while (i + kLanes <= n) {
        const int64_t blocks = std::min(kFlushBlocks, (n - i) / kLanes);
        Bytes c_changed = {};
        Bytes c_zeroed = {};
        Bytes c_covered = {};
        for (int64_t b = 0; b < blocks; ++b, i += kLanes) {
            Bytes x;
            std::memcpy(&x, in + i, sizeof x);
            // Masks: all ones where true. t1 <= t2 <= tmax, so in1 implies in2 implies in.
            const auto in1 = reinterpret_cast<Bytes>(x <= t1);
            const auto in2 = reinterpret_cast<Bytes>(x <= t2);
            const auto in = reinterpret_cast<Bytes>(x <= tmax);
            const Bytes y = (x & ~in) | (v2 & in & ~in2) | (v1 & in2 & ~in1);
            std::memcpy(out + i, &y, sizeof y);
            if (Count) {
                c_changed -= reinterpret_cast<Bytes>(y != x);
                c_zeroed -= reinterpret_cast<Bytes>(x != zero) & reinterpret_cast<Bytes>(y == zero);
                c_covered -= in;
            }
        }
        if (Count) {
            widen_add(c_changed, changed);
            widen_add(c_zeroed, zeroed);
            widen_add(c_covered, covered);
        }
    }
    MapCounts tail;
    for (; i < n; ++i) {
        const uint8_t c = in[i];
        const uint8_t t = map_code(c, m);
        out[i] = t;
        tail.changed += t != c;
        tail.zeroed += c != 0 && t == 0;
        tail.covered += c <= m.tmax;
    }
    if (Count) {
        counts->codes += n;
        counts->changed += lane_sum(changed) + tail.changed;
        counts->zeroed += lane_sum(zeroed) + tail.zeroed;
        counts->covered += lane_sum(covered) + tail.covered;
    }
}

template <bool Count>
void map_baseline(
    const uint8_t* in, uint8_t* out, int64_t n, const LayerCodes& m, MapCounts* counts) {
    map_body<Count>(in, out, n, m, counts);
}

#if TRISEG_CODE_MAP_X86
/// AVX2 has no unsigned byte compare, and GCC lowers the generic vectors' `<=` on bytes to
/// scalar code there, so this path is written with intrinsics: x <= t as max(x, t) == t, the
/// map as two blends and an and-not, the counts as byte counters (minus the all-ones masks)
/// flushed into 64-bit sums with vpsadbw. 64 codes a step, as map_body; the same tail.
template <bool Count>
__attribute__((target("avx2"))) void
map_avx2(const uint8_t* in, uint8_t* out, int64_t n, const LayerCodes& m, MapCounts* counts) {
    const __m256i t1 = _mm256_set1_epi8(static_cast<char>(m.t1));
    const __m256i t2 = _mm256_set1_epi8(static_cast<char>(m.t2));
    const __m256i tmax = _mm256_set1_epi8(static_cast<char>(m.tmax));
    const __m256i v1 = _mm256_set1_epi8(static_cast<char>(m.v1));
    const __m256i v2 = _mm256_set1_epi8(static_cast<char>(m.v2));
    const __m256i zero = _mm256_setzero_si256();
    __m256i same = zero; // 4 uint64 sums each: codes with t == c, zeroed codes, covered codes
    __m256i zeroed = zero;
    __m256i covered = zero;
    int64_t i = 0;
    while (i + kLanes <= n) {
        const int64_t blocks = std::min(kFlushBlocks, (n - i) / kLanes);
        __m256i c_same[2] = {zero, zero};
        __m256i c_zeroed[2] = {zero, zero};
        __m256i c_covered[2] = {zero, zero};
        for (int64_t b = 0; b < blocks; ++b, i += kLanes) {
            for (int h = 0; h < 2; ++h) {
                auto* src = reinterpret_cast<const __m256i*>(in + i) + h;
                const __m256i x = _mm256_loadu_si256(src);
                const __m256i in1 = _mm256_cmpeq_epi8(_mm256_max_epu8(x, t1), t1); // x <= t1
                const __m256i in2 = _mm256_cmpeq_epi8(_mm256_max_epu8(x, t2), t2);
                const __m256i inm = _mm256_cmpeq_epi8(_mm256_max_epu8(x, tmax), tmax);
                __m256i y = _mm256_blendv_epi8(x, v2, inm);
                y = _mm256_blendv_epi8(y, v1, in2);
                y = _mm256_andnot_si256(in1, y);
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i) + h, y);
                if (Count) {
                    c_same[h] = _mm256_sub_epi8(c_same[h], _mm256_cmpeq_epi8(y, x));
                    c_zeroed[h] = _mm256_sub_epi8(c_zeroed[h],
                                                  _mm256_andnot_si256(_mm256_cmpeq_epi8(x, zero),
                                                                      _mm256_cmpeq_epi8(y, zero)));
                    c_covered[h] = _mm256_sub_epi8(c_covered[h], inm);
                }
            }
        }
        if (Count) {
            for (int h = 0; h < 2; ++h) {
                same = _mm256_add_epi64(same, _mm256_sad_epu8(c_same[h], zero));
                zeroed = _mm256_add_epi64(zeroed, _mm256_sad_epu8(c_zeroed[h], zero));
                covered = _mm256_add_epi64(covered, _mm256_sad_epu8(c_covered[h], zero));
            }
        }
    }
    const int64_t vector_codes = i;
    MapCounts tail;
    for (; i < n; ++i) {
        const uint8_t c = in[i];
        const uint8_t t = map_code(c, m);
        out[i] = t;
        tail.changed += t != c;
        tail.zeroed += c != 0 && t == 0;
        tail.covered += c <= m.tmax;
    }
    if (Count) {
        alignas(32) int64_t sums[3][4];
        _mm256_store_si256(reinterpret_cast<__m256i*>(sums[0]), same);
        _mm256_store_si256(reinterpret_cast<__m256i*>(sums[1]), zeroed);
        _mm256_store_si256(reinterpret_cast<__m256i*>(sums[2]), covered);
        int64_t total[3] = {};
        for (int k = 0; k < 3; ++k) {
            total[k] = sums[k][0] + sums[k][1] + sums[k][2] + sums[k][3];
        }
        counts->codes += n;
        counts->changed += vector_codes - total[0] + tail.changed;
        counts->zeroed += total[1] + tail.zeroed;
        counts->covered += total[2] + tail.covered;
    }
}

template <bool Count>
__attribute__((target("avx2,avx512f,avx512bw"))) void
map_avx512(const uint8_t* in, uint8_t* out, int64_t n, const LayerCodes& m, MapCounts* counts) {
    map_body<Count>(in, out, n, m, counts);
}

bool cpu_has_avx512bw() {
    return cpu_features().avx512bw;
}
#endif

template <bool Count>
void map_dispatch(
    KernelIsa isa, const uint8_t* in, uint8_t* out, int64_t n, const LayerCodes& m, MapCounts* c) {
#if TRISEG_CODE_MAP_X86
    // The kernel ISA caps this pass too, so TRISEG_KERNEL_ISA=portable runs plain code.
    if ((isa == KernelIsa::Avx512Vnni || isa == KernelIsa::Avx512Zmm) && cpu_has_avx512bw()) {
        map_avx512<Count>(in, out, n, m, c);
        return;
    }
    if (isa != KernelIsa::Portable) { // Avx2, or VNNI without AVX-512BW (both imply AVX2)
        map_avx2<Count>(in, out, n, m, c);
        return;
    }
#endif
    (void)isa;
    map_baseline<Count>(in, out, n, m, c);
}

} // namespace

void apply_map(KernelIsa isa,
               const uint8_t* in,
               uint8_t* out,
               int64_t n,
               const LayerCodes& map,
               MapCounts* counts) {
    if (counts != nullptr) {
        map_dispatch<true>(isa, in, out, n, map, counts);
    } else {
        map_dispatch<false>(isa, in, out, n, map, nullptr);
    }
}

} // namespace triseg::engine
