// From io::Batch to LibTorch tensors.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "io/batch_loader.h"
#include "io/data_options.h"
#include "io/dataset_factory.h"

namespace triseg::engine {

/// Images of a batch as a float tensor [N, C, H, W] on `device`.
at::Tensor images_tensor(const io::Batch& batch, const c10::Device& device);

/// Labels of a batch as an int64 tensor [N] on `device`.
at::Tensor labels_tensor(const io::Batch& batch, const c10::Device& device);

} // namespace triseg::engine
