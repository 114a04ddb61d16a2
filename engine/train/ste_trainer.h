// SteTrainer: the supervised STE baseline's training loop (train-ste).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/code_set.h"
#include "engine/train/ste_options.h"
#include "engine/train/train_config.h"
#include "engine/train/tri_segment_ste.h"
#include "io/dataset_factory.h"
#include "models/net_base.h"

namespace triseg::engine {

/// Files train-ste writes into its folder besides TrainLoop's (model.pt holds the module's
/// parameters, last.pt the resumable state, metrics.jsonl one record per epoch).
struct SteFiles {
    static constexpr const char* kHistory = "history.jsonl"; ///< one record per logged step
};

/// What the STE trains against.
struct SteTeacher {
    /// [data.train.count][classes]: the INT8 teacher's logits of every training image.
    std::vector<float> logits;
    int64_t classes = 0;
    double temperature = 2.0; ///< approx.temperature of the KD loss
};

/// Trains the tri-segment module at every approximation point of the fake-quant network (any
/// arch: a VGG chain's block outputs, a graph's ReLU and ReLU6 outputs):
///
///     student = QatNet (eval mode, frozen weights, observers off), point hook = TriSegmentSte
///     for epoch e in 1..epochs:                       # TrainLoop, data order keyed by (seed, e)
///         beta = max(beta_min, beta0 * beta_decay^(e-1))
///         for batch in training images (no augmentation):
///             loss = KD(student(batch), teacher logits of batch) - alpha * coverage
///             one Adam step on the module's 5 parameters per layer
///
/// KD is kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T^2 as in the search; coverage is
/// the mean over layers of mean(g_in). Resumable after the last finished epoch like
/// train-float; history.jsonl is rewritten at each epoch's end, before last.pt.
class SteTrainer {
public:
    /// `qat_checkpoint` is the run's qat/model.pt; `point_names` are the integer model's
    /// points in forward order, which the checkpoint's points must equal; `start` holds one
    /// entry per point; `data.train` are the training images the teacher logits belong to (in
    /// order); `out_dir` must exist.
    SteTrainer(const TrainConfig& config,
               const SteOptions& options,
               const io::DatasetSplits& data,
               SteTeacher teacher,
               std::string qat_checkpoint,
               std::vector<std::string> point_names,
               std::vector<SteStart> start,
               std::string out_dir,
               bool verbose);

    /// Trains or resumes; see TrainLoop::run. `should_stop` is polled before every batch.
    nlohmann::json run(int64_t max_epochs, std::function<bool()> should_stop);
    /// True when the last run() returned because should_stop() said so.
    bool stopped_early() const { return stopped_early_; }

    /// The rounded codes the module starts from, and those it holds now.
    const CodeSet& start_codes() const { return start_codes_; }
    CodeSet codes() const { return module_->codes(); }
    /// Layer (point) names, in forward order.
    std::vector<std::string> layer_names() const;

private:
    /// Loads the QAT checkpoint as the frozen student (eval mode, observers off, no gradients)
    /// on the run's device, builds module_ at its points (start_codes_) and hooks it in.
    /// @throws InputError when the checkpoint holds another model, its points are not
    /// point_names_ (naming the first that differs) or start_ does not fit it.
    models::QatNet prepare_student();

    const TrainConfig config_;
    const SteOptions options_;
    const io::DatasetSplits& data_;
    SteTeacher teacher_;
    std::string qat_checkpoint_;
    std::vector<std::string> point_names_;
    std::vector<SteStart> start_;
    std::string out_dir_;
    bool verbose_;
    TriSegmentSte module_{nullptr};
    CodeSet start_codes_;
    bool stopped_early_ = false;
};

/// Number of integer codes (of 5 per layer) that differ between `a` and `b`.
int64_t codes_moved(const CodeSet& a, const CodeSet& b);

/// The smallest value v of `values` with at least `level` percent of them <= v (nearest rank;
/// 0 for none). Sorts a copy.
double percentile(std::vector<double> values, double level);

} // namespace triseg::engine
