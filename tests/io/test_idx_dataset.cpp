// Tests of the IDX readers: plain and gzip files, and every kind of corrupt file.
#include "io/idx_dataset.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/io/temp_dir.h"

namespace triseg::io {
namespace {

using test::Bytes;
using test::expect_error;
using test::idx_images;
using test::idx_labels;
using test::pattern_bytes;

constexpr uint32_t kCount = 3;
constexpr uint32_t kRows = 5;
constexpr uint32_t kCols = 4;
constexpr size_t kPixelBytes = kCount * kRows * kCols;
constexpr size_t kImagesFileBytes = 16 + kPixelBytes;

class IdxDatasetTest : public ::testing::Test {
protected:
    test::TempDir dir_;
    const Bytes pixels_ = pattern_bytes(kPixelBytes, 3);
    const Bytes labels_ = {7, 0, 9};

    /// Writes a consistent train-images / train-labels pair, gzip or plain.
    void write_pair(bool gzip) {
        auto write = gzip ? test::write_gzip : test::write_plain;
        const std::string ext = gzip ? ".gz" : "";
        write(dir_.file("train-images-idx3-ubyte" + ext),
              idx_images(kCount, kRows, kCols, pixels_));
        write(dir_.file("train-labels-idx1-ubyte" + ext), idx_labels(labels_));
    }
};

TEST_F(IdxDatasetTest, ReadsPlainAndGzipImages) {
    for (bool gzip : {false, true}) {
        const std::string path = dir_.file(gzip ? "a.gz" : "a");
        (gzip ? test::write_gzip : test::write_plain)(path,
                                                      idx_images(kCount, kRows, kCols, pixels_));
        const IdxImages img = read_idx_images(path);
        EXPECT_EQ(img.count, kCount);
        EXPECT_EQ(img.rows, kRows);
        EXPECT_EQ(img.cols, kCols);
        EXPECT_EQ(img.pixels, pixels_) << "gzip=" << gzip;
    }
}

TEST_F(IdxDatasetTest, ReadsPlainAndGzipLabels) {
    for (bool gzip : {false, true}) {
        const std::string path = dir_.file(gzip ? "l.gz" : "l");
        (gzip ? test::write_gzip : test::write_plain)(path, idx_labels(labels_));
        EXPECT_EQ(read_idx_labels(path), labels_) << "gzip=" << gzip;
    }
}

TEST_F(IdxDatasetTest, LoadsDatasetFromGzipOrPlain) {
    for (bool gzip : {false, true}) {
        test::TempDir fresh;
        auto write = gzip ? test::write_gzip : test::write_plain;
        const std::string ext = gzip ? ".gz" : "";
        write(fresh.file("t10k-images-idx3-ubyte" + ext),
              idx_images(kCount, kRows, kCols, pixels_));
        write(fresh.file("t10k-labels-idx1-ubyte" + ext), idx_labels(labels_));
        const ImageDataset d = load_idx_dataset(fresh.path().string(), "t10k", "toy/test");
        EXPECT_EQ(d.name, "toy/test");
        EXPECT_EQ(d.count, kCount);
        EXPECT_EQ(d.channels, 1);
        EXPECT_EQ(d.height, kRows);
        EXPECT_EQ(d.width, kCols);
        EXPECT_EQ(d.num_classes, 10);
        EXPECT_EQ(d.pixels, pixels_);
        EXPECT_EQ(d.labels, (std::vector<int64_t>{7, 0, 9}));
        EXPECT_NO_THROW(d.check());
    }
}

TEST_F(IdxDatasetTest, PrefersGzipOverPlain) {
    write_pair(true);
    // A corrupt plain copy next to the good .gz must be ignored.
    test::write_plain(dir_.file("train-images-idx3-ubyte"), Bytes{1, 2, 3});
    EXPECT_EQ(load_idx_dataset(dir_.path().string(), "train", "toy").count, kCount);
}

TEST_F(IdxDatasetTest, WrongMagicIsInputError) {
    const std::string path = dir_.file("magic.gz");
    test::write_gzip(path, idx_images(kCount, kRows, kCols, pixels_, 0x00000801));
    expect_error<InputError>([&] { read_idx_images(path); }, {path, "magic"});
    const std::string lpath = dir_.file("lmagic");
    test::write_plain(lpath, idx_labels(labels_, 0x00000803));
    expect_error<InputError>([&] { read_idx_labels(lpath); }, {lpath, "magic"});
}

TEST_F(IdxDatasetTest, TruncatedFileNamesExpectedAndActualBytes) {
    Bytes short_pixels(pixels_.begin(), pixels_.end() - 1);
    for (bool gzip : {false, true}) {
        const std::string path = dir_.file(gzip ? "short.gz" : "short");
        (gzip ? test::write_gzip
              : test::write_plain)(path, idx_images(kCount, kRows, kCols, short_pixels));
        expect_error<InputError>([&] { read_idx_images(path); },
                                 {path, "truncated", std::to_string(kImagesFileBytes),
                                  std::to_string(kImagesFileBytes - 1)});
    }
}

TEST_F(IdxDatasetTest, TruncatedHeaderIsInputError) {
    const std::string path = dir_.file("header");
    test::write_plain(path, Bytes{0, 0, 8, 3, 0, 0});
    expect_error<InputError>([&] { read_idx_images(path); }, {path, "header"});
}

TEST_F(IdxDatasetTest, CutGzipStreamIsInputError) {
    const std::string full = dir_.file("full.gz");
    test::write_gzip(full, idx_images(kCount, kRows, kCols, pattern_bytes(kPixelBytes * 50, 1)));
    // Rewrite the compressed bytes without their second half.
    Bytes compressed;
    {
        std::ifstream in(full, std::ios::binary);
        compressed.assign(std::istreambuf_iterator<char>(in), {});
    }
    compressed.resize(compressed.size() / 2);
    const std::string cut = dir_.file("cut.gz");
    test::write_plain(cut, compressed);
    expect_error<InputError>([&] { read_idx_images(cut); }, {cut});
}

TEST_F(IdxDatasetTest, TrailingBytesAreInputError) {
    Bytes long_pixels = pixels_;
    long_pixels.push_back(42);
    long_pixels.push_back(43);
    for (bool gzip : {false, true}) {
        const std::string path = dir_.file(gzip ? "long.gz" : "long");
        (gzip ? test::write_gzip
              : test::write_plain)(path, idx_images(kCount, kRows, kCols, long_pixels));
        expect_error<InputError>([&] { read_idx_images(path); },
                                 {path, "trailing", std::to_string(kImagesFileBytes),
                                  std::to_string(kImagesFileBytes + 2)});
    }
}

TEST_F(IdxDatasetTest, ZeroDimensionIsInputError) {
    const std::string path = dir_.file("zero");
    test::write_plain(path, idx_images(kCount, 0, kCols, {}));
    expect_error<InputError>([&] { read_idx_images(path); }, {path, "rows"});
}

TEST_F(IdxDatasetTest, MismatchedLabelCountNamesBothFiles) {
    write_pair(false);
    const std::string labels = dir_.file("train-labels-idx1-ubyte");
    test::write_plain(labels, idx_labels(Bytes{1, 2}));
    expect_error<InputError>([&] { load_idx_dataset(dir_.path().string(), "train", "toy"); },
                             {labels, dir_.file("train-images-idx3-ubyte")});
}

TEST_F(IdxDatasetTest, LabelOutOfRangeIsInputError) {
    write_pair(true);
    const std::string labels = dir_.file("train-labels-idx1-ubyte.gz");
    test::write_gzip(labels, idx_labels(Bytes{1, 10, 2}));
    expect_error<InputError>([&] { load_idx_dataset(dir_.path().string(), "train", "toy"); },
                             {labels, "label 10", "image 1"});
}

TEST_F(IdxDatasetTest, MissingFileIsIoError) {
    const std::string path = dir_.file("absent");
    expect_error<IoError>([&] { read_idx_images(path); }, {path});
    expect_error<IoError>([&] { read_idx_labels(path); }, {path});
}

TEST_F(IdxDatasetTest, MissingDatasetNamesBothCandidatesAndTheFix) {
    const std::string stem = dir_.file("train-images-idx3-ubyte");
    expect_error<IoError>(
        [&] { load_idx_dataset(dir_.path().string(), "train", "toy"); },
        {stem + ".gz", stem + " ", "apt-get install dataset-fashion-mnist", "data.root"});
}

} // namespace
} // namespace triseg::io
