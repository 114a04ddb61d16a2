// PPO's episode rewards from the scores of a generation: -KD (plus the coverage penalty), or
// -KD at a temperature curriculum's stage; the feature-alignment term; ranking.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/fitness.h"
#include "search/ppo_options.h"

namespace triseg::search {

/// The ranked rewards of one generation (ppo.reward: ranked, the original's scheme 10): each
/// reward's 0-based rank r in ascending order (tied rewards share the mean of their ranks),
/// mapped to 2 r / (n - 1) - 1 in [-1, 1]; all 0 when n < 2.
std::vector<double> ppo_ranked_rewards(const std::vector<double>& rewards);

/// The points of ppo.align's term: every layer when ppo.align_points is empty, else the named
/// points (comma-separated, spaces around a name ignored) in the order given.
/// @throws ConfigError for an unknown or repeated name, naming it.
std::vector<int32_t>
ppo_align_points(const PpoOptions& opt, const std::vector<std::string>& names, int64_t layers);

/// The reward of each episode of a generation (`scores` in order; the first is episode
/// `first_episode` of the search): -(KD + penalty), with ppo.temperatures the KD at the
/// episode's stage (Fitness::kd_at), minus ppo.align x the sum of `align_points`' feature
/// distances (Fitness::point_mse), then with ppo.reward: ranked their ranks.
/// @throws ConfigError when a score lacks the distances or KD losses an option needs.
std::vector<double> ppo_episode_rewards(const PpoOptions& opt,
                                        const std::vector<engine::Fitness>& scores,
                                        int64_t first_episode,
                                        const std::vector<int32_t>& align_points,
                                        int64_t layers);

} // namespace triseg::search
