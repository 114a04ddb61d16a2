// QatOptions: quantization-aware fine-tuning of the BN-folded model.
#pragma once

#include <cstdint>

#include "common/option_checks.h"

namespace triseg::engine {

/// Options of the `qat` config section. The optimizer is SGD with momentum and a cosine
/// schedule, like float training, on the BN-folded network with fake quantization.
struct QatOptions {
    /// `qat.epochs`: fine-tuning passes over the training set.
    int64_t epochs = 3;
    /// `qat.batch_size`: images per step.
    int64_t batch_size = 128;
    /// `qat.lr` / `qat.lr_min`: cosine schedule from lr to lr_min.
    double lr = 0.002;
    double lr_min = 0.0;
    /// `qat.momentum`, `qat.weight_decay`: SGD settings.
    double momentum = 0.9;
    double weight_decay = 5e-5;
    /// `qat.calibration_batches`: batches run without gradients to initialize the
    /// activation observers before fine-tuning.
    int64_t calibration_batches = 20;
    /// `qat.averaging_constant`: moving-average factor of the min/max observers.
    double averaging_constant = 0.01;
    /// `qat.freeze_observers_after`: optimizer steps after which activation scales and zero
    /// points stop changing (the weights keep training against the frozen ranges).
    int64_t freeze_observers_after = 1000;

    bool operator==(const QatOptions& o) const {
        return epochs == o.epochs && batch_size == o.batch_size && lr == o.lr &&
               lr_min == o.lr_min && momentum == o.momentum && weight_decay == o.weight_decay &&
               calibration_batches == o.calibration_batches &&
               averaging_constant == o.averaging_constant &&
               freeze_observers_after == o.freeze_observers_after;
    }
    bool operator!=(const QatOptions& o) const { return !(*this == o); }

    void validate() const {
        detail::check_range<int64_t>("qat.epochs", epochs, 1, 100000);
        detail::check_range<int64_t>("qat.batch_size", batch_size, 1, 1 << 20);
        detail::check_greater("qat.lr", lr, 0.0);
        detail::check_range("qat.lr_min", lr_min, 0.0, lr);
        detail::check_range("qat.momentum", momentum, 0.0, 1.0);
        detail::check_range("qat.weight_decay", weight_decay, 0.0, 1.0);
        detail::check_range<int64_t>("qat.calibration_batches", calibration_batches, 1, 1000000);
        detail::check_range("qat.averaging_constant", averaging_constant, 1e-6, 1.0);
        detail::check_range<int64_t>("qat.freeze_observers_after", freeze_observers_after, 0,
                                     INT64_MAX);
    }
};

} // namespace triseg::engine
