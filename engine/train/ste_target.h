// SteTarget: what TrainLoop trains in train-ste (the tri-segment module inside the frozen
// fake-quant network), its KD loss, and the step and epoch records it writes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/code_set.h"
#include "engine/train/ste_options.h"
#include "engine/train/train_loop.h"
#include "engine/train/tri_segment_ste.h"
#include "models/net_base.h"

namespace triseg::engine {

/// The callbacks of one SteTrainer::run as one object (TrainLoop calls them through
/// ste_train_target):
///
///     forward(x)          = student(x) with the module's batch begun
///     loss(batch)         = KD(logits, teacher logits of the batch) - alpha * coverage
///     before_step(step)   sets beta for the step's epoch
///     after_step(step, e) adds the step's gradient norms and KD / coverage to the epoch's log,
///                         and keeps a history record every options.log_every steps and at the
///                         epoch's last step
///     after_epoch(e, rec) adds the epoch's means, codes and gradient-norm percentiles to rec,
///                         rewrites history.jsonl (the records of earlier epochs, then this
///                         epoch's) and clears the log
///
/// KD is kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T^2. The teacher logits are
/// indexed by the batch's positions in the training set; the tensor does not own them, so
/// their storage must outlive the target. Not thread-safe (TrainLoop calls it from one thread).
class SteTarget {
public:
    /// `model` is the frozen student whose point hook applies `ste`; `teacher_logits` is
    /// [training images][classes]; `steps_per_epoch` counts the optimizer steps of an epoch;
    /// `history` is the path of history.jsonl; `start_codes` are the codes the module started
    /// from (codes_moved counts against them).
    SteTarget(models::QatNet model,
              TriSegmentSte ste,
              torch::Tensor teacher_logits,
              double temperature,
              SteOptions options,
              int64_t steps_per_epoch,
              std::string history,
              CodeSet start_codes);

    /// The module TrainLoop optimizes and checkpoints.
    std::shared_ptr<torch::nn::Module> module() const { return ste_.ptr(); }

    torch::Tensor forward(const torch::Tensor& x);
    /// Writes the state's kind ("ste") and variant, then the module.
    void write(torch::serialize::OutputArchive& ar);
    /// @throws InputError naming `source` when it is not a train-ste state of this variant.
    void read(torch::serialize::InputArchive& ar, const std::string& source);
    torch::Tensor loss(const LossInput& batch);
    /// Adam over `params` with options.lr.
    std::unique_ptr<torch::optim::Optimizer>
    make_optimizer(std::vector<torch::Tensor> params) const;
    void before_step(int64_t step);
    void after_step(int64_t step, int64_t epoch);
    void after_epoch(int64_t epoch, nlohmann::json& record);

private:
    /// The current epoch's logged records, and every step's gradient norms (for percentiles).
    struct Log {
        std::string records;
        std::vector<std::vector<double>> grads{5}; ///< per parameter kind, every (step, layer)
        double kd_sum = 0.0;
        double coverage_sum = 0.0;
        double covered_sum = 0.0;
        int64_t steps = 0;
        double last_kd = 0.0;
        double last_coverage = 0.0;
    };

    models::QatNet model_;
    TriSegmentSte ste_;
    torch::Tensor teacher_;
    double temperature_;
    SteOptions options_;
    int64_t steps_per_epoch_;
    std::string history_;
    CodeSet start_codes_;
    Log log_;
};

/// A TrainTarget whose module and callbacks are `target`'s (each callback keeps it alive);
/// should_stop and stage are left to the caller.
TrainTarget ste_train_target(const std::shared_ptr<SteTarget>& target);

} // namespace triseg::engine
