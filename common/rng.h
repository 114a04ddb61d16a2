// Portable, seedable random numbers: identical draws on every platform and standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace triseg {

/// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit generator whose output depends only on
/// the seed, unlike std:: distributions whose results differ between library vendors.
/// Use `Rng(seed, stream)` to derive independent streams (per epoch, per candidate, ...);
/// constant stream ids are named in common/rng_streams.h.
class Rng {
public:
    explicit Rng(uint64_t seed, uint64_t stream = 0)
        : state_(mix(seed ^ mix(stream + 0x632BE59BD9B4E019ULL))) {}

    /// Next raw 64-bit value.
    uint64_t next_u64() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }

    /// Uniform integer in [0, n) without modulo bias (rejection sampling). Requires n > 0.
    uint64_t uniform_below(uint64_t n) {
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t x = next_u64();
        while (x >= limit) {
            x = next_u64();
        }
        return x % n;
    }

    /// Uniform double in [0, 1) with 53 random bits.
    double uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

    /// Fair coin.
    bool coin() { return (next_u64() >> 63) != 0; }

    /// Fisher-Yates shuffle, portable across standard libraries.
    template <typename T> void shuffle(std::vector<T>& v) {
        for (std::size_t i = v.size(); i > 1; --i) {
            const std::size_t j = static_cast<std::size_t>(uniform_below(i));
            std::swap(v[i - 1], v[j]);
        }
    }

private:
    static uint64_t mix(uint64_t z) {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    uint64_t state_;
};

} // namespace triseg
