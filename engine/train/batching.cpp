// Batch conversion helpers.
#include "engine/train/batching.h"

#include <torch/torch.h>

namespace triseg::engine {

at::Tensor images_tensor(const io::Batch& batch, const c10::Device& device) {
    auto t =
        torch::from_blob(const_cast<float*>(batch.images.data()),
                         {batch.size, batch.channels, batch.height, batch.width}, torch::kFloat32);
    return device.is_cpu() ? t.clone() : t.to(device);
}

at::Tensor labels_tensor(const io::Batch& batch, const c10::Device& device) {
    auto t =
        torch::from_blob(const_cast<int64_t*>(batch.labels.data()), {batch.size}, torch::kInt64);
    return device.is_cpu() ? t.clone() : t.to(device);
}

} // namespace triseg::engine
