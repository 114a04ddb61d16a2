// Tests of BatchLoader: padding geometry, normalization, order, determinism, augmentation.
#include "io/batch_loader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "tests/io/temp_dir.h"

namespace triseg::io {
namespace {

constexpr float kTol = 1e-6F;

/// `count` images of channels x height x width; pixel values are distinct within an image
/// (up to 255 pixels) and never 0, so padding is recognisable.
ImageDataset synthetic(int64_t count, int64_t channels, int64_t height, int64_t width) {
    ImageDataset d;
    d.name = "synthetic";
    d.count = count;
    d.channels = channels;
    d.height = height;
    d.width = width;
    d.num_classes = 10;
    const int64_t bytes = d.image_size();
    d.pixels.resize(static_cast<size_t>(count * bytes));
    for (int64_t i = 0; i < count; ++i) {
        for (int64_t k = 0; k < bytes; ++k) {
            d.pixels[static_cast<size_t>(i * bytes + k)] = static_cast<uint8_t>(1 + (k + i) % 255);
        }
        d.labels.push_back(i % 10);
    }
    return d;
}

BatchLoaderOptions plain_options(int64_t channels, int64_t image_size) {
    BatchLoaderOptions o;
    o.image_size = image_size;
    o.mean.assign(static_cast<size_t>(channels), 0.0);
    o.std.assign(static_cast<size_t>(channels), 1.0);
    return o;
}

/// All batches of one epoch, concatenated into one batch.
Batch whole_epoch(BatchLoader& loader, int64_t epoch) {
    loader.start_epoch(epoch);
    Batch all;
    Batch b;
    while (loader.next(b)) {
        all.size += b.size;
        all.channels = b.channels;
        all.height = b.height;
        all.width = b.width;
        all.images.insert(all.images.end(), b.images.begin(), b.images.end());
        all.labels.insert(all.labels.end(), b.labels.begin(), b.labels.end());
        all.indices.insert(all.indices.end(), b.indices.begin(), b.indices.end());
    }
    return all;
}

TEST(BatchLoaderTest, CentresImageWithZeroPadding) {
    const ImageDataset d = synthetic(1, 1, 28, 28);
    BatchLoader loader(d, plain_options(1, 32));
    Batch b;
    ASSERT_TRUE(loader.next(b));
    ASSERT_EQ(b.size, 1);
    ASSERT_EQ(b.height, 32);
    ASSERT_EQ(b.width, 32);
    for (int64_t y = 0; y < 32; ++y) {
        for (int64_t x = 0; x < 32; ++x) {
            const bool inside = y >= 2 && y < 30 && x >= 2 && x < 30;
            const float want = inside ? d.pixels[(y - 2) * 28 + (x - 2)] / 255.0F : 0.0F;
            EXPECT_NEAR(b.images[y * 32 + x], want, kTol) << "y=" << y << " x=" << x;
        }
    }
    EXPECT_FALSE(loader.next(b));
}

TEST(BatchLoaderTest, OddPaddingPutsExtraRowBelowAndColumnRight) {
    const ImageDataset d = synthetic(1, 1, 5, 4);
    BatchLoader loader(d, plain_options(1, 8));
    Batch b;
    ASSERT_TRUE(loader.next(b));
    // top = (8 - 5) / 2 = 1, left = (8 - 4) / 2 = 2.
    EXPECT_NEAR(b.images[0 * 8 + 2], 0.0F, kTol);
    EXPECT_NEAR(b.images[1 * 8 + 2], d.pixels[0] / 255.0F, kTol);
    EXPECT_NEAR(b.images[5 * 8 + 5], d.pixels[4 * 4 + 3] / 255.0F, kTol);
    EXPECT_NEAR(b.images[6 * 8 + 5], 0.0F, kTol);
    EXPECT_NEAR(b.images[5 * 8 + 6], 0.0F, kTol);
}

TEST(BatchLoaderTest, NormalizesPerChannelIncludingPadding) {
    ImageDataset d = synthetic(1, 3, 2, 2);
    d.pixels = {255, 0, 51, 102, 255, 0, 51, 102, 255, 0, 51, 102};
    BatchLoaderOptions o = plain_options(3, 4);
    o.mean = {0.5, 0.0, 1.0};
    o.std = {0.25, 0.5, 2.0};
    BatchLoader loader(d, o);
    Batch b;
    ASSERT_TRUE(loader.next(b));
    for (int64_t c = 0; c < 3; ++c) {
        const float* plane = b.images.data() + c * 16;
        const auto norm = [&](double v) { return (v / 255.0 - o.mean[c]) / o.std[c]; };
        EXPECT_NEAR(plane[0], norm(0), kTol) << "padding, channel " << c;
        EXPECT_NEAR(plane[1 * 4 + 1], norm(d.pixels[c * 4 + 0]), kTol);
        EXPECT_NEAR(plane[1 * 4 + 2], norm(d.pixels[c * 4 + 1]), kTol);
        EXPECT_NEAR(plane[2 * 4 + 1], norm(d.pixels[c * 4 + 2]), kTol);
        EXPECT_NEAR(plane[2 * 4 + 2], norm(d.pixels[c * 4 + 3]), kTol);
    }
    EXPECT_NEAR(b.images[1 * 4 + 1], 2.0F, kTol); // (1 - 0.5) / 0.25
}

TEST(BatchLoaderTest, WithoutShuffleOrderIsSequential) {
    const ImageDataset d = synthetic(23, 1, 3, 3);
    BatchLoaderOptions o = plain_options(1, 3);
    o.batch_size = 5;
    BatchLoader loader(d, o);
    EXPECT_EQ(loader.batches_per_epoch(), 5);
    EXPECT_EQ(loader.images_per_epoch(), 23);
    const Batch all = whole_epoch(loader, 3);
    ASSERT_EQ(all.size, 23);
    for (int64_t i = 0; i < 23; ++i) {
        EXPECT_EQ(all.indices[i], i);
        EXPECT_EQ(all.labels[i], d.labels[i]);
    }
}

TEST(BatchLoaderTest, ShuffleVisitsEveryIndexOncePerEpoch) {
    const ImageDataset d = synthetic(103, 1, 3, 3);
    BatchLoaderOptions o = plain_options(1, 4);
    o.batch_size = 10;
    o.shuffle = true;
    BatchLoader loader(d, o);
    EXPECT_EQ(loader.batches_per_epoch(), 11);
    for (int64_t epoch : {0, 1, 2}) {
        const Batch all = whole_epoch(loader, epoch);
        ASSERT_EQ(all.size, 103);
        EXPECT_EQ(std::set<int64_t>(all.indices.begin(), all.indices.end()).size(), 103U);
        for (int64_t i = 0; i < all.size; ++i) {
            EXPECT_EQ(all.labels[i], d.labels[all.indices[i]]);
        }
        bool sequential = true;
        for (int64_t i = 0; i < all.size; ++i) {
            sequential = sequential && all.indices[i] == i;
        }
        EXPECT_FALSE(sequential) << "epoch " << epoch;
    }
}

TEST(BatchLoaderTest, DropLastDropsPartialBatch) {
    const ImageDataset d = synthetic(103, 1, 3, 3);
    BatchLoaderOptions o = plain_options(1, 3);
    o.batch_size = 10;
    o.shuffle = true;
    o.drop_last = true;
    BatchLoader loader(d, o);
    EXPECT_EQ(loader.batches_per_epoch(), 10);
    EXPECT_EQ(loader.images_per_epoch(), 100);
    loader.start_epoch(4);
    Batch b;
    int64_t batches = 0;
    while (loader.next(b)) {
        EXPECT_EQ(b.size, 10);
        EXPECT_EQ(b.images.size(), 10U * 9U);
        ++batches;
    }
    EXPECT_EQ(batches, 10);
}

TEST(BatchLoaderTest, SameSeedAndEpochAreIdentical) {
    const ImageDataset d = synthetic(40, 3, 6, 5);
    BatchLoaderOptions o = plain_options(3, 8);
    o.batch_size = 7;
    o.shuffle = true;
    o.augment = true;
    o.crop_padding = 2;
    o.seed = 99;
    BatchLoader a(d, o);
    BatchLoader b(d, o);
    const Batch a1 = whole_epoch(a, 1);
    EXPECT_EQ(a1.images, whole_epoch(b, 1).images);
    EXPECT_EQ(a1.indices, whole_epoch(b, 1).indices);
    const Batch a2 = whole_epoch(a, 2);
    EXPECT_NE(a1.indices, a2.indices);
    EXPECT_NE(a1.images, a2.images);
    o.seed = 100;
    BatchLoader c(d, o);
    EXPECT_NE(whole_epoch(c, 1).indices, a1.indices);
}

TEST(BatchLoaderTest, AugmentationDoesNotDependOnBatchSize) {
    const ImageDataset d = synthetic(30, 1, 5, 5);
    BatchLoaderOptions o = plain_options(1, 7);
    o.augment = true;
    o.crop_padding = 3;
    o.batch_size = 4;
    BatchLoader small(d, o);
    o.batch_size = 30;
    BatchLoader large(d, o);
    EXPECT_EQ(whole_epoch(small, 5).images, whole_epoch(large, 5).images);
}

/// Naive reference: pad the centred image by `pad` on a canvas, crop at (oy, ox), flip.
std::vector<float> reference(const ImageDataset& d,
                             int64_t index,
                             const BatchLoaderOptions& o,
                             int64_t oy,
                             int64_t ox,
                             bool flip) {
    const int64_t side = o.image_size;
    const int64_t canvas = side + 2 * o.crop_padding;
    const int64_t top = (side - d.height) / 2 + o.crop_padding;
    const int64_t left = (side - d.width) / 2 + o.crop_padding;
    std::vector<float> out;
    for (int64_t c = 0; c < d.channels; ++c) {
        std::vector<int> padded(static_cast<size_t>(canvas * canvas), 0);
        for (int64_t y = 0; y < d.height; ++y) {
            for (int64_t x = 0; x < d.width; ++x) {
                padded[(y + top) * canvas + x + left] =
                    d.pixels[((index * d.channels + c) * d.height + y) * d.width + x];
            }
        }
        for (int64_t y = 0; y < side; ++y) {
            for (int64_t x = 0; x < side; ++x) {
                const int64_t cx = flip ? side - 1 - x : x;
                const int v = padded[(y + oy) * canvas + cx + ox];
                out.push_back(static_cast<float>((v / 255.0 - o.mean[c]) / o.std[c]));
            }
        }
    }
    return out;
}

bool near_equal(const float* a, const std::vector<float>& b) {
    for (size_t k = 0; k < b.size(); ++k) {
        if (std::fabs(a[k] - b[k]) > kTol) {
            return false;
        }
    }
    return true;
}

TEST(BatchLoaderTest, CropAndFlipMatchNaiveReference) {
    // Non-square image, 3 channels, distinct pixel values so every placement is unique.
    const ImageDataset d = synthetic(20, 3, 5, 6);
    for (bool flip : {true, false}) {
        BatchLoaderOptions o = plain_options(3, 8);
        o.mean = {0.1, 0.2, 0.3};
        o.std = {0.5, 0.6, 0.7};
        o.augment = true;
        o.flip = flip;
        o.crop_padding = 2;
        o.batch_size = 6;
        o.shuffle = true;
        o.seed = 5;
        BatchLoader loader(d, o);
        std::set<std::tuple<int64_t, int64_t, bool>> seen;
        for (int64_t epoch = 0; epoch < 6; ++epoch) {
            const Batch all = whole_epoch(loader, epoch);
            const size_t stride = 3 * 8 * 8;
            for (int64_t i = 0; i < all.size; ++i) {
                int matches = 0;
                for (int64_t oy = 0; oy <= 4; ++oy) {
                    for (int64_t ox = 0; ox <= 4; ++ox) {
                        for (bool f : {false, true}) {
                            const auto ref = reference(d, all.indices[i], o, oy, ox, f);
                            if (near_equal(all.images.data() + i * stride, ref)) {
                                ++matches;
                                seen.insert({oy, ox, f});
                            }
                        }
                    }
                }
                EXPECT_EQ(matches, 1) << "epoch " << epoch << " image " << i;
            }
        }
        // 120 draws: most of the 25 offsets appear, and flips only when enabled.
        std::set<std::pair<int64_t, int64_t>> offsets;
        bool any_flip = false;
        for (const auto& [oy, ox, f] : seen) {
            offsets.insert({oy, ox});
            any_flip = any_flip || f;
        }
        EXPECT_GE(offsets.size(), 15U);
        EXPECT_EQ(any_flip, flip);
    }
}

TEST(BatchLoaderTest, BadOptionsThrowConfigError) {
    const ImageDataset d = synthetic(4, 1, 28, 28);
    const BatchLoaderOptions good = plain_options(1, 32);
    EXPECT_NO_THROW(BatchLoader(d, good));
    BatchLoaderOptions o = good;
    o.batch_size = 0;
    test::expect_error<ConfigError>([&] { BatchLoader(d, o); }, {"batch size", "0"});
    o = good;
    o.image_size = 27;
    test::expect_error<ConfigError>([&] { BatchLoader(d, o); }, {"data.image_size", "27", "28"});
    o = good;
    o.crop_padding = -1;
    test::expect_error<ConfigError>([&] { BatchLoader(d, o); }, {"data.crop_padding"});
    o = good;
    o.mean = {0.1, 0.2};
    test::expect_error<ConfigError>([&] { BatchLoader(d, o); }, {"data.mean", "2"});
    o = good;
    o.std = {};
    test::expect_error<ConfigError>([&] { BatchLoader(d, o); }, {"data.std"});
    o = good;
    o.std = {0.0};
    test::expect_error<ConfigError>([&] { BatchLoader(d, o); }, {"data.std", "> 0"});
}

} // namespace
} // namespace triseg::io
