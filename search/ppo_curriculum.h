// The layer curriculum of PPO (ppo.curriculum): which layers an episode approximates.
#pragma once

#include <cstdint>
#include <vector>

#include "search/ppo_options.h"

namespace triseg::search {

/// Checks `order` (layer indices, most sensitive first, from ppo.curriculum's file) against the
/// model and the options: PpoOptions::validate_curriculum, a permutation of 0..layers-1, and every
/// stage of ppo.curriculum_layers below `layers` (a stage of every layer is the curriculum's end).
/// Nothing to check when the curriculum is off.
/// @throws ConfigError naming the key and the values.
void check_ppo_curriculum(const PpoOptions& opt, const std::vector<int32_t>& order, int64_t layers);

/// Per layer, whether episode `episode` (0-based, counted over the whole search) approximates
/// it. Stage s = episode / ppo.curriculum_episodes; while s < the number of stages the
/// curriculum_layers[s] first layers of `order` are approximated, after that every layer. With
/// the curriculum off, every layer.
std::vector<bool> ppo_active_layers(const PpoOptions& opt,
                                    const std::vector<int32_t>& order,
                                    int64_t layers,
                                    int64_t episode);

} // namespace triseg::search
