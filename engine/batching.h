// From configs and io::Batch to LibTorch tensors.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "io/batch_loader.h"
#include "io/data_options.h"
#include "io/dataset_factory.h"

namespace triseg::engine {

/// Loader options for training (shuffled, augmented as DataOptions says, drop_last) or for
/// evaluation (file order, no augmentation), with the splits' resolved normalization.
io::BatchLoaderOptions make_loader_options(const io::DataOptions& data,
                                           const io::DatasetSplits& splits,
                                           int64_t batch_size,
                                           bool training,
                                           uint64_t seed);

/// Images of a batch as a float tensor [N, C, H, W] on `device`.
at::Tensor images_tensor(const io::Batch& batch, const c10::Device& device);

/// Labels of a batch as an int64 tensor [N] on `device`.
at::Tensor labels_tensor(const io::Batch& batch, const c10::Device& device);

} // namespace triseg::engine
