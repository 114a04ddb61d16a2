// LloydSearch: exact Lloyd-Max codes by enumeration over (t1, t2) with prefix sums.
#include "search/lloyd_search.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "search/lloyd_sweep.h"
#include "search/registry.h"

namespace triseg::search {

namespace {

constexpr const char* kToldKey = "lloyd/told";

/// Prefix sums over codes 0..c of counts, c * counts and c^2 * counts.
struct Moments {
    std::array<int64_t, 257> s0{}; ///< s0[c + 1] = sum_{k <= c} counts[k]
    std::array<int64_t, 257> s1{};
    std::array<int64_t, 257> s2{};

    explicit Moments(const CodeCounts& counts) {
        for (int64_t c = 0; c < 256; ++c) {
            const int64_t n = counts[static_cast<size_t>(c)];
            s0[static_cast<size_t>(c + 1)] = s0[static_cast<size_t>(c)] + n;
            s1[static_cast<size_t>(c + 1)] = s1[static_cast<size_t>(c)] + c * n;
            s2[static_cast<size_t>(c + 1)] = s2[static_cast<size_t>(c)] + c * c * n;
        }
    }
};

/// One segment (lo, hi] of codes: its moments, and the error of a level v.
struct Segment {
    int64_t n = 0;   ///< sum counts
    int64_t sum = 0; ///< sum c counts
    int64_t sq = 0;  ///< sum c^2 counts

    Segment(const Moments& m, int32_t lo, int32_t hi)
        : n(m.s0[static_cast<size_t>(hi + 1)] - m.s0[static_cast<size_t>(lo + 1)]),
          sum(m.s1[static_cast<size_t>(hi + 1)] - m.s1[static_cast<size_t>(lo + 1)]),
          sq(m.s2[static_cast<size_t>(hi + 1)] - m.s2[static_cast<size_t>(lo + 1)]) {}

    /// sum over the segment of counts[c] (c - v)^2.
    int64_t error(int64_t v) const { return sq - 2 * v * sum + v * v * n; }

