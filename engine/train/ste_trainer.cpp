// SteTrainer: TriSegmentSte as a TrainLoop target over the frozen fake-quant network.
#include "engine/train/ste_trainer.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include <torch/torch.h>

#include "common/error.h"
#include "engine/train/device.h"
#include "engine/train/ste_target.h"
#include "engine/train/train_loop.h"
#include "models/checkpoint.h"

namespace triseg::engine {

namespace {

/// The per-image size of every point's output, from one forward of a blank image.
std::vector<int64_t> point_sizes(models::QatNetImpl& model, int64_t channels, int64_t side) {
    std::vector<int64_t> sizes;
    model.set_point_hook([&sizes](int64_t, const torch::Tensor& x) {
        sizes.push_back(x[0].numel());
        return x;
    });
    torch::NoGradGuard no_grad;
    model.forward(torch::zeros({1, channels, side, side}));
    model.set_point_hook(nullptr);
    return sizes;
}

/// Refuses a student whose points are not the integer model's, naming the first difference.
void check_points(const std::vector<std::string>& student,
                  const std::vector<std::string>& int8,
                  const std::string& qat_checkpoint) {
    const size_t n = std::min(student.size(), int8.size());
    size_t i = 0;
    while (i < n && student[i] == int8[i]) {
        ++i;
    }
    if (i == n && student.size() == int8.size()) {
        return;
    }
    const auto name = [](const std::vector<std::string>& v, size_t k) {
        return k < v.size() ? "'" + v[k] + "'"
                            : std::string("none (it has ") + std::to_string(v.size()) + " points)";
    };
    TRISEG_THROW(InputError, "the points of QAT checkpoint '"
                                 << qat_checkpoint << "' are not the integer model's: point " << i
                                 << " is " << name(student, i) << " there and " << name(int8, i)
                                 << " in the integer model; export the integer model from "
                                    "this checkpoint again (`triseg export-int8`)");
}

} // namespace

int64_t codes_moved(const CodeSet& a, const CodeSet& b) {
    TRISEG_CHECK(a.layers.size() == b.layers.size(), InputError,
                 "codes_moved: " << a.layers.size() << " vs " << b.layers.size() << " layers");
    int64_t n = 0;
    for (size_t l = 0; l < a.layers.size(); ++l) {
        const auto& x = a.layers[l];
        const auto& y = b.layers[l];
        n += (x.t1 != y.t1) + (x.v1 != y.v1) + (x.t2 != y.t2) + (x.v2 != y.v2) + (x.tmax != y.tmax);
    }
    return n;
}

double percentile(std::vector<double> values, double level) {
    if (values.empty()) {
        return 0.0;
    }
    std::sort(values.begin(), values.end());
    const double rank = std::ceil(level / 100.0 * static_cast<double>(values.size()));
    const auto i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size())));
    return values[i - 1];
}

SteTrainer::SteTrainer(const TrainConfig& config,
                       const SteOptions& options,
                       const io::DatasetSplits& data,
                       SteTeacher teacher,
                       std::string qat_checkpoint,
                       std::vector<std::string> point_names,
                       std::vector<SteStart> start,
                       std::string out_dir,
                       bool verbose)
    : config_(config), options_(options), data_(data), teacher_(std::move(teacher)),
      qat_checkpoint_(std::move(qat_checkpoint)), point_names_(std::move(point_names)),
      start_(std::move(start)), out_dir_(std::move(out_dir)), verbose_(verbose) {
    options_.validate();
    TRISEG_CHECK(teacher_.classes > 0 && static_cast<int64_t>(teacher_.logits.size()) ==
                                             data_.train.count * teacher_.classes,
                 InputError,
                 "the teacher logits (" << teacher_.logits.size() << " values) do not fit "
                                        << data_.train.count << " training images");
}

std::vector<std::string> SteTrainer::layer_names() const {
    std::vector<std::string> names;
    for (const auto& l : module_->layers()) {
        names.push_back(l.name);
    }
    return names;
}

models::QatNet SteTrainer::prepare_student() {
    auto model = models::load_qat_net(qat_checkpoint_);
    TRISEG_CHECK(model->options() == config_.model, InputError,
                 "QAT checkpoint '" << qat_checkpoint_ << "' holds another model than the "
                                    << "config's `model:` section");
    const auto device = resolve_device(config_.runtime.device);
    configure_threads(config_.runtime.threads);
    model->eval();
    model->set_observing(false);
    for (auto& p : model->parameters()) {
        p.set_requires_grad(false);
    }
    const auto names = model->point_names();
    check_points(names, point_names_, qat_checkpoint_);
    const auto qparams = model->point_qparams();
    const auto sizes = point_sizes(*model, config_.model.in_channels, config_.model.image_size);
    std::vector<SteLayer> layers;
    for (size_t i = 0; i < names.size(); ++i) {
        SteLayer l;
        l.name = names[i];
        l.scale = qparams.at(i).scale;
        l.zero_point = qparams.at(i).zero_point;
        l.activations = sizes.at(i);
        layers.push_back(l);
    }
    TRISEG_CHECK(start_.size() == layers.size(), InputError,
                 "the STE start has " << start_.size() << " layers, the model " << layers.size());
    module_ = TriSegmentSte(layers, start_, options_.variant, options_.lsq_levels, options_.tmax);
    start_codes_ = module_->codes();
    model->to(device);
    model->set_point_hook(
        [ste = module_](int64_t i, const torch::Tensor& x) mutable { return ste->apply(i, x); });
    return model;
}

nlohmann::json SteTrainer::run(int64_t max_epochs, std::function<bool()> should_stop) {
    auto model = prepare_student();

    TrainOptions train;
    train.epochs = options_.epochs;
    train.batch_size = options_.batch_size;
    train.eval_batch_size = config_.train.eval_batch_size;
    train.lr = options_.lr;
    train.lr_schedule = LrSchedule::Constant;
    TrainConfig cfg = config_;
    cfg.data.augment = false; // the teacher's logits are of the plain images

    const auto teacher = torch::from_blob(teacher_.logits.data(),
                                          {data_.train.count, teacher_.classes}, torch::kFloat32);
    // Training batches drop the last partial one (io::make_loader_options).
    const int64_t steps_per_epoch = std::max<int64_t>(data_.train.count / options_.batch_size, 1);
    const auto step = std::make_shared<SteTarget>(
        model, module_, teacher, teacher_.temperature, options_, steps_per_epoch,
        out_dir_ + "/" + SteFiles::kHistory, start_codes_);
    TrainTarget target = ste_train_target(step);
    target.should_stop = std::move(should_stop);
    target.stage = "train-ste";

    TrainLoop loop(target, train, cfg, data_, out_dir_, verbose_);
    auto summary = loop.run(max_epochs);
    stopped_early_ = loop.stopped_early();
    model->set_point_hook(nullptr);
    return summary;
}

} // namespace triseg::engine
