// bench_train_throughput: float VGG training throughput (images/s) of triseg on LibTorch.
//
// Times exactly the step of engine/train/float_trainer.cpp (set lr, copy the batch into x/y,
// zero_grad, forward, cross_entropy, backward, SGD step, loss.item(), argmax accuracy) on one
// fixed random batch, and prints one JSON line. bench/train_throughput.py is the same benchmark
// in PyTorch; bench/compare_train.sh runs both side by side and reports the ratio.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <torch/torch.h>

#include "bench/bench_flags.h"
#include "common/error.h"
#include "models/spec/model_options.h"
#include "models/spec/vgg_layout.h"
#include "models/vgg.h"

namespace {

using triseg::bench::parse_arch;
using triseg::bench::usage_error;

using Clock = std::chrono::steady_clock;

constexpr double kLr = 0.05;
constexpr double kMomentum = 0.9;
constexpr double kWeightDecay = 5e-4;

/// Command-line options of the benchmark (names as the flags, without "--").
struct BenchOptions {
    /// Model architecture and input shape.
    triseg::models::ModelOptions model;
    /// Images per training step.
    int64_t batch = 128;
    /// Intra-op threads (at::set_num_threads).
    int64_t threads = 2;
    /// Untimed steps before the timed ones.
    int64_t warmup = 3;
    /// Timed steps.
    int64_t iters = 20;
    /// Seed of the model initialization and the random batch.
    uint64_t seed = 0;
};

constexpr const char* kSummary =
    "Training throughput of triseg's LibTorch VGG (SGD steps on a random batch). Prints one\n"
    "JSON line with images_per_s.";

/// Parses argv; returns false when --help was printed.
bool parse_args(int argc, char** argv, BenchOptions& opts) {
    auto seed = static_cast<int64_t>(opts.seed);
    std::string arch = triseg::models::arch_name(opts.model.arch);
    triseg::bench::BenchFlags flags("bench_train_throughput", kSummary);
    flags.add_string("arch", arch, "vgg16|vgg11", "architecture");
    flags.add_double("width", opts.model.width, "channel multiplier in [0.01, 4]");
    flags.add_int("batch", opts.batch, 1, "images per step");
    flags.add_int("threads", opts.threads, 1, "intra-op threads");
    flags.add_int("warmup", opts.warmup, 0, "untimed steps");
    flags.add_int("iters", opts.iters, 1, "timed steps");
    flags.add_int("in-channels", opts.model.in_channels, 1, "image channels");
    flags.add_int("image-size", opts.model.image_size, 1, "image side, a multiple of 32");
    flags.add_int("classes", opts.model.num_classes, 2, "classifier outputs");
    flags.add_int("seed", seed, 0, "seed of the init and the batch");
    if (!flags.parse(argc, argv)) {
        return false;
    }
    opts.seed = static_cast<uint64_t>(seed);
    opts.model.arch = parse_arch("--arch", arch);
    opts.model.validate(); // width, channels, classes, image size: ConfigError (exit 2)
    return true;
}

void set_threads(int64_t threads) {
    at::set_num_threads(static_cast<int>(threads));
    try {
        // Fails when inter-op work has already started; the intra-op setting is what counts.
        at::set_num_interop_threads(1);
    } catch (const std::exception&) {
    }
}

void set_lr(torch::optim::SGD& opt, double lr) {
    for (auto& group : opt.param_groups()) {
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    }
}

/// The body of the FloatTrainer loop; returns the correct count so nothing is optimized away.
int64_t train_step(triseg::models::Vgg& model,
                   torch::optim::SGD& opt,
                   const torch::Tensor& images,
                   const torch::Tensor& labels,
                   double& loss_out) {
    set_lr(opt, kLr);
    const auto x = images.clone(); // the trainer copies each batch out of the loader
    const auto y = labels.clone();
    opt.zero_grad();
    const auto logits = model->forward(x);
    const auto loss = torch::nn::functional::cross_entropy(logits, y);
    loss.backward();
    opt.step();
    loss_out = loss.item<double>();
    return logits.argmax(1).eq(y).sum().item<int64_t>();
}

int run(const BenchOptions& opts) {
    set_threads(opts.threads);
    torch::manual_seed(opts.seed);
    triseg::models::Vgg model(opts.model);
    model->train();
    torch::optim::SGD opt(
        model->parameters(),
        torch::optim::SGDOptions(kLr).momentum(kMomentum).weight_decay(kWeightDecay));
    const auto side = opts.model.image_size;
    const auto images = torch::randn({opts.batch, opts.model.in_channels, side, side});
    const auto labels = torch::randint(opts.model.num_classes, {opts.batch}, torch::kInt64);

    double loss = 0.0;
    int64_t correct = 0;
    for (int64_t i = 0; i < opts.warmup; ++i) {
        correct += train_step(model, opt, images, labels, loss);
    }
    const auto start = Clock::now();
    for (int64_t i = 0; i < opts.iters; ++i) {
        correct += train_step(model, opt, images, labels, loss);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double images_per_s = static_cast<double>(opts.batch * opts.iters) / seconds;
    std::printf("{\"impl\":\"triseg-libtorch\",\"arch\":\"%s\",\"width\":%g,\"batch\":%lld,"
                "\"threads\":%lld,\"iters\":%lld,\"seconds\":%.6f,\"images_per_s\":%.3f,"
                "\"final_loss\":%.6f,\"correct\":%lld}\n",
                triseg::models::arch_name(opts.model.arch).c_str(), opts.model.width,
                static_cast<long long>(opts.batch), static_cast<long long>(opts.threads),
                static_cast<long long>(opts.iters), seconds, images_per_s, loss,
                static_cast<long long>(correct));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return triseg::bench::guarded_main("bench_train_throughput", [&] {
        BenchOptions opts;
        if (!parse_args(argc, argv, opts)) {
            return 0;
        }
        return run(opts);
    });
}
