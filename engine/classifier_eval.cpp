// Float classifier evaluation.
#include "engine/classifier_eval.h"

#include <chrono>

#include <torch/torch.h>

#include "common/progress.h"
#include "engine/batching.h"

namespace triseg::engine {

nlohmann::json ClassifierMetrics::to_json() const {
    return {{"count", count},
            {"correct", correct},
            {"accuracy", accuracy()},
            {"loss", loss},
            {"seconds", seconds}};
}

ClassifierMetrics evaluate_classifier(models::Vgg& model,
                                      const io::ImageDataset& data,
                                      const io::BatchLoaderOptions& opts,
                                      const c10::Device& device,
                                      const std::string& label) {
    const auto start = std::chrono::steady_clock::now();
    torch::NoGradGuard no_grad;
    const bool was_training = model->is_training();
    model->eval();
    io::BatchLoader loader(data, opts);
    loader.start_epoch(0);
    ProgressBar bar(label, loader.images_per_epoch(), "img", !label.empty());
    ClassifierMetrics m;
    double loss_sum = 0.0;
    io::Batch batch;
    while (loader.next(batch)) {
        const auto logits = model->forward(images_tensor(batch, device));
        const auto labels = labels_tensor(batch, device);
        loss_sum += torch::nn::functional::cross_entropy(
                        logits, labels,
                        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .item<double>();
        m.correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
        m.count += batch.size;
        bar.update(m.count);
    }
    bar.finish();
    m.loss = m.count ? loss_sum / static_cast<double>(m.count) : 0.0;
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    model->train(was_training);
    return m;
}

} // namespace triseg::engine
