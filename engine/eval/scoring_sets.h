// The search's reward set and held-out subset: which images, in which order, from where.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/image_split.h"
#include "engine/eval/scoring_set.h"
#include "engine/int8/int8_network.h"
#include "io/batch_loader.h"
#include "io/dataset_factory.h"

namespace triseg::engine {

/// How many images the reward and held-out sets take, and from which split.
struct ScoringSetsOptions {
    /// `search.reward_images` / `search.reward_split`: the reward set.
    int64_t reward_images = 256;
    ImageSplit reward_split = ImageSplit::Train;
    /// `search.eval_images` / `search.eval_split`: the held-out subset.
    int64_t eval_images = 2000;
    ImageSplit eval_split = ImageSplit::Train;
    /// `runtime.seed`: seeds the permutation of the training split.
    uint64_t seed = 0;
    /// Whether the reward set keeps the teacher's codes at every point (ScoringSet::
    /// teacher_points), so that each reward Fitness has its point_mse (the PPO's per-layer
    /// reward and feature alignment). Costs reward_images x the points' codes of memory.
    bool reward_points = false;

    /// @throws ConfigError when a count is outside [1, 1000000], naming its key.
    void validate() const;
};

/// The images of both sets as indices into their splits, and where they come from in words.
struct ScoringImages {
    std::vector<int64_t> reward;  ///< indices into the reward split, in order
    std::vector<int64_t> holdout; ///< indices into the eval split, in order
    std::string reward_source;    ///< "train split, 256 images at positions 0..255 of a ..."
    std::string holdout_source;
};

/// The training split is used in the order of a permutation drawn from
/// Rng(seed, rng_streams::kScoringImages) (it is ordered by nothing useful), the test split in
/// file order. The reward set takes the first reward_images of its split's order; the
/// held-out subset the next eval_images when both use one split (so the two are disjoint),
/// else the first eval_images of its split.
/// @throws ConfigError when a split has too few images, naming the key
/// (search.reward_images / search.eval_images), the count needed and the split's size.
ScoringImages
choose_scoring_images(const ScoringSetsOptions& opts, int64_t train_count, int64_t test_count);

/// The reward set ("reward") and held-out subset ("holdout") themselves.
struct ScoringSets {
    ScoringSet reward;
    ScoringSet holdout;
};

/// Chooses the images (choose_scoring_images), quantizes them with `loader` (which must not
/// shuffle or augment) and runs the teacher once on each set with `threads` threads.
/// @throws ConfigError as choose_scoring_images; InputError from quantization.
ScoringSets make_scoring_sets(const Int8Network& net,
                              const io::DatasetSplits& data,
                              const io::BatchLoaderOptions& loader,
                              const ScoringSetsOptions& opts,
                              int threads);

} // namespace triseg::engine
