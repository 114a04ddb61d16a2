// TrainLoop with a non-default loss and optimizer: MSE to one-hot targets with Adam on a tiny
// linear model over synthetic images (no dataset files needed).
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "engine/train/train_loop.h"
#include "io/atomic_file.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kClasses = 10;
constexpr int64_t kEpochs = 3;

/// `count` random 32x32 grey images whose label is set by their mean brightness band.
io::ImageDataset synthetic_images(const std::string& name, int64_t count, uint64_t seed) {
    io::ImageDataset d;
    d.name = name;
    d.count = count;
    d.channels = 1;
    d.height = kSide;
    d.width = kSide;
    d.num_classes = kClasses;
    torch::manual_seed(seed);
    const auto labels = torch::randint(kClasses, {count}, torch::kInt64);
    const auto noise = torch::randint(0, 40, {count, kSide * kSide}, torch::kInt64);
    const auto pixels = (labels.unsqueeze(1) * 20 + noise).to(torch::kUInt8).contiguous();
    d.pixels.assign(pixels.data_ptr<uint8_t>(), pixels.data_ptr<uint8_t>() + pixels.numel());
    d.labels.assign(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + count);
    d.check();
    return d;
}

io::DatasetSplits synthetic_splits() {
    io::DatasetSplits s;
    s.train = synthetic_images("synthetic/train", 128, 1);
    s.test = synthetic_images("synthetic/test", 40, 2);
    s.mean = {0.2};
    s.std = {0.5};
    return s;
}

TrainConfig tiny_config() {
    TrainConfig c;
    c.model.in_channels = 1;
    c.model.num_classes = kClasses;
    c.model.image_size = kSide;
    c.data.augment = false;
    c.train.epochs = kEpochs;
    c.train.batch_size = 16;
    c.train.eval_batch_size = 40;
    c.train.lr = 0.01;
    c.train.lr_schedule = LrSchedule::Constant;
    c.runtime.threads = 1;
    c.runtime.seed = 7;
    return c;
}

/// A linear classifier trained with Adam on MSE between its logits and the one-hot labels.
struct AdamMseTarget {
    torch::nn::Linear linear{nullptr};
    int optimizers_made = 0;

    TrainTarget make() {
        torch::manual_seed(11);
        linear = torch::nn::Linear(kSide * kSide, kClasses);
        TrainTarget t;
        t.module = linear.ptr();
        auto lin = linear;
        t.forward = [lin](const torch::Tensor& x) mutable { return lin->forward(x.flatten(1)); };
        t.write = [lin](torch::serialize::OutputArchive& ar) { lin->save(ar); };
        t.read = [lin](torch::serialize::InputArchive& ar, const std::string&) mutable {
            lin->load(ar);
        };
        t.loss = [](const LossInput& b) {
            const auto target = torch::one_hot(b.labels, kClasses).to(b.logits.dtype());
            return torch::mse_loss(b.logits, target);
        };
        t.optimizer.make = [this](std::vector<torch::Tensor> params) {
            ++optimizers_made;
            return std::make_unique<torch::optim::Adam>(std::move(params),
                                                        torch::optim::AdamOptions(0.01));
        };
        t.stage = "test-adam";
        return t;
    }
};

std::vector<nlohmann::json> read_history(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::istringstream in(io::read_file(path));
    std::string line;
    while (std::getline(in, line)) {
        auto rec = nlohmann::json::parse(line);
        for (const char* key : {"images_per_s", "epoch_seconds", "wall_seconds"}) {
            rec.erase(key);
        }
        out.push_back(rec);
    }
    return out;
}

TEST(TrainLoop, AdamOnMseLowersTheLossAndResumesExactly) {
    const auto data = synthetic_splits();
    const auto cfg = tiny_config();

    test::TempDir whole;
    AdamMseTarget a;
    TrainLoop(a.make(), cfg.train, cfg, data, whole.path().string(), false).run();
    EXPECT_EQ(a.optimizers_made, 1);
    const auto history = read_history(whole.file(TrainFiles::kHistory));
    ASSERT_EQ(history.size(), static_cast<size_t>(kEpochs));
    EXPECT_LT(history.back()["train_loss"].get<double>(),
              history.front()["train_loss"].get<double>());

    test::TempDir split;
    AdamMseTarget b;
    EXPECT_TRUE(
        TrainLoop(b.make(), cfg.train, cfg, data, split.path().string(), false).run(1).is_null());
    AdamMseTarget c; // a fresh model: everything comes back from last.pt (Adam moments too)
    TrainLoop(c.make(), cfg.train, cfg, data, split.path().string(), false).run();
    EXPECT_EQ(read_history(split.file(TrainFiles::kHistory)), history);
    EXPECT_TRUE(torch::equal(c.linear->weight, a.linear->weight));
    EXPECT_TRUE(torch::equal(c.linear->bias, a.linear->bias));
}

TEST(TrainLoop, HooksSeeEveryStepAndEpochAndAStopKeepsTheLastSavedEpoch) {
    const auto data = synthetic_splits();
    const auto cfg = tiny_config();
    constexpr int64_t kStepsPerEpoch = 128 / 16;

    test::TempDir dir;
    AdamMseTarget a;
    auto target = a.make();
    std::vector<std::pair<int64_t, int64_t>> steps; // (step, epoch)
    std::vector<int64_t> seen(128, 0);              // how often each training image came
    auto inner = target.loss;
    target.loss = [&](const LossInput& b) {
        EXPECT_EQ(static_cast<int64_t>(b.indices.size()), b.images.size(0));
        for (int64_t i : b.indices) {
            ++seen.at(static_cast<size_t>(i));
        }
        return inner(b);
    };
    target.after_step = [&](int64_t step, int64_t epoch) {
        EXPECT_TRUE(a.linear->weight.grad().defined()); // gradients are still there
        steps.emplace_back(step, epoch);
    };
    target.after_epoch = [](int64_t epoch, nlohmann::json& rec) { rec["hook_epoch"] = epoch; };
    // Stop before the 4th batch of the second epoch.
    target.should_stop = [&] { return static_cast<int64_t>(steps.size()) == kStepsPerEpoch + 3; };
    TrainLoop loop(target, cfg.train, cfg, data, dir.path().string(), false);
    EXPECT_TRUE(loop.run().is_null());
    EXPECT_TRUE(loop.stopped_early());
    ASSERT_EQ(static_cast<int64_t>(steps.size()), kStepsPerEpoch + 3);
    for (size_t i = 0; i < steps.size(); ++i) {
        EXPECT_EQ(steps[i].first, static_cast<int64_t>(i));
        EXPECT_EQ(steps[i].second, static_cast<int64_t>(i) / kStepsPerEpoch + 1);
    }
    for (int64_t n : std::vector<int64_t>(seen.begin(), seen.end())) {
        EXPECT_GE(n, 1); // the first epoch saw every image once
        EXPECT_LE(n, 2);
    }
    const auto history = read_history(dir.file(TrainFiles::kHistory));
    ASSERT_EQ(history.size(), 1u); // the interrupted epoch left nothing
    EXPECT_EQ(history[0]["hook_epoch"], 1);

    AdamMseTarget b; // resumes after epoch 1 and finishes
    TrainLoop rest(b.make(), cfg.train, cfg, data, dir.path().string(), false);
    EXPECT_FALSE(rest.run().is_null());
    EXPECT_FALSE(rest.stopped_early());
    EXPECT_EQ(read_history(dir.file(TrainFiles::kHistory)).size(), static_cast<size_t>(kEpochs));
}

} // namespace
} // namespace triseg::engine
