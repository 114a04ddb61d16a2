// thread_seconds, median and the limit loops of kernel_timing.h.
#include "bench/kernel_timing.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>

#include "engine/int8/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#else
#define BENCH_X86 0
#endif

namespace triseg::bench {

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------
// The limit: independent vpdpbusd chains on registers only (no loads in the loop), enough
// of them (24) to cover the instruction's latency times its throughput on any current core.

constexpr int kChains = 24;
constexpr int64_t kLimitIters = 1 << 16; ///< loop trips per call: 24 instructions each

#if BENCH_X86
// Each loop is written in assembly so that the 24 accumulators stay in zmm/ymm registers
// (a compiler may spill an array of them to the stack, which then measures store-forwarding).

/// MACs done: iterations * 24 * 64 (a zmm vpdpbusd is 16 lanes x 4 u8*s8 products).
__attribute__((target("avx512f,avx512vnni"))) int64_t dpbusd_zmm_loop(int64_t iters, int32_t seed) {
    const __m512i a = _mm512_set1_epi32(seed | 0x01010101);
    const __m512i b = _mm512_set1_epi32(seed ^ 0x02020202);
    int64_t n = iters;
    __asm__ volatile("1:\n\t"
                     "vpdpbusd %[b], %[a], %%zmm0\n\t"
                     "vpdpbusd %[b], %[a], %%zmm1\n\t"
                     "vpdpbusd %[b], %[a], %%zmm2\n\t"
                     "vpdpbusd %[b], %[a], %%zmm3\n\t"
                     "vpdpbusd %[b], %[a], %%zmm4\n\t"
                     "vpdpbusd %[b], %[a], %%zmm5\n\t"
                     "vpdpbusd %[b], %[a], %%zmm6\n\t"
                     "vpdpbusd %[b], %[a], %%zmm7\n\t"
                     "vpdpbusd %[b], %[a], %%zmm8\n\t"
                     "vpdpbusd %[b], %[a], %%zmm9\n\t"
                     "vpdpbusd %[b], %[a], %%zmm10\n\t"
                     "vpdpbusd %[b], %[a], %%zmm11\n\t"
                     "vpdpbusd %[b], %[a], %%zmm12\n\t"
                     "vpdpbusd %[b], %[a], %%zmm13\n\t"
                     "vpdpbusd %[b], %[a], %%zmm14\n\t"
                     "vpdpbusd %[b], %[a], %%zmm15\n\t"
                     "vpdpbusd %[b], %[a], %%zmm16\n\t"
                     "vpdpbusd %[b], %[a], %%zmm17\n\t"
                     "vpdpbusd %[b], %[a], %%zmm18\n\t"
                     "vpdpbusd %[b], %[a], %%zmm19\n\t"
                     "vpdpbusd %[b], %[a], %%zmm20\n\t"
                     "vpdpbusd %[b], %[a], %%zmm21\n\t"
                     "vpdpbusd %[b], %[a], %%zmm22\n\t"
                     "vpdpbusd %[b], %[a], %%zmm23\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     : [n] "+r"(n)
                     : [a] "v"(a), [b] "v"(b)
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",
                       "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "cc");
    return iters * kChains * 64;
}

/// The same with ymm vpdpbusd (AVX-512 VL encoding): 32 MACs per instruction.
__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"))) int64_t dpbusd_ymm_loop(int64_t iters,
                                                                                    int32_t seed) {
    const __m256i a = _mm256_set1_epi32(seed | 0x01010101);
    const __m256i b = _mm256_set1_epi32(seed ^ 0x02020202);
    int64_t n = iters;
    __asm__ volatile("1:\n\t"
                     "vpdpbusd %[b], %[a], %%ymm0\n\t"
                     "vpdpbusd %[b], %[a], %%ymm1\n\t"
                     "vpdpbusd %[b], %[a], %%ymm2\n\t"
                     "vpdpbusd %[b], %[a], %%ymm3\n\t"
                     "vpdpbusd %[b], %[a], %%ymm4\n\t"
                     "vpdpbusd %[b], %[a], %%ymm5\n\t"
                     "vpdpbusd %[b], %[a], %%ymm6\n\t"
                     "vpdpbusd %[b], %[a], %%ymm7\n\t"
                     "vpdpbusd %[b], %[a], %%ymm8\n\t"
                     "vpdpbusd %[b], %[a], %%ymm9\n\t"
                     "vpdpbusd %[b], %[a], %%ymm10\n\t"
                     "vpdpbusd %[b], %[a], %%ymm11\n\t"
                     "vpdpbusd %[b], %[a], %%ymm12\n\t"
                     "vpdpbusd %[b], %[a], %%ymm13\n\t"
                     "vpdpbusd %[b], %[a], %%ymm14\n\t"
                     "vpdpbusd %[b], %[a], %%ymm15\n\t"
                     "vpdpbusd %[b], %[a], %%ymm16\n\t"
                     "vpdpbusd %[b], %[a], %%ymm17\n\t"
                     "vpdpbusd %[b], %[a], %%ymm18\n\t"
                     "vpdpbusd %[b], %[a], %%ymm19\n\t"
                     "vpdpbusd %[b], %[a], %%ymm20\n\t"
                     "vpdpbusd %[b], %[a], %%ymm21\n\t"
                     "vpdpbusd %[b], %[a], %%ymm22\n\t"
                     "vpdpbusd %[b], %[a], %%ymm23\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     : [n] "+r"(n)
                     : [a] "v"(a), [b] "v"(b)
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",
                       "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "cc");
    return iters * kChains * 32;
}

/// Without VNNI: vpmaddwd + vpaddd on ymm (16 int16 MACs per pair), 12 chains.
__attribute__((target("avx2"))) int64_t madd_ymm_loop(int64_t iters, int32_t seed) {
    const __m256i a = _mm256_set1_epi32(seed | 0x00010001);
    const __m256i b = _mm256_set1_epi32(seed ^ 0x00020002);
    int64_t n = iters;
    __asm__ volatile("1:\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm0, %%ymm0\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm1, %%ymm1\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm2, %%ymm2\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm3, %%ymm3\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm4, %%ymm4\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm5, %%ymm5\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm6, %%ymm6\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm7, %%ymm7\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm8, %%ymm8\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm9, %%ymm9\n\t"
                     "vpmaddwd %[b], %[a], %%ymm12\n\t"
                     "vpaddd %%ymm12, %%ymm10, %%ymm10\n\t"
                     "vpmaddwd %[b], %[a], %%ymm13\n\t"
                     "vpaddd %%ymm13, %%ymm11, %%ymm11\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     : [n] "+r"(n)
                     : [a] "x"(a), [b] "x"(b)
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "cc");
    return iters * 12 * 16;
}
#endif

} // namespace

/// CPU seconds this thread has run. The one-thread figures use it rather than wall time so
/// that time slices lost to other processes on a shared machine do not count (the machine's
/// other load still costs cache and memory bandwidth: compare ratios, not absolute figures).
double thread_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// The limit loop of the widest int8 multiply-add that `best` (the kernel measured) may use:
/// under TRISEG_KERNEL_ISA=avx2 the AVX2 loop even on a CPU with VNNI, so that a capped run
/// measures the kernel against the limit of the machine it stands in for. For the portable
/// kernel, the widest loop this CPU has.
Limit pick_limit(KernelIsa best) {
#if BENCH_X86
    const auto& f = triseg::engine::cpu_features();
    if (best == KernelIsa::Portable) {
        best = KernelIsa::Avx512Zmm;
    }
    if (best == KernelIsa::Avx512Zmm && f.avx512f && f.avx512vnni) {
        return {"vpdpbusd zmm", &dpbusd_zmm_loop};
    }
    if (static_cast<int>(best) >= static_cast<int>(KernelIsa::Avx512Vnni) && f.avx512vl &&
        f.avx512vnni) {
        return {"vpdpbusd ymm", &dpbusd_ymm_loop};
    }
    if (f.avx2) {
        return {"vpmaddwd+vpaddd ymm", &madd_ymm_loop};
    }
#else
    (void)best;
#endif
    return {};
}

/// GMAC/s of the limit loop on this thread, per thread CPU second, for about `seconds`.
double limit_gmacs_1(const Limit& limit, double seconds) {
    if (limit.loop == nullptr) {
        return 0.0;
    }
    limit.loop(kLimitIters / 16, 1); // warm-up (clock ramp, zmm power licence)
    int64_t macs = 0;
    const double start = thread_seconds();
    double elapsed = 0.0;
    do {
        macs += limit.loop(kLimitIters, 1);
        elapsed = thread_seconds() - start;
    } while (elapsed < seconds);
    return static_cast<double>(macs) / elapsed * 1e-9;
}

/// GMAC/s of `threads` threads each running the limit loop for about `seconds` of wall time
/// (wall time: on a shared machine this one reads low).
double limit_gmacs(const Limit& limit, int threads, double seconds) {
    if (limit.loop == nullptr) {
        return 0.0;
    }
    limit.loop(kLimitIters / 16, 1); // warm-up (clock ramp, zmm power licence)
    std::atomic<int64_t> macs{0};
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            int64_t mine = 0;
            do {
                mine += limit.loop(kLimitIters, t + 1);
            } while (std::chrono::duration<double>(Clock::now() - start).count() < seconds);
            macs += mine;
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    return static_cast<double>(macs.load()) / elapsed * 1e-9;
}

} // namespace triseg::bench
