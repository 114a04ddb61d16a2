// FloatTrainer: the float network as a TrainLoop target.
#include "engine/train/float_trainer.h"

#include <torch/torch.h>

#include "common/error.h"
#include "engine/train/train_loop.h"
#include "models/checkpoint.h"
#include "models/nets.h"

namespace triseg::engine {

FloatTrainer::FloatTrainer(const TrainConfig& config,
                           const io::DatasetSplits& data,
                           std::string out_dir,
                           bool verbose)
    : config_(config), data_(data), out_dir_(std::move(out_dir)), verbose_(verbose) {}

nlohmann::json FloatTrainer::run(int64_t max_epochs) {
    check_data_fits(config_.model, data_.train, config_.data.image_size);
    torch::manual_seed(static_cast<uint64_t>(config_.runtime.seed));
    models::FloatNet model = models::make_float_net(config_.model);

    TrainTarget target;
    target.module = model;
    target.forward = [model](const torch::Tensor& x) mutable { return model->forward(x); };
    target.write = [model](torch::serialize::OutputArchive& ar) mutable {
        models::write_module(*model, model->options(), models::kFloatKind, ar);
    };
    target.read = [model](torch::serialize::InputArchive& ar, const std::string& source) mutable {
        const auto stored = models::read_module_options(ar, source, models::kFloatKind);
        TRISEG_CHECK(stored == model->options(), InputError,
                     "'" << source << "' was trained with another model config; remove it or "
                         << "use a new --run-dir");
        models::read_module_state(*model, ar, source);
    };
    target.before_step = [](int64_t) {};
    target.stage = "train-float";
    return TrainLoop(target, config_.train, config_, data_, out_dir_, verbose_).run(max_epochs);
}

} // namespace triseg::engine
