// Evaluator: batch scoring of candidate code sets (pagmo-style batch fitness).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/core/code_set.h"
#include "engine/core/fitness.h"

namespace triseg::engine {

/// Which set of images to score on.
enum class ScoringRole {
    Reward, ///< the reward set the search optimizes on
    Holdout ///< the held-out evaluation subset for periodic checks and the final selection
};

/// Racing (successive halving) over the reward set's shards: a generation is scored on the
/// first `first_shards` shards, the best 1/eta of it (by the caller's loss, ties to the earlier
/// candidate) on the shards up to eta times as many, and so on until the survivors have seen
/// every shard. Off when eta < 2.
struct Racing {
    int64_t eta = 0;          ///< `search.racing_eta`: 0 = off; else 2 or more
    int64_t first_shards = 1; ///< shards of the first rung (from `search.racing_images`)

    bool enabled() const { return eta >= 2; }
    /// Shard boundaries of the rungs: first_shards, first_shards*eta, ..., ending at `shards`.
    std::vector<int64_t> rungs(int64_t shards) const;
    /// Candidates kept after a rung that `alive` candidates ran: ceil(alive / eta), at least 1.
    int64_t keep(int64_t alive) const;
};

/// Scores batches of candidates. Implementations: LocalEvaluator (this process) and
/// DistributedEvaluator (every rank of a Cluster). Results do not depend on the
/// implementation, the number of ranks or threads: they are bit-identical.
class Evaluator {
public:
    virtual ~Evaluator() = default;

    /// One Fitness per candidate, in order.
    /// @throws InputError for a candidate with invalid codes or the wrong number of layers
    /// (LocalEvaluator: not a valid tri-segment map, validate_map; DistributedEvaluator, which
    /// serves the searches only: outside the search space, validate_codes, unless a layer's
    /// codes are the identity LayerCodes{}).
    virtual std::vector<Fitness> evaluate(const std::vector<CodeSet>& candidates,
                                          ScoringRole role = ScoringRole::Reward) = 0;

    /// Racing on the reward set (Racing above), with `loss` (lower is better) ranking the
    /// candidates after each rung. A candidate that survives every rung gets exactly the
    /// Fitness evaluate() gives it; one dropped after a rung gets its Fitness on the shards it
    /// was scored on (Fitness::images tells how many images, Fitness::macs what it cost). The
    /// choices depend only on sums over the same shards in a fixed order, so results do not
    /// depend on ranks or threads. Default: not supported (ConfigError).
    virtual std::vector<Fitness> evaluate_raced(const std::vector<CodeSet>& candidates,
                                                const Racing& racing,
                                                const std::function<double(const Fitness&)>& loss);
    /// Images in the set of `role`.
    virtual int64_t images(ScoringRole role) const = 0;

    /// The prefix cache's anchor for the following evaluate() calls on the reward set (none:
    /// nullopt). A candidate equal to the anchor in layers 0..k-1 is then scored from block k
    /// on (suffix replay): the same Fitness bits, with Fitness::macs counting the suffix only.
    /// What a candidate costs depends on it and the anchor alone, never on what a rank has
    /// cached. Default: no prefix cache (ignored).
    /// @throws InputError for invalid anchor codes (as for evaluate()).
    virtual void set_anchor(const std::optional<CodeSet>& anchor) { (void)anchor; }

    /// MACs to charge when the anchor changes (a full forward of the anchor on the reward
    /// set, which fills the cache); 0 when this evaluator has no prefix cache.
    virtual int64_t anchor_macs() const { return 0; }

    /// MACs of one full forward of a candidate on the set of `role` (0 when unknown).
    virtual int64_t full_forward_macs(ScoringRole role) const {
        (void)role;
        return 0;
    }
};

} // namespace triseg::engine
