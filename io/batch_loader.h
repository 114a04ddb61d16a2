// BatchLoader: deterministic shuffling, padding, augmentation and normalization to float.
#pragma once

#include <cstdint>
#include <vector>

#include "io/image_dataset.h"

namespace triseg::io {

/// Options of one BatchLoader (built from DataOptions and TrainOptions by the caller).
struct BatchLoaderOptions {
    int64_t batch_size = 128; ///< images per batch (the last batch may be smaller)
    bool shuffle = false;     ///< new permutation per epoch, from (seed, epoch)
    bool drop_last = false;   ///< drop a final partial batch
    int64_t image_size = 32;  ///< output height = width; images are centred, zero-padded
    bool augment = false;     ///< random crop (after crop_padding) and optional flip
    int64_t crop_padding = 4; ///< zero border added before the random crop
    bool flip = true;         ///< random horizontal flip when augment is on
    std::vector<double> mean; ///< per channel, applied to pixel/255
    std::vector<double> std;  ///< per channel, > 0
    uint64_t seed = 0;        ///< seeds shuffling and augmentation
};

/// One batch of normalized float images (NCHW) and their labels.
struct Batch {
    int64_t size = 0;
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    std::vector<float> images;    ///< size*channels*height*width
    std::vector<int64_t> labels;  ///< size
    std::vector<int64_t> indices; ///< position of each image in the source dataset
};

/// Iterates a dataset in batches. Deterministic: the same (seed, epoch) gives the same
/// order, crops and flips on every platform (portable Rng, no std:: distributions).
/// The dataset must outlive the loader.
///
///     BatchLoader loader(train, opts);
///     loader.start_epoch(epoch);
///     Batch b;
///     while (loader.next(b)) { ... }
class BatchLoader {
public:
    /// @throws ConfigError when image_size is smaller than the dataset's images, batch_size
    /// < 1, or mean/std do not have one entry per channel.
    BatchLoader(const ImageDataset& data, BatchLoaderOptions opts);

    /// Resets the iteration; with shuffle, draws the permutation for `epoch`.
    void start_epoch(int64_t epoch);

    /// Fills `out` with the next batch; returns false at the end of the epoch.
    bool next(Batch& out);

    /// Number of batches next() yields per epoch.
    int64_t batches_per_epoch() const;

    /// Images per epoch (count, less the dropped tail with drop_last).
    int64_t images_per_epoch() const;

private:
    const ImageDataset& data_;
    BatchLoaderOptions opts_;
    std::vector<int64_t> order_;
    int64_t cursor_ = 0;
    int64_t epoch_ = 0;
};

} // namespace triseg::io
