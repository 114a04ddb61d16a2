// PrefixCache: the anchor's block outputs (and the other live tensors) on a scoring set, for
// suffix replay.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/core/code_set.h"
#include "engine/eval/scoring_set.h"
#include "engine/int8/int8_network.h"

namespace triseg::engine {

/// Keeps, for one *anchor* CodeSet, every block's output codes (before its table) of the
/// images of a ScoringSet, and every tensor that is live at some block's cut without being a
/// block output (Int8Network::live_non_points: in MobileNetV2 the block input across the
/// expansion and depthwise points), so that a candidate equal to the anchor in layers 0..k-1
/// is scored by replaying from block k's live set (Int8Network::forward_from_counted):
/// bit-identical to a full forward, on any graph.
///
/// Shards (of `shard_images` images, the CandidateScorer's) are filled on demand, the first
/// time a unit of theirs is replayed under the current anchor, so each rank holds only the
/// images it scores. What a candidate costs is decided by the candidate and the anchor alone
/// (replay_block), never by which shards happen to be filled: MAC counts and results do not
/// depend on the rank count.
///
/// Memory: the whole set's stored tensors (block_bytes() = images x (sum of block output sizes
/// + sum of the sizes of live_non_points); about 70 KB per image for the default model) are
/// allocated when the first shard is filled. When they exceed `max_bytes` the cache is off
/// (enabled() false): every candidate runs a full forward.
class PrefixCache {
public:
    /// `net` and `set` must outlive the cache. max_bytes 0 turns the cache off.
    PrefixCache(const Int8Network& net,
                const ScoringSet& set,
                int64_t shard_images,
                int64_t max_bytes);

    bool enabled() const { return enabled_; }
    /// Bytes of block outputs and other live tensors the whole set needs.
    int64_t block_bytes() const { return block_bytes_; }

    /// A new anchor (validated) or none. A different anchor drops every filled shard.
    /// @throws InputError for invalid codes or the wrong number of layers.
    void set_anchor(const std::optional<CodeSet>& anchor);
    const std::optional<CodeSet>& anchor() const { return anchor_; }

    /// The block to replay `codes` from: the first layer whose codes differ from the anchor's
    /// (the last layer when all are equal). -1 when the cache is off or has no anchor (then
    /// the candidate runs a full forward).
    int64_t replay_block(const CodeSet& codes) const;

    /// Fills shards [k0, k1) that are not filled yet (runs the anchor on their images).
    void fill(int64_t k0, int64_t k1, int threads);

    /// Block `block`'s stored output codes, from image `image` on ([images][block size]).
    const uint8_t* block_output(int64_t block, int64_t image) const;
    /// Block `block`'s stored live set (Int8Network::live_tensors), from image `image` on: what
    /// Int8Network::forward_from_counted takes.
    std::vector<const uint8_t*> live(int64_t block, int64_t image) const;

    /// Adds the anchor's histograms of blocks 0..last over the (filled) shards [k0, k1) to
    /// `histograms` (one per block).
    void add_histograms(int64_t last,
                        int64_t k0,
                        int64_t k1,
                        std::vector<CodeHistogram>& histograms) const;

    /// Filled shards (for tests).
    int64_t filled_shards() const;

private:
    const Int8Network& net_;
    const ScoringSet& set_;
    int64_t shard_images_;
    int64_t shards_;
    int64_t block_bytes_ = 0;
    bool enabled_ = false;
    std::optional<CodeSet> anchor_;
    std::vector<CodeTable> tables_;
    std::vector<std::vector<uint8_t>> outputs_;          ///< per block [images][block size]
    std::vector<std::vector<uint8_t>> others_;           ///< per live_non_points() entry
    std::vector<std::vector<uint8_t>*> of_tensor_;       ///< per tensor: its store, or null
    std::vector<bool> filled_;                           ///< per shard
    std::vector<std::vector<CodeHistogram>> histograms_; ///< per shard, per block
};

} // namespace triseg::engine
