// FloatBlocks implementation.
#include "engine/analysis/float_blocks.h"

#include <cstring>

#include <torch/torch.h>

#include "common/error.h"
#include "models/checkpoint.h"

namespace triseg::engine {

using models::ModelOptions;

struct FloatBlocks::Impl {
    models::Vgg model{nullptr};
    std::vector<int64_t> sides;
};

FloatBlocks::FloatBlocks(const std::string& checkpoint) : impl_(std::make_unique<Impl>()) {
    impl_->model = models::load_model(checkpoint);
    impl_->model->eval();
    int64_t side = impl_->model->options().image_size;
    for (const auto& l : impl_->model->layers()) {
        impl_->sides.push_back(side);
        side /= l.pool_after ? 2 : 1;
    }
}

FloatBlocks::~FloatBlocks() = default;

const ModelOptions& FloatBlocks::options() const {
    return impl_->model->options();
}

int64_t FloatBlocks::num_layers() const {
    return static_cast<int64_t>(impl_->model->layers().size());
}

const std::string& FloatBlocks::name(int64_t block) const {
    return impl_->model->layers().at(static_cast<size_t>(block)).name;
}

int64_t FloatBlocks::channels(int64_t block) const {
    return impl_->model->layers().at(static_cast<size_t>(block)).out_channels;
}

int64_t FloatBlocks::side(int64_t block) const {
    return impl_->sides.at(static_cast<size_t>(block));
}

bool FloatBlocks::pool_after(int64_t block) const {
    return impl_->model->layers().at(static_cast<size_t>(block)).pool_after;
}

void FloatBlocks::run(const float* images,
                      int64_t n,
                      const std::vector<float*>& outputs,
                      float* logits) {
    auto& m = impl_->model;
    const auto& o = m->options();
    TRISEG_CHECK(outputs.size() == m->layers().size(), InputError,
                 "got " << outputs.size() << " output buffers for " << m->layers().size()
                        << " blocks");
    torch::NoGradGuard no_grad;
    torch::Tensor x =
        torch::from_blob(const_cast<float*>(images), {n, o.in_channels, o.image_size, o.image_size},
                         torch::kFloat32);
    for (size_t i = 0; i < m->layers().size(); ++i) {
        x = m->block(i)->forward(x);
        if (outputs[i] != nullptr) {
            const torch::Tensor c = x.contiguous();
            std::memcpy(outputs[i], c.data_ptr<float>(), sizeof(float) * c.numel());
        }
        if (m->layers()[i].pool_after) {
            x = torch::max_pool2d(x, 2, 2);
        }
    }
    const torch::Tensor out = m->classifier()->forward(x.flatten(1)).contiguous();
    std::memcpy(logits, out.data_ptr<float>(), sizeof(float) * out.numel());
}

} // namespace triseg::engine
