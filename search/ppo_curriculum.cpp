// check_ppo_curriculum and ppo_active_layers.
#include "search/ppo_curriculum.h"

#include "common/error.h"

namespace triseg::search {

void check_ppo_curriculum(const PpoOptions& opt,
                          const std::vector<int32_t>& order,
                          int64_t layers) {
    if (!opt.has_curriculum()) {
        return;
    }
    opt.validate_curriculum();
    TRISEG_CHECK(static_cast<int64_t>(order.size()) == layers, ConfigError,
                 "`ppo.curriculum` ranks " << order.size() << " layers; the model has " << layers);
    std::vector<bool> seen(static_cast<size_t>(layers), false);
    for (int32_t l : order) {
        TRISEG_CHECK(l >= 0 && l < layers && !seen[static_cast<size_t>(l)], ConfigError,
                     "`ppo.curriculum` does not rank every layer once (layer index " << l << ")");
        seen[static_cast<size_t>(l)] = true;
    }
    for (double n : opt.curriculum_layers) {
        TRISEG_CHECK(n < static_cast<double>(layers), ConfigError,
                     "`ppo.curriculum_layers` holds "
                         << n << "; the model has " << layers
                         << " layers, and each stage must approximate fewer (every layer is "
                         << "approximated after the last stage)");
    }
}

std::vector<bool> ppo_active_layers(const PpoOptions& opt,
                                    const std::vector<int32_t>& order,
                                    int64_t layers,
                                    int64_t episode) {
    const auto stage = static_cast<size_t>(episode / opt.curriculum_episodes);
    if (!opt.has_curriculum() || stage >= opt.curriculum_layers.size()) {
        return std::vector<bool>(static_cast<size_t>(layers), true);
    }
    std::vector<bool> active(static_cast<size_t>(layers), false);
    const auto n = static_cast<size_t>(opt.curriculum_layers[stage]);
    for (size_t i = 0; i < n && i < order.size(); ++i) {
        active[static_cast<size_t>(order[i])] = true;
    }
    return active;
}

} // namespace triseg::search
