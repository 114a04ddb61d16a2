// ImageDataset: labelled uint8 images in memory (NCHW), independent of any tensor library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace triseg::io {

/// A file a dataset was read from, by content.
struct SourceFile {
    std::string path;   ///< as read
    std::string sha256; ///< SHA-256 of its bytes (64 hex digits)
    bool operator==(const SourceFile& o) const { return path == o.path && sha256 == o.sha256; }
};

/// A labelled image set held as raw uint8 pixels.
/// Invariants: pixels.size() == count*channels*height*width (NCHW order);
/// labels.size() == count and every label is in [0, num_classes).
struct ImageDataset {
    std::string name;     ///< e.g. "fashion-mnist/train", used in messages
    int64_t count = 0;    ///< number of images
    int64_t channels = 0; ///< 1 (grey) or 3 (RGB)
    int64_t height = 0;
    int64_t width = 0;
    int64_t num_classes = 0;
    std::vector<uint8_t> pixels;
    std::vector<int64_t> labels;
    /// The files the images and labels were read from (empty for a subset or a made-up set).
    std::vector<SourceFile> sources;

    /// Bytes of one image.
    int64_t image_size() const { return channels * height * width; }

    /// A new dataset with the images at `indices`, in that order (named `name + suffix`).
    /// @throws InputError when an index is out of range.
    ImageDataset subset(const std::vector<int64_t>& indices, const std::string& suffix) const;

    /// Throws InputError naming this dataset when an invariant above does not hold.
    void check() const;
};

} // namespace triseg::io
