// CandidateScorer: the unit of evaluation work (one candidate on one shard of images) and
// the fixed-order reduction that makes results independent of how work was split.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/code_set.h"
#include "engine/core/fitness.h"
#include "engine/eval/prefix_cache.h"
#include "engine/eval/scoring_set.h"
#include "engine/int8/kd_loss.h"

namespace triseg::engine {

/// Sums of one work unit (candidate c, shard k of the scoring set's images).
/// Invariant: every field is computed from the unit's images alone, in image order.
struct UnitScore {
    int64_t unit = 0; ///< c * shards + k
    LogitStats stats;
    int64_t changed = 0; ///< block output codes with table[c] != c
    int64_t zeroed = 0;  ///< block output codes c != 0 with table[c] == 0
    int64_t covered = 0; ///< block output codes c <= tmax (mapped to 0, v1 or v2)
    int64_t codes = 0;   ///< block output codes seen
    int64_t macs = 0;    ///< int8 multiply-accumulates executed for the unit's images
    /// Empty, or per point the sum of (student code - teacher code)^2 (when the set holds
    /// the teacher's point codes; like the other integer counts, a pass's go to its first unit)
    std::vector<int64_t> sq_error;
    /// Empty, or the KD sums (LogitStats::kd_sum) at each extra temperature of the scorer
    std::vector<double> extra_kd_sums;

    bool operator==(const UnitScore& o) const;
};

/// Scores candidates on a ScoringSet split into shards of `shard_images` images.
///
/// Work units are (candidate, shard) pairs numbered c * shards() + k. Any subset of units can
/// be scored anywhere; `reduce` adds the units of each candidate in shard order, so the
/// Fitness is bit-identical however units were spread over ranks and threads.
class CandidateScorer {
public:
    /// @throws ConfigError when shard_images < 1.
    CandidateScorer(const Int8Network& net,
                    const ScoringSet& set,
                    int64_t shard_images,
                    double temperature);

    int64_t shards() const { return shards_; }
    /// Temperatures at which every unit also sums the KD loss (Fitness::kd_at), beside the
    /// scorer's own. @throws ConfigError for a temperature that is not finite and > 0.
    void set_extra_temperatures(std::vector<double> temperatures);
    const std::vector<double>& extra_temperatures() const { return extra_temperatures_; }
    const ScoringSet& set() const { return set_; }
    const Int8Network& net() const { return net_; }

    /// Scores units [first, last) of `candidates` (numbered as above) with `threads` OpenMP
    /// threads. Consecutive units of one candidate run as one forward pass. With a `cache`
    /// (made for this scorer's set and shard size) that has an anchor, a candidate runs from
    /// cache->replay_block(candidate) on (the cache fills the shards it needs): the same
    /// scores, and the MACs of the suffix only. Without one, a full forward.
    /// @throws InputError when a candidate has the wrong number of layers or invalid codes.
    std::vector<UnitScore> score_units(const std::vector<CodeSet>& candidates,
                                       int64_t first,
                                       int64_t last,
                                       int threads,
                                       PrefixCache* cache = nullptr) const {
        return score_units(candidates, first, last, threads, cache, 0, shards_);
    }
    /// The same over the shards [shard_begin, shard_end) only (racing): units are numbered
    /// c * (shard_end - shard_begin) + (k - shard_begin) for [first, last), and each
    /// returned UnitScore::unit is still c * shards() + k. A forward pass never crosses the
    /// range, so the integer counts of the range's units are those of its shards alone.
    std::vector<UnitScore> score_units(const std::vector<CodeSet>& candidates,
                                       int64_t first,
                                       int64_t last,
                                       int threads,
                                       PrefixCache* cache,
                                       int64_t shard_begin,
                                       int64_t shard_end) const;

    /// One Fitness per candidate from all of its units (any order in `units`).
    /// @throws MpiError when a unit is missing or duplicated.
    std::vector<Fitness> reduce(const std::vector<UnitScore>& units, int64_t candidates) const {
        return reduce(units, candidates, shards_);
    }
    /// The same from the units of shards [0, shards_seen) of each candidate (racing), added in
    /// shard order: with shards_seen = shards() it is reduce() above.
    /// @throws MpiError when a unit is missing, duplicated or beyond shards_seen.
    std::vector<Fitness>
    reduce(const std::vector<UnitScore>& units, int64_t candidates, int64_t shards_seen) const;

private:
    const Int8Network& net_;
    const ScoringSet& set_;
    int64_t shard_images_;
    int64_t shards_;
    double temperature_;
    std::vector<double> extra_temperatures_;
};

/// Units [first, last) of rank `rank` when `units` units are split into `ranks` contiguous,
/// nearly equal blocks.
void unit_block(int64_t units, int rank, int ranks, int64_t& first, int64_t& last);

/// Portable byte encoding of UnitScores for gathering (host byte order: ranks of one job
/// share an architecture).
std::vector<uint8_t> encode_units(const std::vector<UnitScore>& units);
/// @throws MpiError on a malformed buffer.
std::vector<UnitScore> decode_units(const std::vector<uint8_t>& bytes);

} // namespace triseg::engine
