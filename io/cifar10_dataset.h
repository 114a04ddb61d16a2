// Reader for CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin).
#pragma once

#include <string>
#include <vector>

#include "io/image_dataset.h"

namespace triseg::io {

/// Bytes of one CIFAR-10 record: 1 label byte + 3*32*32 pixel bytes (R, G, B planes).
constexpr int64_t kCifarRecordBytes = 3073;

/// Reads and concatenates CIFAR-10 binary batch files in the given order.
/// @throws IoError when a file cannot be opened; InputError when a file's size is not a
/// multiple of 3073 bytes or a label is >= 10 (naming the file and the record).
ImageDataset read_cifar10_batches(const std::vector<std::string>& paths, const std::string& name);

/// The training set (`train`: data_batch_1..5.bin) or test set (`test`: test_batch.bin) of
/// a CIFAR-10 binary folder (cifar-10-batches-bin).
ImageDataset load_cifar10_dataset(const std::string& dir, const std::string& split);

} // namespace triseg::io
