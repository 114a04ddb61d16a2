// QatTrainer: the QAT network as a TrainLoop target, with calibration before the first epoch.
#include "engine/train/qat_trainer.h"

#include <cstdio>

#include <torch/torch.h>

#include "common/error.h"
#include "engine/train/batching.h"
#include "engine/train/device.h"
#include "engine/train/train_loop.h"
#include "io/atomic_file.h"
#include "models/checkpoint.h"
#include "models/nets.h"

namespace triseg::engine {

namespace {

TrainOptions sgd_options(const TrainConfig& config) {
    const auto& q = config.qat;
    TrainOptions t;
    t.epochs = q.epochs;
    t.batch_size = q.batch_size;
    t.eval_batch_size = config.train.eval_batch_size;
    t.lr = q.lr;
    t.lr_min = q.lr_min;
    t.lr_schedule = LrSchedule::Cosine;
    t.momentum = q.momentum;
    t.weight_decay = q.weight_decay;
    return t;
}

/// Runs `batches` un-augmented training batches through the observers, without gradients.
void calibrate(models::QatNet& model,
               const TrainConfig& config,
               const io::DatasetSplits& data,
               const c10::Device& device) {
    torch::NoGradGuard no_grad;
    auto opts = make_loader_options(config.data, data, config.qat.batch_size, false,
                                    static_cast<uint64_t>(config.runtime.seed));
    opts.shuffle = true; // a spread of classes, still deterministic
    io::BatchLoader loader(data.train, opts);
    loader.start_epoch(0);
    model->train();
    model->set_observing(true, config.qat.averaging_constant);
    io::Batch batch;
    for (int64_t i = 0; i < config.qat.calibration_batches && loader.next(batch); ++i) {
        model->forward(images_tensor(batch, device));
    }
}

} // namespace

QatTrainer::QatTrainer(const TrainConfig& config,
                       const io::DatasetSplits& data,
                       std::string float_checkpoint,
                       std::string out_dir,
                       bool verbose)
    : config_(config), data_(data), float_checkpoint_(std::move(float_checkpoint)),
      out_dir_(std::move(out_dir)), verbose_(verbose) {}

nlohmann::json QatTrainer::run(int64_t max_epochs) {
    auto float_model = models::load_float_net(float_checkpoint_);
    TRISEG_CHECK(float_model->options() == config_.model, InputError,
                 "float checkpoint '" << float_checkpoint_ << "' holds another model than the "
                                      << "config's `model:` section");
    check_data_fits(config_.model, data_.train, config_.data.image_size);
    models::QatNet model = models::fold_to_qat(*float_model);
    const auto device = resolve_device(config_.runtime.device);
    configure_threads(config_.runtime.threads);
    model->to(device);

    const bool fresh = !io::file_exists(out_dir_ + "/" + TrainFiles::kState);
    if (fresh) {
        if (verbose_) {
            std::printf("folded BatchNorm into %zu convs; calibrating observers on %lld batches\n",
                        model->folded_convs(),
                        static_cast<long long>(config_.qat.calibration_batches));
        }
        calibrate(model, config_, data_, device);
    }

    const auto& q = config_.qat;
    TrainTarget target;
    target.module = model;
    target.forward = [model](const torch::Tensor& x) mutable { return model->forward(x); };
    target.write = [model](torch::serialize::OutputArchive& ar) mutable {
        models::write_module(*model, model->options(), models::kQatKind, ar);
    };
    target.read = [model](torch::serialize::InputArchive& ar, const std::string& source) mutable {
        const auto stored = models::read_module_options(ar, source, models::kQatKind);
        TRISEG_CHECK(stored == model->options(), InputError,
                     "'" << source << "' holds another model; remove it or use a new --run-dir");
        models::read_module_state(*model, ar, source);
    };
    target.before_step = [model, q](int64_t step) mutable {
        model->set_observing(step < q.freeze_observers_after, q.averaging_constant);
    };
    target.stage = "train-qat";
    auto summary =
        TrainLoop(target, sgd_options(config_), config_, data_, out_dir_, verbose_).run(max_epochs);
    if (!summary.is_null()) {
        summary["float_checkpoint"] = float_checkpoint_;
    }
    return summary;
}

} // namespace triseg::engine
