// SgdTrainer implementation.
#include "engine/train/sgd_trainer.h"

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
#include "models/spec/vgg_options.h"

namespace triseg::engine {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kPi = 3.14159265358979323846;

std::string join_path(const std::string& dir, const char* file) {
    return dir + "/" + file;
}

void set_lr(torch::optim::SGD& opt, double lr) {
    for (auto& group : opt.param_groups()) {
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    }
}

std::string history_text(const nlohmann::json& history) {
    std::string text;
    for (const auto& rec : history) {
        text += rec.dump() + "\n";
    }
    return text;
}

} // namespace

void check_data_fits(const models::VggOptions& model,
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

SgdTrainer::SgdTrainer(TrainTarget target,
                       TrainOptions train,
                       const TrainConfig& config,
                       const io::DatasetSplits& data,
                       std::string out_dir,
                       bool verbose)
    : target_(std::move(target)), train_(std::move(train)), config_(config), data_(data),
      out_dir_(std::move(out_dir)), verbose_(verbose) {
    train_.validate();
}

nlohmann::json SgdTrainer::run(int64_t max_epochs) {
    const auto& tr = train_;
    const auto& rt = config_.runtime;
    check_data_fits(config_.model, data_.train, config_.data.image_size);
    const auto device = resolve_device(rt.device);
    const int64_t threads = configure_threads(rt.threads);
    const auto seed = static_cast<uint64_t>(rt.seed);
    auto& module = *target_.module;
    module.to(device);

    // Resume from the last finished epoch, if any.
    const std::string state_path = join_path(out_dir_, TrainFiles::kState);
    int64_t start_epoch = 0;
    nlohmann::json history = nlohmann::json::array();
    double wall_before = 0.0;
    torch::optim::SGD opt(module.parameters(), torch::optim::SGDOptions(tr.lr)
                                                   .momentum(tr.momentum)
                                                   .nesterov(tr.nesterov)
                                                   .weight_decay(tr.weight_decay));
    if (io::file_exists(state_path)) {
        auto archive = models::open_archive(state_path);
        torch::serialize::InputArchive model_ar;
        torch::serialize::InputArchive opt_ar;
        archive.read("model", model_ar);
        archive.read("optimizer", opt_ar);
        target_.read(model_ar, state_path);
        module.to(device);
        opt.load(opt_ar);
        c10::IValue v;
        archive.read("epoch", v);
        start_epoch = v.toInt();
        archive.read("history", v);
        history = nlohmann::json::parse(v.toStringRef());
        archive.read("wall_seconds", v);
        wall_before = v.toDouble();
        if (verbose_) {
            std::printf("resuming from %s after epoch %lld/%lld\n", state_path.c_str(),
                        static_cast<long long>(start_epoch), static_cast<long long>(tr.epochs));
        }
    }

    io::BatchLoader train_loader(
        data_.train, make_loader_options(config_.data, data_, tr.batch_size, true, seed));
    const auto eval_opts =
        make_loader_options(config_.data, data_, tr.eval_batch_size, false, seed);
    const int64_t steps_per_epoch = train_loader.batches_per_epoch();
    TRISEG_CHECK(steps_per_epoch > 0, InputError,
                 "the training set has " << data_.train.count << " images, fewer than one batch of "
                                         << tr.batch_size << "; lower `train.batch_size`");
    const int64_t total_steps = steps_per_epoch * tr.epochs;
    const auto run_start = Clock::now();
    const auto loss_opts =
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(tr.label_smoothing);

    const int64_t end_epoch =
        max_epochs > 0 ? std::min(tr.epochs, start_epoch + max_epochs) : tr.epochs;
    for (int64_t epoch = start_epoch; epoch < end_epoch; ++epoch) {
        const auto epoch_start = Clock::now();
        module.train();
        train_loader.start_epoch(epoch);
        char label[64];
        std::snprintf(label, sizeof label, "epoch %lld/%lld", static_cast<long long>(epoch + 1),
                      static_cast<long long>(tr.epochs));
        ProgressBar bar(label, train_loader.images_per_epoch(), "img", verbose_);
        double loss_sum = 0.0;
        int64_t correct = 0;
        int64_t seen = 0;
        int64_t step = epoch * steps_per_epoch;
        double lr = tr.lr;
        io::Batch batch;
        while (train_loader.next(batch)) {
            lr = scheduled_lr(tr, step++, total_steps, steps_per_epoch);
            set_lr(opt, lr);
            const auto x = images_tensor(batch, device);
            const auto y = labels_tensor(batch, device);
            opt.zero_grad();
            target_.before_step(step - 1);
            const auto logits = target_.forward(x);
            const auto loss = torch::nn::functional::cross_entropy(logits, y, loss_opts);
            loss.backward();
            opt.step();
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
        const double train_seconds =
            std::chrono::duration<double>(Clock::now() - epoch_start).count();

        nlohmann::json rec = {{"epoch", epoch + 1},
                              {"lr", lr},
                              {"train_loss", loss_sum / static_cast<double>(seen)},
                              {"train_acc", 100.0 * static_cast<double>(correct) / seen},
                              {"images_per_s", static_cast<double>(seen) / train_seconds}};
        if (data_.val.count > 0) {
            const auto val =
                evaluate_classifier(module, target_.forward, data_.val, eval_opts, device);
            rec["val_acc"] = val.accuracy();
            rec["val_loss"] = val.loss;
        }
        const auto test =
            evaluate_classifier(module, target_.forward, data_.test, eval_opts, device);
        rec["test_acc"] = test.accuracy();
        rec["test_loss"] = test.loss;
        const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
        rec["epoch_seconds"] = std::chrono::duration<double>(Clock::now() - epoch_start).count();
        rec["wall_seconds"] = wall_before + elapsed;
        history.push_back(rec);

        // Checkpoint the finished epoch: state first, then the history that refers to it.
        {
            torch::serialize::OutputArchive archive;
            torch::serialize::OutputArchive model_ar;
            torch::serialize::OutputArchive opt_ar;
            target_.write(model_ar);
            opt.save(opt_ar);
            archive.write("model", model_ar);
            archive.write("optimizer", opt_ar);
            archive.write("epoch", c10::IValue(epoch + 1));
            archive.write("history", c10::IValue(history.dump()));
            archive.write("wall_seconds", c10::IValue(wall_before + elapsed));
            models::save_archive(archive, state_path);
        }
        io::write_file_atomic(join_path(out_dir_, TrainFiles::kHistory), history_text(history));

        if (verbose_) {
            const int64_t done = epoch + 1 - start_epoch;
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
                        static_cast<long long>(epoch + 1), static_cast<long long>(tr.epochs), lr,
                        rec["train_loss"].get<double>(), rec["train_acc"].get<double>(),
                        val_text.c_str(), test.accuracy(), rec["images_per_s"].get<double>(),
                        rec["epoch_seconds"].get<double>(),
                        ProgressBar::format_duration(eta).c_str());
            std::fflush(stdout);
        }
    }

    if (end_epoch < tr.epochs) {
        if (verbose_) {
            std::printf("stopped after epoch %lld/%lld as asked; run again to continue\n",
                        static_cast<long long>(end_epoch), static_cast<long long>(tr.epochs));
        }
        return nullptr;
    }
    TRISEG_CHECK(!history.empty(), InputError,
                 "'" << state_path << "' records no finished epoch; remove it and train again");
    {
        torch::serialize::OutputArchive archive;
        target_.write(archive);
        models::save_archive(archive, join_path(out_dir_, TrainFiles::kModel));
    }
    const auto& last = history.back();
    nlohmann::json summary = {{"epochs", tr.epochs},
                              {"test_acc", last["test_acc"]},
                              {"test_loss", last["test_loss"]},
                              {"train_loss", last["train_loss"]},
                              {"train_images", data_.train.count},
                              {"test_images", data_.test.count},
                              {"threads", threads},
                              {"device", rt.device},
                              {"seed", rt.seed},
                              {"wall_seconds", last["wall_seconds"]}};
    if (last.contains("val_acc")) {
        summary["val_acc"] = last["val_acc"];
        summary["val_images"] = data_.val.count;
    }
    double img_s = 0.0;
    for (const auto& rec : history) {
        img_s += rec["images_per_s"].get<double>();
    }
    summary["mean_train_images_per_s"] = img_s / static_cast<double>(history.size());
    io::write_file_atomic(join_path(out_dir_, TrainFiles::kSummary), summary.dump(2) + "\n");
    return summary;
}

} // namespace triseg::engine
