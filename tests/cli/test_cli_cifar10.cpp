// configs/cifar10-vgg16.yaml (the original's setting) on a synthetic CIFAR-format
// folder: the config loads as written, train-float trains on it, a missing data.root is a
// clear error naming the key and the files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/config/config.h"
#include "io/data_options.h"
#include "tests/cli/cli_runner.h"
#include "tests/io/temp_dir.h"

namespace {

using triseg::test::contains;
using triseg::test::triseg;

constexpr int kUsage = 2;
constexpr int kIo = 4;
constexpr int kTrainRecordsPerBatch = 16; // x 5 files = 80 training images
constexpr int kTestRecords = 40;

const std::string kConfig = "configs/cifar10-vgg16.yaml";

/// Writes data_batch_1..5.bin and test_batch.bin in the CIFAR-10 binary format
/// (label byte + 3072 pixel bytes per record), labels cycling over the 10 classes.
void write_cifar_folder(const triseg::test::TempDir& dir) {
    int record = 0;
    const auto write = [&](const std::string& name, int records) {
        triseg::test::Bytes bytes;
        for (int r = 0; r < records; ++r, ++record) {
            const triseg::test::Bytes rec = triseg::test::cifar_record(
                static_cast<uint8_t>(record % 10), static_cast<uint8_t>(record * 13));
            bytes.insert(bytes.end(), rec.begin(), rec.end());
        }
        triseg::test::write_plain(dir.file(name), bytes);
    };
    for (int i = 1; i <= 5; ++i) {
        write("data_batch_" + std::to_string(i) + ".bin", kTrainRecordsPerBatch);
    }
    write("test_batch.bin", kTestRecords);
}

TEST(CliCifar10, TheConfigIsTheOriginalsSetting) {
    const auto c = triseg::cli::load_config(std::string(TRISEG_SOURCE_DIR) + "/" + kConfig, {});
    EXPECT_EQ(c.data.dataset, triseg::io::DatasetKind::Cifar10);
    EXPECT_EQ(c.data.root, "") << "the user's folder is set with --set data.root";
    EXPECT_EQ(c.model.width, 1.0);
    EXPECT_EQ(c.model.in_channels, 3);
    EXPECT_EQ(c.model.image_size, 32);
    EXPECT_EQ(c.model.num_classes, 10);
    // The seed document: train_float --epochs 20, train_qat --qat-epochs 10, PPO 500 episodes
    // at T=2 with tmax 32 and at most 2 points of drop, held-out rounds every 50 episodes.
    EXPECT_EQ(c.train.epochs, 20);
    EXPECT_EQ(c.qat.epochs, 10);
    EXPECT_EQ(c.search.method, "ppo");
    EXPECT_EQ(c.search.episodes, 500);
    EXPECT_EQ(c.search.eval_every, 50);
    EXPECT_EQ(c.approx.temperature, 2.0);
    EXPECT_EQ(c.approx.tmax, 32);
    EXPECT_EQ(c.approx.max_acc_drop, 2.0);
}

TEST(CliCifar10, MissingDataRootNamesTheKeyAndTheFiles) {
    triseg::test::TempDir dir;
    auto r = triseg("train-float -c " + kConfig + " -q -r " + dir.file("run"));
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "data.root") && contains(r.output, "data_batch_1.bin") &&
                contains(r.output, "test_batch.bin"))
        << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("run/float/model.pt")));

    r = triseg("train-float -c " + kConfig + " --set data.root=" + dir.file("nowhere") + " -q -r " +
               dir.file("run"));
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "data.root") && contains(r.output, dir.file("nowhere")) &&
                contains(r.output, "data_batch_1.bin") && contains(r.output, "test_batch.bin"))
        << r.output;
}

TEST(CliCifar10, TrainFloatRunsOnASyntheticCifarFolder) {
    triseg::test::TempDir data;
    write_cifar_folder(data);
    triseg::test::TempDir dir;
    const std::string run = dir.file("run");
    // The config as shipped (VGG-16 width 1.0, 3x32x32), shortened to one epoch of 2 steps.
    const std::string cmd = "train-float -c " + kConfig +
                            " --set data.root=" + data.path().string() +
                            " --set train.epochs=1 --set data.train_limit=32"
                            " --set train.batch_size=16 --set data.test_limit=16"
                            " --set train.eval_batch_size=16 --set runtime.threads=2 -q -r " +
                            run;
    const auto r = triseg(cmd);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "test accuracy")) << r.output;
    EXPECT_TRUE(std::filesystem::exists(run + "/float/model.pt"));
    std::ifstream in(run + "/config.yaml");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(contains(text, "dataset: cifar10") && contains(text, "width: 1.0") &&
                contains(text, "in_channels: 3"))
        << text;
    // It trained on 32 of the 80 CIFAR training records and was evaluated on 16 test records.
    std::ifstream metrics(run + "/float/metrics.json");
    const std::string m((std::istreambuf_iterator<char>(metrics)),
                        std::istreambuf_iterator<char>());
    EXPECT_TRUE(contains(m, "\"train_images\": 32") && contains(m, "\"test_images\": 16")) << m;
}

TEST(CliCifar10, TheGraphNetworkConfigsLoadAndResNet18RunsOnCifar) {
    const auto load = [](const std::string& name) {
        return triseg::cli::load_config(std::string(TRISEG_SOURCE_DIR) + "/configs/" + name, {});
    };
    EXPECT_EQ(load("cifar10-resnet18.yaml").model.arch, triseg::models::ModelArch::ResNet18);
    const auto r20 = load("fmnist-resnet20.yaml");
    EXPECT_EQ(r20.model.arch, triseg::models::ModelArch::ResNet20);
    EXPECT_EQ(r20.model.image_size, 28);
    EXPECT_EQ(r20.data.image_size, 28);
    EXPECT_EQ(load("fmnist-mobilenetv2.yaml").model.arch, triseg::models::ModelArch::MobileNetV2);

    // ResNet-18 as shipped but narrow, one epoch of 2 steps, then QAT, export and eval-int8.
    triseg::test::TempDir data;
    write_cifar_folder(data);
    triseg::test::TempDir dir;
    const std::string run = dir.file("run");
    auto r = triseg(
        "train-float -c configs/cifar10-resnet18.yaml --set data.root=" + data.path().string() +
        " --set model.width=0.125 --set train.epochs=1 --set data.train_limit=32"
        " --set train.batch_size=16 --set data.test_limit=16"
        " --set train.eval_batch_size=16 --set runtime.threads=2 -q -r " +
        run);
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg("train-qat --set qat.epochs=1 --set qat.calibration_batches=2 -q -r " + run);
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "lower `qat.batch_size`")) << r.output;
    r = triseg("train-qat --set qat.epochs=1 --set qat.calibration_batches=2"
               " --set qat.batch_size=16 -q -r " +
               run);
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg("export-int8 -r " + run);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "17 approximation points")) << r.output;
    r = triseg("eval-int8 -r " + run);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(std::filesystem::exists(run + "/int8/eval.json"));
}

} // namespace
