// TrainLoop implementation.
#include "engine/train/train_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <torch/torch.h>

#include "common/error.h"
#include "common/progress.h"
#include "engine/train/batching.h"
#include "engine/train/classifier_eval.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "models/checkpoint.h"
#include "models/spec/model_options.h"

namespace triseg::engine {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kPi = 3.14159265358979323846;

std::string join_path(const std::string& dir, const char* file) {
    return dir + "/" + file;
}

std::string history_text(const nlohmann::json& history) {
    std::string text;
    for (const auto& rec : history) {
        text += rec.dump() + "\n";
    }
    return text;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

/// What one run() call holds between its steps.
struct TrainLoop::State {
    c10::Device device{c10::kCPU};
    int64_t threads = 0;
    std::unique_ptr<torch::optim::Optimizer> opt;
    std::function<void(torch::optim::Optimizer&, double)> set_lr;
    LossFn loss;
    std::string state_path;
    int64_t start_epoch = 0;
    nlohmann::json history = nlohmann::json::array();
    double wall_before = 0.0; ///< wall seconds of the epochs before a resume
    std::unique_ptr<io::BatchLoader> train_loader;
    io::BatchLoaderOptions eval_opts;
    int64_t steps_per_epoch = 0;
    int64_t total_steps = 0;
    Clock::time_point run_start;
};

LossFn cross_entropy_loss(double label_smoothing) {
    const auto opts =
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing);
    return [opts](const LossInput& b) {
        return torch::nn::functional::cross_entropy(b.logits, b.labels, opts);
    };
}

void set_learning_rate(torch::optim::Optimizer& opt, double lr) {
    for (auto& group : opt.param_groups()) {
        group.options().set_lr(lr);
    }
}

OptimizerFactory sgd_optimizer(const TrainOptions& train) {
    OptimizerFactory f;
    f.make = [train](std::vector<torch::Tensor> params) {
        return std::make_unique<torch::optim::SGD>(std::move(params),
                                                   torch::optim::SGDOptions(train.lr)
                                                       .momentum(train.momentum)
                                                       .nesterov(train.nesterov)
                                                       .weight_decay(train.weight_decay));
    };
    f.set_lr = set_learning_rate;
    return f;
}

void check_data_fits(const models::ModelOptions& model,
                     const io::ImageDataset& data,
                     int64_t image_size) {
    TRISEG_CHECK(data.channels == model.in_channels, InputError,
                 "dataset '" << data.name << "' has " << data.channels << " channel(s) but "
                             << "`model.in_channels` is " << model.in_channels);
    TRISEG_CHECK(data.num_classes <= model.num_classes, InputError,
                 "dataset '" << data.name << "' has " << data.num_classes << " classes but "
                             << "`model.num_classes` is " << model.num_classes);
    TRISEG_CHECK(image_size == model.image_size, InputError,
                 "`data.image_size` (" << image_size << ") must equal `model.image_size` ("
                                       << model.image_size << ")");
}

double scheduled_lr(const TrainOptions& train,
                    int64_t step,
                    int64_t total_steps,
                    int64_t steps_per_epoch) {
    switch (train.lr_schedule) {
    case LrSchedule::Constant:
        return train.lr;
    case LrSchedule::Step:
        return train.lr *
               std::pow(train.step_gamma,
                        static_cast<double>(step / (steps_per_epoch * train.step_epochs)));
    case LrSchedule::Cosine:
        break;
    }
    const double t = total_steps > 0 ? static_cast<double>(step) / total_steps : 1.0;
    return train.lr_min + 0.5 * (train.lr - train.lr_min) * (1.0 + std::cos(kPi * t));
}

TrainLoop::TrainLoop(TrainTarget target,
                     TrainOptions train,
                     const TrainConfig& config,
                     const io::DatasetSplits& data,
                     std::string out_dir,
                     bool verbose)
    : target_(std::move(target)), train_(std::move(train)), config_(config), data_(data),
      out_dir_(std::move(out_dir)), verbose_(verbose) {
    train_.validate();
    if (!target_.loss) {
        target_.loss = cross_entropy_loss(train_.label_smoothing);
    }
    if (!target_.optimizer.make) {
        target_.optimizer = sgd_optimizer(train_);
    }
    if (!target_.optimizer.set_lr) {
        target_.optimizer.set_lr = set_learning_rate;
    }
    if (!target_.before_step) {
        target_.before_step = [](int64_t) {};
    }
    if (!target_.after_step) {
        target_.after_step = [](int64_t, int64_t) {};
    }
    if (!target_.after_epoch) {
        target_.after_epoch = [](int64_t, nlohmann::json&) {};
    }
    if (!target_.should_stop) {
        target_.should_stop = [] { return false; };
    }
}

TrainLoop::~TrainLoop() = default;

nlohmann::json TrainLoop::run(int64_t max_epochs) {
    const auto& tr = train_;
    const auto& rt = config_.runtime;
    check_data_fits(config_.model, data_.train, config_.data.image_size);
    stopped_early_ = false;
    State s;
    s.device = resolve_device(rt.device);
    s.threads = configure_threads(rt.threads);
    const auto seed = static_cast<uint64_t>(rt.seed);
    target_.module->to(s.device);
    s.opt = target_.optimizer.make(target_.module->parameters());
    resume(s);

    s.train_loader = std::make_unique<io::BatchLoader>(
        data_.train, make_loader_options(config_.data, data_, tr.batch_size, true, seed));
    s.eval_opts = make_loader_options(config_.data, data_, tr.eval_batch_size, false, seed);
    s.steps_per_epoch = s.train_loader->batches_per_epoch();
    TRISEG_CHECK(s.steps_per_epoch > 0, InputError,
                 "the training set has " << data_.train.count << " images, fewer than one batch of "
                                         << tr.batch_size << "; lower `"
                                         << (target_.stage == "train-qat" ? "qat" : "train")
                                         << ".batch_size`");
    s.total_steps = s.steps_per_epoch * tr.epochs;
    s.run_start = Clock::now();

    const int64_t end_epoch =
        max_epochs > 0 ? std::min(tr.epochs, s.start_epoch + max_epochs) : tr.epochs;
    for (int64_t epoch = s.start_epoch; epoch < end_epoch; ++epoch) {
        const auto epoch_start = Clock::now();
        auto rec = train_epoch(s, epoch);
        if (rec.is_null()) { // should_stop() during the epoch
            stopped_early_ = true;
            return nullptr;
        }
        evaluate(s, rec);
        target_.after_epoch(epoch + 1, rec);
        const double elapsed = seconds_since(s.run_start);
        rec["epoch_seconds"] = seconds_since(epoch_start);
        rec["wall_seconds"] = s.wall_before + elapsed;
        s.history.push_back(rec);
        save_epoch(s, epoch, s.wall_before + elapsed);
        if (verbose_) {
            print_epoch(s, epoch, rec);
        }
    }

    if (end_epoch < tr.epochs) {
        if (verbose_) {
            std::printf("stopped after epoch %lld/%lld as asked; run again to continue\n",
                        static_cast<long long>(end_epoch), static_cast<long long>(tr.epochs));
        }
        return nullptr;
    }
    return finish(s);
}

void TrainLoop::resume(State& s) {
    s.state_path = join_path(out_dir_, TrainFiles::kState);
    if (!io::file_exists(s.state_path)) {
        return;
    }
    auto archive = models::open_archive(s.state_path);
    torch::serialize::InputArchive model_ar;
    torch::serialize::InputArchive opt_ar;
    archive.read("model", model_ar);
    archive.read("optimizer", opt_ar);
    target_.read(model_ar, s.state_path);
    target_.module->to(s.device);
    s.opt->load(opt_ar);
    c10::IValue v;
    archive.read("epoch", v);
    s.start_epoch = v.toInt();
    archive.read("history", v);
    s.history = nlohmann::json::parse(v.toStringRef());
    archive.read("wall_seconds", v);
    s.wall_before = v.toDouble();
    if (verbose_) {
        std::printf("resuming from %s after epoch %lld/%lld\n", s.state_path.c_str(),
                    static_cast<long long>(s.start_epoch), static_cast<long long>(train_.epochs));
    }
}

nlohmann::json TrainLoop::train_epoch(State& s, int64_t epoch) {
    const auto& tr = train_;
    const auto start = Clock::now();
    auto& loader = *s.train_loader;
    target_.module->train();
    loader.start_epoch(epoch);
    char label[64];
    std::snprintf(label, sizeof label, "epoch %lld/%lld", static_cast<long long>(epoch + 1),
                  static_cast<long long>(tr.epochs));
    ProgressBar bar(label, loader.images_per_epoch(), "img", verbose_);
    double loss_sum = 0.0;
    int64_t correct = 0;
    int64_t seen = 0;
    int64_t step = epoch * s.steps_per_epoch;
    double lr = tr.lr;
    io::Batch batch;
    while (loader.next(batch)) {
        if (target_.should_stop()) {
            return nullptr;
        }
        lr = scheduled_lr(tr, step++, s.total_steps, s.steps_per_epoch);
        target_.optimizer.set_lr(*s.opt, lr);
        const auto x = images_tensor(batch, s.device);
        const auto y = labels_tensor(batch, s.device);
        s.opt->zero_grad();
        target_.before_step(step - 1);
        const auto logits = target_.forward(x);
        const auto loss = target_.loss(LossInput{x, y, logits, batch.indices});
        loss.backward();
        s.opt->step();
        target_.after_step(step - 1, epoch + 1);
        const double batch_loss = loss.item<double>();
        TRISEG_CHECK(std::isfinite(batch_loss), InputError,
                     "training diverged at epoch " << epoch + 1 << " (loss " << batch_loss
                                                   << "); lower `train.lr`");
        loss_sum += batch_loss * static_cast<double>(batch.size);
        correct += logits.argmax(1).eq(y).sum().item<int64_t>();
        seen += batch.size;
        char extra[64];
        std::snprintf(extra, sizeof extra, "loss %.4f", loss_sum / static_cast<double>(seen));
        bar.update(seen, extra);
    }
    bar.finish();
    return {{"epoch", epoch + 1},
            {"lr", lr},
            {"train_loss", loss_sum / static_cast<double>(seen)},
            {"train_acc", 100.0 * static_cast<double>(correct) / seen},
            {"images_per_s", static_cast<double>(seen) / seconds_since(start)}};
}

void TrainLoop::evaluate(State& s, nlohmann::json& rec) {
    auto& module = *target_.module;
    if (data_.val.count > 0) {
        const auto val =
            evaluate_classifier(module, target_.forward, data_.val, s.eval_opts, s.device);
        rec["val_acc"] = val.accuracy();
        rec["val_loss"] = val.loss;
    }
    const auto test =
        evaluate_classifier(module, target_.forward, data_.test, s.eval_opts, s.device);
    rec["test_acc"] = test.accuracy();
    rec["test_loss"] = test.loss;
}

void TrainLoop::save_epoch(State& s, int64_t epoch, double wall_seconds) {
    // Checkpoint the finished epoch: state first, then the history that refers to it.
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_ar;
    torch::serialize::OutputArchive opt_ar;
    target_.write(model_ar);
    s.opt->save(opt_ar);
    archive.write("model", model_ar);
    archive.write("optimizer", opt_ar);
    archive.write("epoch", c10::IValue(epoch + 1));
    archive.write("history", c10::IValue(s.history.dump()));
    archive.write("wall_seconds", c10::IValue(wall_seconds));
    models::save_archive(archive, s.state_path);
    io::write_file_atomic(join_path(out_dir_, TrainFiles::kHistory), history_text(s.history));
}

void TrainLoop::print_epoch(const State& s, int64_t epoch, const nlohmann::json& rec) const {
    const auto& tr = train_;
    const double elapsed = rec["wall_seconds"].get<double>() - s.wall_before;
    const int64_t done = epoch + 1 - s.start_epoch;
    const double eta =
        elapsed / static_cast<double>(done) * static_cast<double>(tr.epochs - epoch - 1);
    std::string val_text;
    if (rec.contains("val_acc")) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "  val %.2f%%", rec["val_acc"].get<double>());
        val_text = buf;
    }
    std::printf("epoch %3lld/%lld  lr %.5f  loss %.4f  train %.2f%%%s  test %.2f%%  "
                "%.0f img/s  %.0f s  ETA %s\n",
                static_cast<long long>(epoch + 1), static_cast<long long>(tr.epochs),
                rec["lr"].get<double>(), rec["train_loss"].get<double>(),
                rec["train_acc"].get<double>(), val_text.c_str(), rec["test_acc"].get<double>(),
                rec["images_per_s"].get<double>(), rec["epoch_seconds"].get<double>(),
                ProgressBar::format_duration(eta).c_str());
    std::fflush(stdout);
}

