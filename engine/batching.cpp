// Batch conversion helpers.
#include "engine/batching.h"

#include <torch/torch.h>

namespace triseg::engine {

io::BatchLoaderOptions make_loader_options(const io::DataOptions& data,
                                           const io::DatasetSplits& splits,
                                           int64_t batch_size,
                                           bool training,
                                           uint64_t seed) {
    io::BatchLoaderOptions opts;
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
