// Accuracy and loss of a float classifier on a dataset.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "io/batch_loader.h"
#include "io/image_dataset.h"
#include "models/net_base.h"

namespace triseg::engine {

/// Top-1 accuracy and mean cross-entropy over a dataset.
struct ClassifierMetrics {
    int64_t count = 0;   ///< images evaluated
    int64_t correct = 0; ///< top-1 hits
    double loss = 0.0;   ///< mean cross-entropy (nats)
    double seconds = 0.0;

    /// Accuracy in percent (0 when count is 0).
    double accuracy() const { return count ? 100.0 * static_cast<double>(correct) / count : 0.0; }
    nlohmann::json to_json() const;
};

/// Maps a batch of float images to logits.
using ForwardFn = std::function<torch::Tensor(const torch::Tensor&)>;

/// Evaluates `forward` with `module` in eval mode, without gradients (the module's mode is
/// restored). `opts` must not shuffle or augment. `label` names the progress line ("" none).
/// When `predictions` is given it receives the argmax class of every image, in order.
ClassifierMetrics evaluate_classifier(torch::nn::Module& module,
                                      const ForwardFn& forward,
                                      const io::ImageDataset& data,
                                      const io::BatchLoaderOptions& opts,
                                      const c10::Device& device,
                                      const std::string& label = {},
                                      std::vector<int64_t>* predictions = nullptr);

/// The same for a float VGG.
ClassifierMetrics evaluate_classifier(models::FloatNetImpl& model,
                                      const io::ImageDataset& data,
                                      const io::BatchLoaderOptions& opts,
                                      const c10::Device& device,
                                      const std::string& label = {});

} // namespace triseg::engine
