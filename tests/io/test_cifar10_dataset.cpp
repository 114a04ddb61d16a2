// Tests of the CIFAR-10 binary reader on small synthetic batch files.
#include "io/cifar10_dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/io/temp_dir.h"

namespace triseg::io {
namespace {

using test::Bytes;
using test::cifar_record;
using test::expect_error;

constexpr int64_t kImageBytes = 3 * 32 * 32;

/// Concatenated records with the given labels; record r uses pixel salt r + salt0.
Bytes cifar_file(const std::vector<uint8_t>& labels, uint8_t salt0 = 0) {
    Bytes b;
    for (size_t r = 0; r < labels.size(); ++r) {
        const Bytes rec = cifar_record(labels[r], static_cast<uint8_t>(salt0 + r));
        b.insert(b.end(), rec.begin(), rec.end());
    }
    return b;
}

TEST(Cifar10DatasetTest, ReadsAndConcatenatesBatches) {
    test::TempDir dir;
    const std::string a = dir.file("a.bin");
    const std::string b = dir.file("b.bin");
    test::write_plain(a, cifar_file({3, 9}, 0));
    test::write_plain(b, cifar_file({0}, 2));
    const ImageDataset d = read_cifar10_batches({a, b}, "toy");
    EXPECT_EQ(d.name, "toy");
    EXPECT_EQ(d.count, 3);
    EXPECT_EQ(d.channels, 3);
    EXPECT_EQ(d.height, 32);
    EXPECT_EQ(d.width, 32);
    EXPECT_EQ(d.num_classes, 10);
    EXPECT_EQ(d.labels, (std::vector<int64_t>{3, 9, 0}));
    ASSERT_EQ(static_cast<int64_t>(d.pixels.size()), 3 * kImageBytes);
    for (int64_t r = 0; r < 3; ++r) {
        const Bytes want = test::pattern_bytes(kImageBytes, static_cast<uint8_t>(r));
        EXPECT_TRUE(std::equal(want.begin(), want.end(), d.pixels.begin() + r * kImageBytes))
            << "record " << r;
    }
    EXPECT_NO_THROW(d.check());
}

TEST(Cifar10DatasetTest, PlanesAreRedGreenBlueInChwOrder) {
    test::TempDir dir;
    Bytes rec{5};
    for (uint8_t plane_value : {10, 20, 30}) {
        rec.insert(rec.end(), 1024, plane_value);
    }
    const std::string path = dir.file("rgb.bin");
    test::write_plain(path, rec);
    const ImageDataset d = read_cifar10_batches({path}, "rgb");
    EXPECT_EQ(d.pixels[0], 10);               // R, first pixel
    EXPECT_EQ(d.pixels[1024 + 17], 20);       // G
    EXPECT_EQ(d.pixels[2 * 1024 + 1023], 30); // B, last pixel
}

TEST(Cifar10DatasetTest, LoadsTrainAndTestSplits) {
    test::TempDir dir;
    for (int i = 1; i <= 5; ++i) {
        test::write_plain(dir.file("data_batch_" + std::to_string(i) + ".bin"),
                          cifar_file({static_cast<uint8_t>(i), 0}, static_cast<uint8_t>(i)));
    }
    test::write_plain(dir.file("test_batch.bin"), cifar_file({4, 4, 4}));
    const ImageDataset train = load_cifar10_dataset(dir.path().string(), "train");
    EXPECT_EQ(train.count, 10);
    EXPECT_EQ(train.labels[0], 1);
    EXPECT_EQ(train.labels[8], 5);
    const ImageDataset test_set = load_cifar10_dataset(dir.path().string(), "test");
    EXPECT_EQ(test_set.count, 3);
}

TEST(Cifar10DatasetTest, UnknownSplitIsConfigError) {
    expect_error<ConfigError>([] { load_cifar10_dataset("/nowhere", "validation"); },
                              {"validation", "train", "test"});
}

TEST(Cifar10DatasetTest, SizeNotMultipleOfRecordIsInputError) {
    test::TempDir dir;
    const std::string path = dir.file("bad.bin");
    Bytes bytes = cifar_file({1, 2});
    bytes.pop_back();
    test::write_plain(path, bytes);
    expect_error<InputError>([&] { read_cifar10_batches({path}, "toy"); },
                             {path, std::to_string(2 * kCifarRecordBytes - 1), "3073"});
}

TEST(Cifar10DatasetTest, EmptyFileIsInputError) {
    test::TempDir dir;
    const std::string path = dir.file("empty.bin");
    test::write_plain(path, {});
    expect_error<InputError>([&] { read_cifar10_batches({path}, "toy"); }, {path});
}

TEST(Cifar10DatasetTest, LabelOutOfRangeNamesFileAndRecord) {
    test::TempDir dir;
    const std::string path = dir.file("label.bin");
    test::write_plain(path, cifar_file({1, 2, 10}));
    expect_error<InputError>([&] { read_cifar10_batches({path}, "toy"); },
                             {path, "record 2", "label 10"});
}

TEST(Cifar10DatasetTest, MissingFileIsIoError) {
    test::TempDir dir;
    test::write_plain(dir.file("data_batch_1.bin"), cifar_file({1}));
    // data_batch_2.bin is absent.
    expect_error<IoError>([&] { load_cifar10_dataset(dir.path().string(), "train"); },
                          {dir.file("data_batch_2.bin")});
}

} // namespace
} // namespace triseg::io
