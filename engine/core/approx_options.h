// ApproxOptions: how tri-segment codes are scored (temperature, tmax, accuracy budget).
#pragma once

#include <cstdint>

#include "common/option_checks.h"

namespace triseg::engine {

/// Options of the `approx` config section.
struct ApproxOptions {
    /// `approx.temperature`: T of the KD loss kl_div(log_softmax(s/T), softmax(t/T)) * T^2.
    double temperature = 2.0;
    /// `approx.tmax`: the largest code the approximation touches (the original fixes 32).
    int64_t tmax = 32;
    /// `approx.max_acc_drop`: accuracy drop (points) a constrained-best result may cost.
    double max_acc_drop = 2.0;

    bool operator==(const ApproxOptions& o) const {
        return temperature == o.temperature && tmax == o.tmax && max_acc_drop == o.max_acc_drop;
    }
    bool operator!=(const ApproxOptions& o) const { return !(*this == o); }

    void validate() const {
        detail::check_range("approx.temperature", temperature, 0.01, 100.0);
        detail::check_range<int64_t>("approx.tmax", tmax, 12, 255);
        detail::check_range("approx.max_acc_drop", max_acc_drop, 0.0, 100.0);
    }
};

} // namespace triseg::engine
