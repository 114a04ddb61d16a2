// The timing and the int8 limit of bench_int8_kernels: thread CPU time per call, medians, and
// register-only loops of the widest int8 multiply-add (the machine's limit) in GMAC/s.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/int8/int8_kernels.h"

namespace triseg::bench {

using engine::KernelIsa;

/// CPU seconds this thread has run. The one-thread figures use it rather than wall time so
/// that time slices lost to other processes on a shared machine do not count (the machine's
/// other load still costs cache and memory bandwidth: compare ratios, not absolute figures).
double thread_seconds();

/// Thread CPU seconds per call of f, repeated for at least min_seconds (after one warm-up).
/// Calls run in batches that double until one takes >= 1 ms, so that reading the clock (a
/// system call for the thread CPU clock) stays out of short calls' figures.
template <typename F> double seconds_per_call(F&& f, double min_seconds) {
    f();
    int64_t calls = 0;
    int64_t batch = 1;
    const double start = thread_seconds();
    double elapsed = 0.0;
    double last = 0.0;
    do {
        for (int64_t i = 0; i < batch; ++i) {
            f();
        }
        calls += batch;
        elapsed = thread_seconds() - start;
        if (elapsed - last < 1e-3) {
            batch *= 2;
        }
        last = elapsed;
    } while (elapsed < min_seconds);
    return elapsed / static_cast<double>(calls);
}

/// The median of `v` (the mean of the two middle values for an even count).
double median(std::vector<double> v);

/// A register-only loop of an int8 multiply-add: `loop(iterations, seed)` returns its MACs.
struct Limit {
    const char* name = "none";
    int64_t (*loop)(int64_t, int32_t) = nullptr;
};

/// The limit loop of the widest int8 multiply-add that `best` (the kernel measured) may use:
/// under TRISEG_KERNEL_ISA=avx2 the AVX2 loop even on a CPU with VNNI, so that a capped run
/// measures the kernel against the limit of the machine it stands in for. For the portable
/// kernel, the widest loop this CPU has.
Limit pick_limit(KernelIsa best);

/// GMAC/s of the limit loop on this thread, per thread CPU second, for about `seconds`.
double limit_gmacs_1(const Limit& limit, double seconds);

/// GMAC/s of `threads` threads each running the limit loop for about `seconds` of wall time
/// (wall time: on a shared machine this one reads low).
double limit_gmacs(const Limit& limit, int threads, double seconds);

} // namespace triseg::bench