nlohmann::json TrainLoop::finish(const State& s) {
    const auto& rt = config_.runtime;
    TRISEG_CHECK(!s.history.empty(), InputError,
                 "'" << s.state_path << "' records no finished epoch; remove it and train again");
    {
        torch::serialize::OutputArchive archive;
        target_.write(archive);
        models::save_archive(archive, join_path(out_dir_, TrainFiles::kModel));
    }
    const auto& last = s.history.back();
    nlohmann::json summary = {{"epochs", train_.epochs},
                              {"test_acc", last["test_acc"]},
                              {"test_loss", last["test_loss"]},
                              {"train_loss", last["train_loss"]},
                              {"train_images", data_.train.count},
                              {"test_images", data_.test.count},
                              {"threads", s.threads},
                              {"device", rt.device},
                              {"seed", rt.seed},
                              {"wall_seconds", last["wall_seconds"]}};
    if (last.contains("val_acc")) {
        summary["val_acc"] = last["val_acc"];
        summary["val_images"] = data_.val.count;
    }
    double img_s = 0.0;
    for (const auto& rec : s.history) {
        img_s += rec["images_per_s"].get<double>();
    }
    summary["mean_train_images_per_s"] = img_s / static_cast<double>(s.history.size());
    io::write_file_atomic(join_path(out_dir_, TrainFiles::kSummary), summary.dump(2) + "\n");
    return summary;
}

} // namespace triseg::engine
