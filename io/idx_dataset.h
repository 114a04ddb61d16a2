// Readers for IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/image_dataset.h"

namespace triseg::io {

/// Pixels of an IDX3 image file (magic 0x00000803), `count * rows * cols` bytes.
struct IdxImages {
    int64_t count = 0;
    int64_t rows = 0;
    int64_t cols = 0;
    std::vector<uint8_t> pixels;
};

/// Reads an IDX3 uint8 image file; gzip is detected by its magic bytes (1f 8b).
/// @throws IoError when the file cannot be opened; InputError when the magic number, the
/// dimensions or the byte count is wrong (a truncated file names expected and actual sizes).
IdxImages read_idx_images(const std::string& path);

/// Reads an IDX1 uint8 label file (magic 0x00000801).
/// @throws IoError / InputError as read_idx_images.
std::vector<uint8_t> read_idx_labels(const std::string& path);

/// Reads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and `<dir>/<prefix>-labels-idx1-ubyte[.gz]`
/// (prefix "train" or "t10k"), checks that the counts match and that labels are < 10.
/// @throws IoError when neither the .gz nor the plain file exists (naming both paths).
ImageDataset
load_idx_dataset(const std::string& dir, const std::string& prefix, const std::string& name);

} // namespace triseg::io
