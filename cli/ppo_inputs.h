// What `triseg search` gives PPO besides its options: the enhanced state's layer facts from the
// integer model, and the policy of `ppo.init_policy` from another search's checkpoint.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/int8/int8_network.h"
#include "search/algorithm.h"
#include "search/ppo_features.h"

namespace triseg::cli {

/// Per approximation point of `net`: its code histogram (`histograms[k]`, the teacher's on the
/// reward images), its quantization, and the real weights (int8 weight times its output
/// channel's scale) of the conv that makes it (none for an add).
/// @throws InputError when the histograms are not one per point.
std::vector<search::PpoLayerFacts>
ppo_layer_facts(const engine::Int8Network& net,
                const std::vector<std::array<int64_t, 256>>& histograms);

/// The algorithm entries of the search checkpoint at `path` (ppo.init_policy).
/// @throws IoError or InputError (from the file reader) naming the file; InputError naming it
/// when it is the checkpoint of another method than ppo.
search::Checkpoint read_init_policy(const std::string& path);

} // namespace triseg::cli
