// TrainOptions: float training hyper-parameters (the `train` config section).
#pragma once

#include <cstdint>
#include <string>

#include "common/option_checks.h"

namespace triseg::engine {

/// Learning-rate schedules. Config values: cosine, constant, step.
enum class LrSchedule { Cosine, Constant, Step };

/// Options of the `train` config section (float training, SGD with momentum).
struct TrainOptions {
    /// `train.epochs`: passes over the training set.
    int64_t epochs = 15;
    /// `train.batch_size`: images per SGD step.
    int64_t batch_size = 128;
    /// `train.eval_batch_size`: images per forward pass when evaluating.
    int64_t eval_batch_size = 500;
    /// `train.lr`: peak learning rate.
    double lr = 0.05;
    /// `train.lr_schedule`: cosine decays per step to lr_min over all epochs.
    LrSchedule lr_schedule = LrSchedule::Cosine;
    /// `train.lr_min`: final learning rate of the cosine schedule.
    double lr_min = 0.0;
    /// `train.step_epochs` / `train.step_gamma`: the step schedule multiplies by gamma every N.
    int64_t step_epochs = 10;
    double step_gamma = 0.1;
    /// `train.momentum`: SGD momentum.
    double momentum = 0.9;
    /// `train.nesterov`: Nesterov momentum.
    bool nesterov = false;
    /// `train.weight_decay`: L2 penalty on all parameters.
    double weight_decay = 5e-4;
    /// `train.label_smoothing`: cross-entropy label smoothing in [0, 1).
    double label_smoothing = 0.0;

    bool operator==(const TrainOptions& o) const {
        return epochs == o.epochs && batch_size == o.batch_size &&
               eval_batch_size == o.eval_batch_size && lr == o.lr && lr_schedule == o.lr_schedule &&
               lr_min == o.lr_min && step_epochs == o.step_epochs && step_gamma == o.step_gamma &&
               momentum == o.momentum && nesterov == o.nesterov && weight_decay == o.weight_decay &&
               label_smoothing == o.label_smoothing;
    }
    bool operator!=(const TrainOptions& o) const { return !(*this == o); }

    void validate() const {
        detail::check_range<int64_t>("train.epochs", epochs, 1, 100000);
        detail::check_range<int64_t>("train.batch_size", batch_size, 1, 1 << 20);
        detail::check_range<int64_t>("train.eval_batch_size", eval_batch_size, 1, 1 << 20);
        detail::check_greater("train.lr", lr, 0.0);
        detail::check_range("train.lr_min", lr_min, 0.0, lr);
        detail::check_range<int64_t>("train.step_epochs", step_epochs, 1, 100000);
        detail::check_range("train.step_gamma", step_gamma, 0.0, 1.0);
        detail::check_range("train.momentum", momentum, 0.0, 1.0);
        detail::check_range("train.weight_decay", weight_decay, 0.0, 1.0);
        detail::check_range("train.label_smoothing", label_smoothing, 0.0, 0.99);
    }
};

} // namespace triseg::engine
