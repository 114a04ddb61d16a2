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

/// What `ppo.curriculum` gives the search: the layer order and the file's content hash.
struct CurriculumOrder {
    std::vector<int32_t> order; ///< indices into the model's points, most sensitive first
    std::string sha256;         ///< of the bytes the order was read from (for the resume key)
};

/// The layer order of `ppo.curriculum`: the indices of `names` (the model's points in forward
/// order) in the order of the "ranking" rows of the sensitivity.json at `path` (written by
/// `triseg analyze-sensitivity`, most sensitive first; at most 16 MiB), read once.
/// @throws ConfigError when the file does not exist; IoError or InputError naming the file when
/// it cannot be read, is not such a ranking, or its layers are not the model's (naming the
/// missing and the unknown names).
CurriculumOrder read_curriculum_order(const std::string& path,
                                      const std::vector<std::string>& names);

} // namespace triseg::cli
