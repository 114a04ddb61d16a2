// Tests of load_dataset: splits, limits, normalization defaults, on synthetic and real data.
#include "io/dataset_factory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/idx_dataset.h"
#include "tests/io/temp_dir.h"
#include "tests/require_all.h"

namespace triseg::io {
namespace {

using test::Bytes;
using test::expect_error;

constexpr int64_t kSide = 6;
constexpr int64_t kTrainCount = 60;
constexpr int64_t kTestCount = 12;
constexpr double kStatTol = 1e-12;
const char* const kFashionRoot = "/usr/share/datasets/fashion-mnist";

/// Writes an IDX dataset whose image i starts with byte i (so images identify their index).
void write_synthetic_idx(const test::TempDir& dir, const std::string& prefix, int64_t count) {
    Bytes pixels(static_cast<size_t>(count * kSide * kSide), 0);
    Bytes labels(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        pixels[static_cast<size_t>(i * kSide * kSide)] = static_cast<uint8_t>(i);
        labels[static_cast<size_t>(i)] = static_cast<uint8_t>(i % 10);
    }
    const auto n = static_cast<uint32_t>(count);
    test::write_gzip(dir.file(prefix + "-images-idx3-ubyte.gz"),
                     test::idx_images(n, kSide, kSide, pixels));
    test::write_plain(dir.file(prefix + "-labels-idx1-ubyte"), test::idx_labels(labels));
}

/// Source indices of a synthetic split (the first pixel of each image).
std::vector<int64_t> source_indices(const ImageDataset& d) {
    std::vector<int64_t> out;
    for (int64_t i = 0; i < d.count; ++i) {
        out.push_back(d.pixels[static_cast<size_t>(i * d.image_size())]);
        EXPECT_EQ(d.labels[static_cast<size_t>(i)], out.back() % 10);
    }
    return out;
}

class DatasetFactoryTest : public ::testing::Test {
protected:
    void SetUp() override {
        write_synthetic_idx(dir_, "train", kTrainCount);
        write_synthetic_idx(dir_, "t10k", kTestCount);
        opts_.dataset = DatasetKind::Mnist;
        opts_.root = dir_.path().string();
    }
    test::TempDir dir_;
    DataOptions opts_;
};

TEST(DatasetFactoryNames, NamesAndDefaultRoots) {
    EXPECT_EQ(dataset_name(DatasetKind::FashionMnist), "fashion-mnist");
    EXPECT_EQ(dataset_name(DatasetKind::Mnist), "mnist");
    EXPECT_EQ(dataset_name(DatasetKind::Cifar10), "cifar10");
    EXPECT_EQ(default_dataset_root(DatasetKind::FashionMnist), kFashionRoot);
    EXPECT_EQ(default_dataset_root(DatasetKind::Mnist), "/usr/share/datasets/mnist");
    EXPECT_EQ(default_dataset_root(DatasetKind::Cifar10), "");
}

TEST_F(DatasetFactoryTest, ValidationSplitIsDisjointAndCoversTraining) {
    opts_.val_size = 15;
    const DatasetSplits s = load_dataset(opts_, 7);
    EXPECT_EQ(s.train.name, "mnist/train");
    EXPECT_EQ(s.val.name, "mnist/val");
    EXPECT_EQ(s.test.name, "mnist/test");
    EXPECT_EQ(s.val.count, 15);
    EXPECT_EQ(s.train.count, kTrainCount - 15);
    EXPECT_EQ(s.test.count, kTestCount);
    const std::vector<int64_t> val = source_indices(s.val);
    const std::vector<int64_t> train = source_indices(s.train);
    std::set<int64_t> all(val.begin(), val.end());
    all.insert(train.begin(), train.end());
    EXPECT_EQ(static_cast<int64_t>(all.size()), kTrainCount);
    EXPECT_EQ(*all.rbegin(), kTrainCount - 1);
    EXPECT_EQ(source_indices(s.test), source_indices(load_dataset(opts_, 8).test));
}

TEST_F(DatasetFactoryTest, TrainLimitKeepsPrefixOfTheSameDraw) {
    opts_.val_size = 10;
    const std::vector<int64_t> full = source_indices(load_dataset(opts_, 3).train);
    opts_.train_limit = 20;
    const DatasetSplits limited = load_dataset(opts_, 3);
    const std::vector<int64_t> head = source_indices(limited.train);
    ASSERT_EQ(head.size(), 20U);
    EXPECT_TRUE(std::equal(head.begin(), head.end(), full.begin()));
    EXPECT_EQ(limited.val.count, 10);
}

TEST_F(DatasetFactoryTest, NoHoldOutKeepsFileOrder) {
    const DatasetSplits s = load_dataset(opts_, 1);
    EXPECT_EQ(s.val.count, 0);
    EXPECT_EQ(s.val.channels, 1);
    const std::vector<int64_t> train = source_indices(s.train);
    for (int64_t i = 0; i < kTrainCount; ++i) {
        EXPECT_EQ(train[static_cast<size_t>(i)], i);
    }
}

TEST_F(DatasetFactoryTest, TestLimitTakesFirstImages) {
    opts_.test_limit = 5;
    EXPECT_EQ(source_indices(load_dataset(opts_, 1).test), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST_F(DatasetFactoryTest, ValSizeTooLargeIsInputError) {
    opts_.val_size = kTrainCount;
    expect_error<InputError>([&] { load_dataset(opts_, 1); }, {"val_size", "60"});
}

TEST_F(DatasetFactoryTest, NormalizationDefaultsAndOverrides) {
    DatasetSplits s = load_dataset(opts_, 1);
    ASSERT_EQ(s.mean.size(), 1U);
    EXPECT_NEAR(s.mean[0], 0.1307, kStatTol);
    EXPECT_NEAR(s.std[0], 0.3081, kStatTol);
    opts_.mean = {0.5};
    opts_.std = {0.25};
    s = load_dataset(opts_, 1);
    EXPECT_EQ(s.mean, std::vector<double>{0.5});
    EXPECT_EQ(s.std, std::vector<double>{0.25});
    opts_.mean = {0.5, 0.5, 0.5};
    opts_.std = {0.2, 0.2, 0.2};
    expect_error<ConfigError>([&] { load_dataset(opts_, 1); }, {"data.mean", "1", "3"});
}

TEST(DatasetFactoryCifar, MissingRootIsConfigError) {
    DataOptions opts;
    opts.dataset = DatasetKind::Cifar10;
    expect_error<ConfigError>([&] { load_dataset(opts, 1); },
                              {"data.root", "data_batch_1.bin", "cifar-10-batches-bin"});
}

TEST(DatasetFactoryCifar, FolderWithoutTheBatchesNamesTheKeyAndEveryMissingFile) {
    test::TempDir dir;
    test::write_plain(dir.file("data_batch_1.bin"), test::cifar_record(1, 0));
    test::write_plain(dir.file("data_batch_3.bin"), test::cifar_record(3, 0));
    DataOptions opts;
    opts.dataset = DatasetKind::Cifar10;
    opts.root = dir.path().string();
    expect_error<IoError>([&] { load_dataset(opts, 1); },
                          {"data.root", dir.path().string(),
                           "lacks data_batch_2.bin, data_batch_4.bin, data_batch_5.bin, "
                           "test_batch.bin",
                           "cifar-10-batches-bin"});
    opts.root = dir.file("no-such-folder");
    expect_error<IoError>([&] { load_dataset(opts, 1); },
                          {"data.root", "no-such-folder", "lacks data_batch_1.bin"});
}

TEST(DatasetFactoryCifar, LoadsFromRootWithCifarNormalization) {
    test::TempDir dir;
    for (int i = 1; i <= 5; ++i) {
        test::write_plain(dir.file("data_batch_" + std::to_string(i) + ".bin"),
                          test::cifar_record(static_cast<uint8_t>(i), 0));
    }
    test::write_plain(dir.file("test_batch.bin"), test::cifar_record(9, 1));
    DataOptions opts;
    opts.dataset = DatasetKind::Cifar10;
    opts.root = dir.path().string();
    opts.val_size = 2;
    const DatasetSplits s = load_dataset(opts, 5);
    EXPECT_EQ(s.train.name, "cifar10/train");
    EXPECT_EQ(s.train.count, 3);
    EXPECT_EQ(s.val.count, 2);
    EXPECT_EQ(s.test.count, 1);
    EXPECT_EQ(s.mean.size(), 3U);
    EXPECT_NEAR(s.std[2], 0.2616, kStatTol);
}

/// Real Fashion-MNIST from the Debian package dataset-fashion-mnist.
class DatasetFactoryFashionMnist : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(std::string(kFashionRoot) + "/train-images-idx3-ubyte.gz")) {
            TRISEG_SKIP_UNLESS_REQUIRED("Fashion-MNIST is not installed at "
                                        << kFashionRoot
                                        << " (apt-get install dataset-fashion-mnist)");
        }
        opts_.val_size = 1000;
        opts_.train_limit = 512;
    }
    DataOptions opts_;
};

TEST_F(DatasetFactoryFashionMnist, SplitsAreDeterministicPerSeed) {
    const DatasetSplits a = load_dataset(opts_, 11);
    EXPECT_EQ(a.train.name, "fashion-mnist/train");
    EXPECT_EQ(a.val.name, "fashion-mnist/val");
    EXPECT_EQ(a.test.name, "fashion-mnist/test");
    EXPECT_EQ(a.train.count, 512);
    EXPECT_EQ(a.val.count, 1000);
    EXPECT_EQ(a.test.count, 10000);
    EXPECT_EQ(a.train.height, 28);
    EXPECT_EQ(a.train.width, 28);
    EXPECT_EQ(a.train.channels, 1);
    EXPECT_NEAR(a.mean[0], 0.2860, kStatTol);
    EXPECT_NEAR(a.std[0], 0.3530, kStatTol);
    EXPECT_NO_THROW(a.train.check());
    EXPECT_NO_THROW(a.val.check());
    // Every class appears in a 512-image random subset.
    EXPECT_EQ(std::set<int64_t>(a.train.labels.begin(), a.train.labels.end()).size(), 10U);

    const DatasetSplits same = load_dataset(opts_, 11);
    EXPECT_EQ(same.train.pixels, a.train.pixels);
    EXPECT_EQ(same.val.pixels, a.val.pixels);
    EXPECT_EQ(same.train.labels, a.train.labels);

    const DatasetSplits other = load_dataset(opts_, 12);
    EXPECT_NE(other.train.pixels, a.train.pixels);
    EXPECT_NE(other.val.pixels, a.val.pixels);
    EXPECT_EQ(other.test.pixels, a.test.pixels);
}

TEST_F(DatasetFactoryFashionMnist, TestLimitKeepsFirstTestImages) {
    opts_.test_limit = 100;
    const DatasetSplits limited = load_dataset(opts_, 1);
    ASSERT_EQ(limited.test.count, 100);
    const ImageDataset full = load_idx_dataset(kFashionRoot, "t10k", "full");
    EXPECT_TRUE(
        std::equal(limited.test.pixels.begin(), limited.test.pixels.end(), full.pixels.begin()));
    EXPECT_TRUE(
        std::equal(limited.test.labels.begin(), limited.test.labels.end(), full.labels.begin()));
}

} // namespace
} // namespace triseg::io
