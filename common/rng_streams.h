// Every random-number stream id of triseg in one place (common/rng.h: Rng(seed, stream)).
//
// A stream id keeps one use of runtime.seed from drawing the same numbers as another. The
// values are part of the results (a change moves every split, initialization and search), so
// they never change; a new use takes a new, distinct value here.
//
// Streams that are an index rather than a constant (named here so they are not reused):
//   io/batch_loader      shuffle of epoch e:            Rng(seed, e)
//   io/batch_loader      augmentation of image i, epoch e:
//                        Rng(seed ^ kAugmentSeedXor, e * count + i)
//   search/random_search candidate i:                   Rng(seed, i)
//   search/ppo_search    episode i:                     Rng(seed, i)
//   search/pagmo_search  first population:              Rng(seed, kPagmoInit)
//                        pagmo's algorithm and population seeds: Rng(seed, kPagmoSeeds)
#pragma once

#include <cstdint>

namespace triseg::rng_streams {

/// The permutation of the training images that io::load_dataset splits the validation set
/// off (data.val_size).
constexpr uint64_t kValidationSplit = 0x5EED0F7A11DA7A00ULL;

/// XORed into the seed of the per-image augmentation streams (crop and flip) so they differ
/// from the per-epoch shuffle streams, which use the plain seed.
constexpr uint64_t kAugmentSeedXor = 0xA55A'C0DE'F11B'0001ULL;

/// The permutation of the training split that the search's reward and held-out images are
/// taken from (engine/eval/scoring_sets).
constexpr uint64_t kScoringImages = 0x5EA4C4;

/// PyTorch's default initialization of the PPO policy network (search/ppo_network).
constexpr uint64_t kPpoInit = 0x5050'4f00ULL;

/// Targets and weights of the toy sensitivity objective (search/toy_objectives, a test library).
constexpr uint64_t kToyObjective = 0x70F;

/// The first population of the pagmo2 methods (search/pagmo_search), drawn in order.
constexpr uint64_t kPagmoInit = 0x9A6D'0001ULL;

/// The 32-bit seeds of a pagmo2 algorithm's and population's std::mt19937 (search/pagmo_search).
constexpr uint64_t kPagmoSeeds = 0x9A6D'0002ULL;
/// XORed into the seed of the layer-wise search's per-step streams (search/layerwise_search).
constexpr uint64_t kLayerwise = 0x1A7E'4715'E000ULL;

} // namespace triseg::rng_streams
