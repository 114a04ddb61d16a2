// Evaluator: the racing schedule and the default (no racing) of evaluate_raced.
#include "engine/core/evaluator.h"

#include <algorithm>

#include "common/error.h"

namespace triseg::engine {

std::vector<int64_t> Racing::rungs(int64_t shards) const {
    TRISEG_CHECK(enabled() && first_shards >= 1 && shards >= 1, ConfigError,
                 "racing needs eta >= 2 and at least one shard per rung (eta "
                     << eta << ", first rung " << first_shards << " shards of " << shards << ")");
    std::vector<int64_t> out;
    int64_t b = std::min(first_shards, shards);
    for (;;) {
        out.push_back(b);
        if (b == shards) {
            return out;
        }
        b = std::min(shards, b * eta);
    }
}

int64_t Racing::keep(int64_t alive) const {
    return std::max<int64_t>(1, (alive + eta - 1) / eta);
}

std::vector<Fitness> Evaluator::evaluate_raced(const std::vector<CodeSet>& candidates,
                                               const Racing& racing,
                                               const std::function<double(const Fitness&)>& loss) {
    (void)candidates;
    (void)racing;
    (void)loss;
    TRISEG_THROW(ConfigError, "this evaluator does not race (search.racing_eta must be 0)");
}

} // namespace triseg::engine