    /// The smallest integer level in `r` of least error: the mean's floor or ceiling, clamped.
    int32_t best_level(CodeRange r) const {
        if (n == 0) {
            return r.lo; // every level costs 0
        }
        const int64_t floor_mean = sum / n; // codes and counts are >= 0
        const auto a = static_cast<int32_t>(std::clamp<int64_t>(floor_mean, r.lo, r.hi));
        const auto b = static_cast<int32_t>(std::clamp<int64_t>(floor_mean + 1, r.lo, r.hi));
        return error(b) < error(a) ? b : a;
    }
};

} // namespace

int64_t code_error(const CodeCounts& counts, const engine::LayerCodes& codes) {
    int64_t total = 0;
    for (int32_t c = 1; c <= codes.tmax && c < 256; ++c) {
        const int32_t q = c <= codes.t1 ? 0 : c <= codes.t2 ? codes.v1 : codes.v2;
        const int64_t d = c - q;
        total += counts[static_cast<size_t>(c)] * d * d;
    }
    return total;
}

engine::LayerCodes lloyd_codes(const CodeCounts& counts, const CodeSpace& space) {
    space.validate();
    const int32_t tmax = space.tmax;
    const Moments m(counts);
    if (Segment(m, 0, tmax).n == 0) {
        return engine::evenly_spaced_codes(tmax);
    }
    engine::LayerCodes best;
    best.tmax = tmax;
    int64_t best_error = -1;
    const CodeRange t1s = space.t1();
    for (int32_t t1 = t1s.lo; t1 <= t1s.hi; ++t1) {
        const int64_t zeroed = Segment(m, 0, t1).sq; // (0, t1] -> 0
        const CodeRange t2s = space.t2(t1);
        for (int32_t t2 = t2s.lo; t2 <= t2s.hi; ++t2) {
            const Segment low(m, t1, t2);
            const Segment high(m, t2, tmax);
            const int32_t v1 = low.best_level(space.v1(t1, t2));
            const int32_t v2 = high.best_level(space.v2(t2));
            const int64_t e = zeroed + low.error(v1) + high.error(v2);
            if (best_error < 0 || e < best_error) {
                best_error = e;
                best.t1 = t1;
                best.t2 = t2;
                best.v1 = v1;
                best.v2 = v2;
            }
        }
    }
    return best;
}

CodeSet lloyd_code_set(const CodeSpace& space, const std::vector<CodeCounts>& histograms) {
    space.validate();
    TRISEG_CHECK(!histograms.empty(), InputError,
                 "lloyd needs the code histograms of the reward images, and none were computed");
    TRISEG_CHECK(static_cast<int64_t>(histograms.size()) == space.layers, InputError,
                 "lloyd got code histograms of " << histograms.size() << " layers for a search "
                                                 << "space of " << space.layers << " layers");
    CodeSet set;
    for (size_t l = 0; l < histograms.size(); ++l) {
        int64_t total = 0;
        for (int64_t n : histograms[l]) {
            TRISEG_CHECK(n >= 0, InputError,
                         "the code histogram of layer " << l << " holds a negative count " << n);
            total += n;
        }
        TRISEG_CHECK(total > 0, InputError,
                     "the code histogram of layer " << l << " counts no codes at all (no reward "
                                                    << "images?); lloyd cannot place levels");
        set.layers.push_back(lloyd_codes(histograms[l], space));
    }
    return set;
}

LloydSearch::LloydSearch(CodeSpace space,
                         int64_t generation,
                         const std::vector<CodeCounts>& histograms) {
    space.validate();
    TRISEG_CHECK(generation >= 1, ConfigError,
                 "`search.episodes_per_generation` must be at least 1, got " << generation);
    codes_ = lloyd_code_set(space, histograms);
}

std::vector<CodeSet> LloydSearch::ask() {
    asked_ = true;
    return {codes_};
}

void LloydSearch::tell(const std::vector<CodeSet>& candidates, const std::vector<Fitness>& scores) {
    if (!asked_ || candidates.size() != scores.size() || candidates.size() > 1 ||
        (!candidates.empty() && candidates[0] != codes_)) {
        throw std::logic_error("LloydSearch::tell: " + std::to_string(scores.size()) +
                               " scores for " + std::to_string(candidates.size()) +
                               " candidates; the last ask() gave its one code set");
    }
    told_ = told_ || !candidates.empty();
    asked_ = false;
}

void LloydSearch::save(Checkpoint& checkpoint) const {
    checkpoint.entries[kToldKey] = told_ ? "1" : "0";
}

void LloydSearch::load(const Checkpoint& checkpoint) {
    const auto it = checkpoint.entries.find(kToldKey);
    TRISEG_CHECK(it != checkpoint.entries.end(), InputError,
                 "the checkpoint holds no lloyd state (was it written by another method?)");
    TRISEG_CHECK(it->second == "0" || it->second == "1", InputError,
                 "the checkpoint's lloyd state is damaged ('" << it->second << "')");
    told_ = it->second == "1";
    asked_ = false;
}

MethodEntry lloyd_method() {
    MethodEntry e;
    e.name = "lloyd";
    e.summary = "Lloyd-Max codes of the reward images' code histograms, exact, no search (with "
                "search.space=allocation: a tmax sweep as a front)";
    e.needs_code_histograms = true;
    e.supports_allocation = true;
    e.default_options = [] { return std::make_unique<NoMethodOptions>(); };
    e.make = [](const MethodOptions& /*options*/,
                const AlgorithmContext& c) -> std::unique_ptr<Algorithm> {
        if (c.allocation) {
            return std::make_unique<LloydSweep>(c.allocation, c.generation);
        }
        return std::make_unique<LloydSearch>(c.space, c.generation, c.code_histograms);
    };
    return e;
}

} // namespace triseg::search
