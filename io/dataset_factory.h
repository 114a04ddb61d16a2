// Builds the train / validation / test sets a DataOptions describes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/batch_loader.h"
#include "io/data_options.h"
#include "io/image_dataset.h"

namespace triseg::io {

/// The three splits of one dataset plus the normalization to use for all of them.
struct DatasetSplits {
    ImageDataset train;       ///< after the validation hold-out and train_limit
    ImageDataset val;         ///< empty (count 0) when data.val_size is 0
    ImageDataset test;        ///< the first test_limit images of the test set (all when 0)
    std::vector<double> mean; ///< per channel, resolved from options or dataset defaults
    std::vector<double> std;
    /// Every file read (training files, then test files), with its SHA-256: what a stage
    /// records so that a resume with changed data at the same path is refused.
    std::vector<SourceFile> sources;
};

/// Per-channel normalization of [0,1] pixels: (p - mean[c]) / std[c].
struct Normalization {
    std::vector<double> mean;
    std::vector<double> std;
};

/// The normalization of `opts` when given (data.mean / data.std, one entry per channel),
/// else the dataset's published statistics.
/// @throws ConfigError when the given lists do not have `channels` entries.
Normalization resolve_normalization(const DataOptions& opts, int64_t channels);

/// Canonical config spelling of a dataset kind ("fashion-mnist", ...).
std::string dataset_name(DatasetKind kind);

/// Folder used when data.root is empty ("/usr/share/datasets/fashion-mnist", ...); empty for
/// datasets that have no packaged default (cifar10).
std::string default_dataset_root(DatasetKind kind);

/// Loads the dataset of `opts`. The validation images are drawn from the training set by a
/// permutation seeded with `seed` (so the split is the same on every run with that seed);
/// train_limit then keeps the first N of the remaining training images in that order.
/// @throws ConfigError when cifar10 has no data.root or mean/std length != channels;
/// IoError / InputError from the readers; InputError when val_size >= training images.
DatasetSplits load_dataset(const DataOptions& opts, uint64_t seed);

/// The sources as a JSON-ready list of "<file name> <sha256>" lines (the folder left out, so
/// that a moved or copied dataset with the same content matches).
std::vector<std::string> source_lines(const std::vector<SourceFile>& sources);

/// Throws InputError (exit 3) naming the first file whose content differs between `recorded`
/// (source_lines of an earlier run) and `now`, what `stage` was, and `remedy`.
void check_same_sources(const std::vector<std::string>& recorded,
                        const std::vector<SourceFile>& now,
                        const std::string& stage,
                        const std::string& remedy);

/// Loader options for training (shuffled, augmented as DataOptions says, drop_last) or for
/// evaluation (file order, no augmentation), with the splits' resolved normalization.
BatchLoaderOptions make_loader_options(const DataOptions& data,
                                       const DatasetSplits& splits,
                                       int64_t batch_size,
                                       bool training,
                                       uint64_t seed);

} // namespace triseg::io
