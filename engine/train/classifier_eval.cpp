// Float classifier evaluation.
#include "engine/train/classifier_eval.h"

#include <chrono>

#include <torch/torch.h>

#include "common/progress.h"
#include "engine/train/batching.h"

namespace triseg::engine {

nlohmann::json ClassifierMetrics::to_json() const {
    return {{"count", count},
            {"correct", correct},
            {"accuracy", accuracy()},
            {"loss", loss},
            {"seconds", seconds}};
}

ClassifierMetrics evaluate_classifier(torch::nn::Module& module,
                                      const ForwardFn& forward,
                                      const io::ImageDataset& data,
                                      const io::BatchLoaderOptions& opts,
                                      const c10::Device& device,
                                      const std::string& label,
                                      std::vector<int64_t>* predictions) {
    const auto start = std::chrono::steady_clock::now();
    if (predictions != nullptr) {
        predictions->clear();
    }
    torch::NoGradGuard no_grad;
    const bool was_training = module.is_training();
    module.eval();
    io::BatchLoader loader(data, opts);
    loader.start_epoch(0);
    ProgressBar bar(label, loader.images_per_epoch(), "img", !label.empty());
    ClassifierMetrics m;
    double loss_sum = 0.0;
    io::Batch batch;
    while (loader.next(batch)) {
        const auto logits = forward(images_tensor(batch, device));
        const auto labels = labels_tensor(batch, device);
        loss_sum += torch::nn::functional::cross_entropy(
                        logits, labels,
                        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .item<double>();
        const auto pred = logits.argmax(1);
        m.correct += pred.eq(labels).sum().item<int64_t>();
        if (predictions != nullptr) {
            const auto p = pred.to(torch::kCPU).contiguous();
            predictions->insert(predictions->end(), p.data_ptr<int64_t>(),
                                p.data_ptr<int64_t>() + p.numel());
        }
        m.count += batch.size;
        bar.update(m.count);
    }
    bar.finish();
    m.loss = m.count ? loss_sum / static_cast<double>(m.count) : 0.0;
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    module.train(was_training);
    return m;
}

ClassifierMetrics evaluate_classifier(models::FloatNetImpl& model,
                                      const io::ImageDataset& data,
                                      const io::BatchLoaderOptions& opts,
                                      const c10::Device& device,
                                      const std::string& label) {
    return evaluate_classifier(
        model, [&model](const torch::Tensor& x) { return model.forward(x); }, data, opts, device,
        label);
}

} // namespace triseg::engine
