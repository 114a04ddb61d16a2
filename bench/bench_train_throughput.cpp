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
#include "models/spec/vgg_layout.h"
#include "models/spec/vgg_options.h"
#include "models/vgg.h"

namespace {

using triseg::bench::parse_arch;
using triseg::bench::parse_double;
using triseg::bench::parse_int;
using triseg::bench::usage_error;

using Clock = std::chrono::steady_clock;

constexpr double kLr = 0.05;
constexpr double kMomentum = 0.9;
constexpr double kWeightDecay = 5e-4;

/// Command-line options of the benchmark (names as the flags, without "--").
struct BenchOptions {
    /// Model architecture and input shape.
    triseg::models::VggOptions model;
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

constexpr const char* kUsage =
    "usage: bench_train_throughput [options]\n"
    "  --arch vgg16|vgg11   architecture (default vgg16)\n"
    "  --width W            channel multiplier in [0.01, 4] (default 0.25)\n"
    "  --batch N            images per step, >= 1 (default 128)\n"
    "  --threads N          intra-op threads, >= 1 (default 2)\n"
    "  --warmup N           untimed steps, >= 0 (default 3)\n"
    "  --iters N            timed steps, >= 1 (default 20)\n"
    "  --in-channels N      image channels (default 1)\n"
    "  --image-size N       image side, a multiple of 32 (default 32)\n"
    "  --classes N          classifier outputs (default 10)\n"
    "  --seed N             seed of the init and the batch (default 0)\n"
    "  --help               print this help\n"
    "Prints one JSON line with images_per_s.\n";

/// Parses argv; returns false when --help was printed.
bool parse_args(int argc, char** argv, BenchOptions& opts) {
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::fputs(kUsage, stdout);
            return false;
        }
        if (flag.rfind("--", 0) != 0) {
            usage_error("unexpected argument '" + flag + "'");
        }
        if (i + 1 >= argc) {
            usage_error(flag + " needs a value");
        }
        const std::string value = argv[++i];
        if (flag == "--arch") {
            opts.model.arch = parse_arch(flag, value);
        } else if (flag == "--width") {
            opts.model.width = parse_double(flag, value);
        } else if (flag == "--batch") {
            opts.batch = parse_int(flag, value, 1);
        } else if (flag == "--threads") {
            opts.threads = parse_int(flag, value, 1);
        } else if (flag == "--warmup") {
            opts.warmup = parse_int(flag, value, 0);
        } else if (flag == "--iters") {
            opts.iters = parse_int(flag, value, 1);
        } else if (flag == "--in-channels") {
            opts.model.in_channels = parse_int(flag, value, 1);
        } else if (flag == "--image-size") {
            opts.model.image_size = parse_int(flag, value, 1);
        } else if (flag == "--classes") {
            opts.model.num_classes = parse_int(flag, value, 2);
        } else if (flag == "--seed") {
            opts.seed = static_cast<uint64_t>(parse_int(flag, value, 0));
        } else {
            usage_error("unknown option '" + flag + "'");
        }
    }
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
    try {
        BenchOptions opts;
        if (!parse_args(argc, argv, opts)) {
            return 0;
        }
        return run(opts);
    } catch (const triseg::Error& e) {
        std::fprintf(stderr, "bench_train_throughput: %s\n", e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_train_throughput: %s\n", e.what());
        return 1;
    }
}
