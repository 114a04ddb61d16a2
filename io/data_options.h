// DataOptions: which dataset, where it lives, how it is split, padded and augmented.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/option_checks.h"

namespace triseg::io {

/// Datasets triseg can read. Config values: fashion-mnist, mnist, cifar10.
enum class DatasetKind { FashionMnist, Mnist, Cifar10 };

/// Options of the `data` config section.
struct DataOptions {
    /// `data.dataset`: which reader and normalization to use.
    DatasetKind dataset = DatasetKind::FashionMnist;
    /// `data.root`: folder of the files; empty means the Debian package's folder
    /// (/usr/share/datasets/fashion-mnist, /usr/share/datasets/mnist); cifar10 needs it.
    std::string root;
    /// `data.image_size`: images are zero-padded (centred) to this square size.
    int64_t image_size = 32;
    /// `data.augment`: random crop and horizontal flip on training batches.
    bool augment = true;
    /// `data.crop_padding`: pixels of zero padding around the image before the random crop.
    int64_t crop_padding = 4;
    /// `data.flip`: random horizontal flip (only when augment is on).
    bool flip = true;
    /// `data.val_size`: training images held out (deterministically by seed) for validation.
    int64_t val_size = 0;
    /// `data.train_limit`: use at most this many training images (0 = all).
    int64_t train_limit = 0;
    /// `data.test_limit`: use at most the first this many test images (0 = all).
    int64_t test_limit = 0;
    /// `data.mean` / `data.std`: per-channel normalization of [0,1] pixels; empty = dataset's.
    std::vector<double> mean;
    std::vector<double> std;

    bool operator==(const DataOptions& o) const {
        return dataset == o.dataset && root == o.root && image_size == o.image_size &&
               augment == o.augment && crop_padding == o.crop_padding && flip == o.flip &&
               val_size == o.val_size && train_limit == o.train_limit &&
               test_limit == o.test_limit && mean == o.mean && std == o.std;
    }
    bool operator!=(const DataOptions& o) const { return !(*this == o); }

    static constexpr double kMinStd = 1e-4; ///< bounds of each `data.std` entry
    static constexpr double kMaxStd = 1e4;
    static constexpr double kMaxMean = 1e4; ///< bound of each `data.mean` entry's magnitude

    void validate() const {
        detail::check_range<int64_t>("data.image_size", image_size, 8, 1024);
        detail::check_range<int64_t>("data.crop_padding", crop_padding, 0, 64);
        detail::check_range<int64_t>("data.val_size", val_size, 0, 100000000);
        detail::check_range<int64_t>("data.train_limit", train_limit, 0, 100000000);
        detail::check_range<int64_t>("data.test_limit", test_limit, 0, 100000000);
        TRISEG_CHECK(mean.size() == std.size(), ConfigError,
                     "`data.mean` and `data.std` must have the same length, got "
                         << mean.size() << " and " << std.size());
        // Pixels are in [0, 1]: a std outside these bounds (0, a denormal, .inf, .nan) makes
        // the normalized images non-finite, which no later stage can name.
        for (size_t i = 0; i < std.size(); ++i) {
            detail::check_range("data.std[" + std::to_string(i) + "]", std[i], kMinStd, kMaxStd);
            detail::check_range("data.mean[" + std::to_string(i) + "]", mean[i], -kMaxMean,
                                kMaxMean);
        }
    }
};

} // namespace triseg::io
