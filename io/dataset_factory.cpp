// Builds the train / validation / test sets a DataOptions describes.
#include "io/dataset_factory.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <utility>

#include "common/error.h"
#include "common/rng.h"
#include "common/rng_streams.h"
#include "io/cifar10_dataset.h"
#include "io/idx_dataset.h"

namespace triseg::io {
namespace {

/// Per-channel statistics of the training sets on [0,1] pixels (the usual published values).
Normalization default_normalization(DatasetKind kind) {
    switch (kind) {
    case DatasetKind::FashionMnist:
        return {{0.2860}, {0.3530}};
    case DatasetKind::Mnist:
        return {{0.1307}, {0.3081}};
    case DatasetKind::Cifar10:
        return {{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};
    }
    TRISEG_THROW(ConfigError, "unknown dataset kind " << static_cast<int>(kind));
}

} // namespace

Normalization resolve_normalization(const DataOptions& opts, int64_t channels) {
    if (opts.mean.empty() && opts.std.empty()) {
        return default_normalization(opts.dataset);
    }
    const auto want = static_cast<size_t>(channels);
    TRISEG_CHECK(opts.mean.size() == want, ConfigError,
                 "`data.mean` must have " << want << " entries (one per channel of "
                                          << dataset_name(opts.dataset) << "), got "
                                          << opts.mean.size());
    TRISEG_CHECK(opts.std.size() == want, ConfigError,
                 "`data.std` must have " << want << " entries (one per channel of "
                                         << dataset_name(opts.dataset) << "), got "
                                         << opts.std.size());
    return {opts.mean, opts.std};
}

std::string dataset_name(DatasetKind kind) {
    switch (kind) {
    case DatasetKind::FashionMnist:
        return "fashion-mnist";
    case DatasetKind::Mnist:
        return "mnist";
    case DatasetKind::Cifar10:
        return "cifar10";
    }
    TRISEG_THROW(ConfigError, "unknown dataset kind " << static_cast<int>(kind));
}

std::string default_dataset_root(DatasetKind kind) {
    switch (kind) {
    case DatasetKind::FashionMnist:
        return "/usr/share/datasets/fashion-mnist";
    case DatasetKind::Mnist:
        return "/usr/share/datasets/mnist";
    case DatasetKind::Cifar10:
        return "";
    }
    TRISEG_THROW(ConfigError, "unknown dataset kind " << static_cast<int>(kind));
}

DatasetSplits load_dataset(const DataOptions& opts, uint64_t seed) {
    opts.validate();
    const std::string name = dataset_name(opts.dataset);
    const std::string root = opts.root.empty() ? default_dataset_root(opts.dataset) : opts.root;

    ImageDataset full_train;
    ImageDataset test;
    if (opts.dataset == DatasetKind::Cifar10) {
        TRISEG_CHECK(!root.empty(), ConfigError,
                     "cifar10 has no default location: set data.root to the folder with "
                     "data_batch_1.bin ... data_batch_5.bin and test_batch.bin "
                     "(cifar-10-batches-bin)");
        // Name the key and every file the folder lacks before reading any: the reader alone
        // would name only the first missing path, not which setting to fix.
        std::string missing;
        for (const char* f : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                              "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}) {
            if (!std::filesystem::is_regular_file(std::filesystem::path(root) / f)) {
                missing += std::string(missing.empty() ? "" : ", ") + f;
            }
        }
        TRISEG_CHECK(missing.empty(), IoError,
                     "data.root '" << root << "' lacks " << missing
                                   << ": cifar10 reads data_batch_1.bin ... data_batch_5.bin and "
                                      "test_batch.bin from it; set data.root to the "
                                      "cifar-10-batches-bin folder of the CIFAR-10 binary version");
        full_train = load_cifar10_dataset(root, "train");
        test = load_cifar10_dataset(root, "test");
    } else {
        full_train = load_idx_dataset(root, "train", name + "/train");
        test = load_idx_dataset(root, "t10k", name + "/test");
    }

    DatasetSplits out;
    out.sources = full_train.sources;
    out.sources.insert(out.sources.end(), test.sources.begin(), test.sources.end());
    Normalization norm = resolve_normalization(opts, full_train.channels);
    out.mean = std::move(norm.mean);
    out.std = std::move(norm.std);

    // Validation split. All training indices are permuted with Rng(seed, kValidationSplit)
    // (common/rng_streams.h); val is the first val_size of the permutation (in drawn order),
    // train the rest (also in drawn order), and train_limit keeps the first train_limit of that
    // train list. Drawing the limited subset from a permutation keeps small subsets
    // class-balanced in expectation. With no hold-out and no limit the training set is kept as
    // read (file order, no copy).
    const int64_t n = full_train.count;
    TRISEG_CHECK(opts.val_size < n, InputError,
                 "`data.val_size` " << opts.val_size << " must be smaller than the " << n
                                    << " training images of " << name);
    const bool limited = opts.train_limit > 0 && opts.train_limit < n - opts.val_size;
    if (opts.val_size == 0 && !limited) {
        out.train = std::move(full_train);
        out.val = out.train.subset({}, "");
    } else {
        std::vector<int64_t> perm(static_cast<size_t>(n));
        std::iota(perm.begin(), perm.end(), int64_t{0});
        Rng(seed, rng_streams::kValidationSplit).shuffle(perm);
        const auto val_end = perm.begin() + opts.val_size;
        const auto train_end = limited ? val_end + opts.train_limit : perm.end();
        out.val = full_train.subset({perm.begin(), val_end}, "");
        out.train = full_train.subset({val_end, train_end}, "");
    }
    out.train.name = name + "/train";
    out.val.name = name + "/val";

    if (opts.test_limit > 0 && opts.test_limit < test.count) {
        std::vector<int64_t> first(static_cast<size_t>(opts.test_limit));
        std::iota(first.begin(), first.end(), int64_t{0});
        out.test = test.subset(first, "");
    } else {
        out.test = std::move(test);
    }
    out.test.name = name + "/test";
    return out;
}

BatchLoaderOptions make_loader_options(const DataOptions& data,
                                       const DatasetSplits& splits,
                                       int64_t batch_size,
                                       bool training,
                                       uint64_t seed) {
    BatchLoaderOptions opts;
    opts.batch_size = batch_size;
    opts.shuffle = training;
    opts.drop_last = training;
    opts.image_size = data.image_size;
    opts.augment = training && data.augment;
    opts.crop_padding = data.crop_padding;
    opts.flip = data.flip;
    opts.mean = splits.mean;
    opts.std = splits.std;
    opts.seed = seed;
    return opts;
}

std::vector<std::string> source_lines(const std::vector<SourceFile>& sources) {
    std::vector<std::string> lines;
    for (const auto& f : sources) {
        lines.push_back(std::filesystem::path(f.path).filename().string() + " " + f.sha256);
    }
    return lines;
}

void check_same_sources(const std::vector<std::string>& recorded,
                        const std::vector<SourceFile>& now,
                        const std::string& stage,
                        const std::string& remedy) {
    const std::vector<std::string> lines = source_lines(now);
    for (size_t i = 0; i < lines.size() || i < recorded.size(); ++i) {
        if (i < lines.size() && i < recorded.size() && lines[i] == recorded[i]) {
            continue;
        }
        const std::string file =
            i < now.size() ? now[i].path : recorded[i].substr(0, recorded[i].find(' '));
        TRISEG_THROW(InputError, "the dataset file '"
                                     << file << "' is not the one " << stage
                                     << " used (its SHA-256 differs, or the list of files does): "
                                        "the data changed since; "
                                     << remedy);
    }
}

} // namespace triseg::io
