// SteOptions: the supervised STE baseline (train-ste), the `ste` config section.
#pragma once

#include <cstdint>

#include "common/option_checks.h"

namespace triseg::engine {

/// How the tri-segment module passes gradients (docs/search.md, "The STE baseline").
enum class SteVariant {
    /// The original's (seed document 2.2.2): hard forward, backward through the soft gates
    /// g1, g2, g3 at temperature beta for the thresholds, the values and the activations.
    Original,
    /// LSQ-style (Esser et al. 2020): every threshold and value gradient scaled by
    /// 1/sqrt(N*Q); the values get the exact interior gradient of the hard map (the share of
    /// codes in their segment), the activations pass straight through; the thresholds keep
    /// the soft-gate gradient.
    Lsq,
};

inline const char* variant_name(SteVariant v) {
    return v == SteVariant::Lsq ? "lsq" : "original";
}

/// The smallest fixed `ste.tmax`: room for 1 < t1, t1 + 1 < t2, t2 + 1 < tmax with a margin.
constexpr int64_t kMinFixedTmax = 8;

/// Options of the `ste` config section.
struct SteOptions {
    /// `ste.variant`: original | lsq.
    SteVariant variant = SteVariant::Original;
    /// `ste.epochs`: passes over the training images (the original: 3-5).
    int64_t epochs = 3;
    /// `ste.batch_size`: images per Adam step.
    int64_t batch_size = 128;
    /// `ste.lr`: Adam's learning rate, constant.
    double lr = 0.01;
    /// `ste.alpha`: weight of the coverage term in loss = KD - alpha * coverage (0.05-0.1).
    double alpha = 0.05;
    /// `ste.beta0`, `ste.beta_decay`, `ste.beta_min`: soft-gate temperature of epoch e
    /// (1-based) is max(beta_min, beta0 * beta_decay^(e-1)).
    double beta0 = 1.2;
    double beta_decay = 0.85;
    double beta_min = 0.2;
    /// `ste.init_percentile`: the percentile of each layer's codes that sets tmax.
    double init_percentile = 90.0;
    /// `ste.tmax`: 0 = every layer learns its tmax (the original); else every layer's tmax is
    /// held at this code (8-255) and only t1, t2, v1 and v2 are learned, so the STE can be
    /// compared with the searches at a given coverage.
    int64_t tmax = 0;
    /// `ste.lsq_levels`: Q of the lsq variant's gradient scale 1/sqrt(N*Q) (uint8: 255).
    int64_t lsq_levels = 255;
    /// `ste.log_every`: a history.jsonl record every this many steps (and the last of
    /// every epoch).
    int64_t log_every = 10;

    double beta(int64_t epoch) const {
        double b = beta0;
        for (int64_t e = 1; e < epoch; ++e) {
            b *= beta_decay;
        }
        return b > beta_min ? b : beta_min;
    }

    bool operator==(const SteOptions& o) const {
        return variant == o.variant && epochs == o.epochs && batch_size == o.batch_size &&
               lr == o.lr && alpha == o.alpha && beta0 == o.beta0 && beta_decay == o.beta_decay &&
               beta_min == o.beta_min && init_percentile == o.init_percentile && tmax == o.tmax &&
               lsq_levels == o.lsq_levels && log_every == o.log_every;
    }
    bool operator!=(const SteOptions& o) const { return !(*this == o); }

    void validate() const {
        detail::check_range<int64_t>("ste.epochs", epochs, 1, 1000);
        detail::check_range<int64_t>("ste.batch_size", batch_size, 1, 1 << 16);
        detail::check_range("ste.lr", lr, 1e-8, 1.0);
        detail::check_range("ste.alpha", alpha, 0.0, 1.0);
        detail::check_range("ste.beta0", beta0, 1e-3, 100.0);
        detail::check_range("ste.beta_decay", beta_decay, 1e-3, 1.0);
        detail::check_range("ste.beta_min", beta_min, 1e-3, beta0);
        detail::check_range("ste.init_percentile", init_percentile, 1.0, 100.0);
        TRISEG_CHECK(tmax == 0 || (tmax >= kMinFixedTmax && tmax <= 255), ConfigError,
                     "`ste.tmax` must be 0 (learned) or a code in [" << kMinFixedTmax
                                                                     << ", 255], got " << tmax);
        detail::check_range<int64_t>("ste.lsq_levels", lsq_levels, 1, 1 << 16);
        detail::check_range<int64_t>("ste.log_every", log_every, 1, 1000000);
    }
};

} // namespace triseg::engine
