// LloydSearch: the tri-segment codes of least squared code error on the reward images' code
// histograms (Lloyd-Max quantization with level 0 fixed), found exactly by enumeration.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "search/algorithm.h"
#include "search/code_space.h"

namespace triseg::search {

struct MethodEntry;

/// Counts of each code 0..255 at one layer's output (AlgorithmContext::code_histograms).
using CodeCounts = std::array<int64_t, 256>;

/// The squared code error of `codes` on `counts`: sum over c in [0, tmax] of
/// counts[c] * (c - q(c))^2 with q the tri-segment map (0 and (0, t1] -> 0, (t1, t2] -> v1,
/// (t2, tmax] -> v2). Codes above tmax are unchanged and cost nothing. Exact in int64 as long as
/// the counts sum to less than 2^63 / 255^2 (about 1.4e14 codes).
int64_t code_error(const CodeCounts& counts, const engine::LayerCodes& codes);

/// The valid codes of `space` (tmax = space.tmax) with the least code_error on `counts`: 1-D
/// Lloyd-Max / k-means with three levels, one of them fixed at 0, solved exactly.
///
///     for t1 in space.t1(), t2 in space.t2(t1):            (at most 9 x 247 pairs)
///         v1 = the integer in space.v1(t1, t2) nearest the mean code of (t1, t2]
///         v2 = the integer in space.v2(t2) nearest the mean code of (t2, tmax]
///         keep (t1, t2, v1, v2) if its error is the least so far
///
/// With prefix sums of counts, c * counts and c^2 * counts each pair costs O(1). The error of one
/// segment is convex in its level v (S0 v^2 - 2 S1 v + S2), so the best integer level is the
/// floor or the ceiling of the mean S1 / S0 clamped to the range; both are checked. Ties go to
/// the lexicographically smallest (t1, t2, v1, v2), so the result is unique.
/// Fallback: when `counts` holds no code in [1, tmax], every code set has error 0 and the
/// result is engine::evenly_spaced_codes(tmax).
engine::LayerCodes lloyd_codes(const CodeCounts& counts, const CodeSpace& space);

/// `--method lloyd`: proposes lloyd_codes() of every layer once and is then finished(). The
/// codes are computed in the constructor from the histograms alone (no network evaluation); the
/// driver scores the one candidate on the reward set (1 episode, 1 reward evaluation) and on the
/// held-out set, and writes the usual result files. Why enumeration and not Lloyd's
/// iterations: the iterations find a local optimum that depends on the start and ignore the
/// search-space rules (t1 <= 10, gaps of 4); enumeration is exact, obeys the rules by
/// construction and costs microseconds.
class LloydSearch final : public Algorithm {
public:
    /// @throws ConfigError when `space` is invalid or generation < 1 (checked as for every
    ///         method, although lloyd asks one candidate); InputError when `histograms` does
    ///         not hold one histogram per layer or a layer's histogram counts no code at all.
    LloydSearch(CodeSpace space, int64_t generation, const std::vector<CodeCounts>& histograms);

    /// The Lloyd-Max codes (again, if asked after finished()).
    std::vector<CodeSet> ask() override;
    void tell(const std::vector<CodeSet>& candidates, const std::vector<Fitness>& scores) override;
    /// The Lloyd-Max codes.
    std::optional<CodeSet> proposal() const override { return codes_; }
    /// True once the codes were told.
    bool finished() const override { return told_; }
    void save(Checkpoint& checkpoint) const override;
    void load(const Checkpoint& checkpoint) override;
    std::string name() const override { return "lloyd"; }

    const CodeSet& codes() const { return codes_; }

private:
    CodeSet codes_;
    bool told_ = false;
    bool asked_ = false;
};

/// The Lloyd-Max codes of every layer of `histograms` (the same checks as LloydSearch).
CodeSet lloyd_code_set(const CodeSpace& space, const std::vector<CodeCounts>& histograms);

/// The registry entry "lloyd" (no options section).
MethodEntry lloyd_method();

} // namespace triseg::search
