// SensitivityObjective.
#include "search/toy_objectives.h"

#include <algorithm>

#include "common/rng.h"
#include "common/rng_streams.h"

namespace triseg::search {

SensitivityObjective::SensitivityObjective(CodeSpace space, uint64_t seed) : space_(space) {
    Rng rng(seed, rng_streams::kToyObjective);
    for (int64_t l = 0; l < space.layers; ++l) {
        target_.layers.push_back(space.sample(rng));
        weights_.push_back(0.5 + rng.uniform01());
    }
}

Fitness SensitivityObjective::operator()(const CodeSet& codes) const {
    double cost = 0.0;
    Fitness f;
    const double scale = static_cast<double>(space_.tmax) * space_.tmax / 12.0;
    for (size_t l = 0; l < codes.layers.size(); ++l) {
        const auto& c = codes.layers[l];
        const auto& t = target_.layers[l];
        const double d =
            static_cast<double>((c.t1 - t.t1) * (c.t1 - t.t1) + (c.t2 - t.t2) * (c.t2 - t.t2) +
                                (c.v1 - t.v1) * (c.v1 - t.v1) + (c.v2 - t.v2) * (c.v2 - t.v2));
        cost += weights_[l] * d / scale;
        if (point_costs_) {
            f.point_mse.push_back(weights_[l] * d / scale);
        }
    }
    f.kd_loss = cost;
    f.acc_teacher = 100.0;
    f.acc_student = std::max(0.0, 100.0 - cost);
    f.agreement = f.acc_student;
    f.images = 1;
    return f;
}

std::vector<Fitness> SensitivityObjective::operator()(const std::vector<CodeSet>& codes) const {
    std::vector<Fitness> out;
    for (const auto& c : codes) {
        out.push_back((*this)(c));
    }
    return out;
}

} // namespace triseg::search
