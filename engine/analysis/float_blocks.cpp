// FloatBlocks implementation.
#include "engine/analysis/float_blocks.h"

#include <cstring>

#include <torch/torch.h>

#include "common/error.h"
#include "models/checkpoint.h"

namespace triseg::engine {

using models::ModelOptions;

struct FloatBlocks::Impl {
    models::FloatNet model;
    std::vector<models::FloatPoint> points;
};

FloatBlocks::FloatBlocks(const std::string& checkpoint) : impl_(std::make_unique<Impl>()) {
    impl_->model = models::load_float_net(checkpoint);
    impl_->model->eval();
    impl_->points = impl_->model->points();
}

FloatBlocks::~FloatBlocks() = default;

const ModelOptions& FloatBlocks::options() const {
    return impl_->model->options();
}

int64_t FloatBlocks::num_layers() const {
    return static_cast<int64_t>(impl_->points.size());
}

const std::string& FloatBlocks::name(int64_t block) const {
    return impl_->points.at(static_cast<size_t>(block)).name;
}

int64_t FloatBlocks::channels(int64_t block) const {
    return impl_->points.at(static_cast<size_t>(block)).channels;
}

int64_t FloatBlocks::side(int64_t block) const {
    return impl_->points.at(static_cast<size_t>(block)).side;
}

bool FloatBlocks::pool_after(int64_t block) const {
    return impl_->points.at(static_cast<size_t>(block)).pool_after;
}

void FloatBlocks::run(const float* images,
                      int64_t n,
                      const std::vector<float*>& outputs,
                      float* logits) {
    auto& m = impl_->model;
    const auto& o = m->options();
    const auto& points = impl_->points;
    TRISEG_CHECK(outputs.size() == points.size(), InputError,
                 "got " << outputs.size() << " output buffers for " << points.size() << " blocks");
    torch::NoGradGuard no_grad;
    const torch::Tensor x =
        torch::from_blob(const_cast<float*>(images), {n, o.in_channels, o.image_size, o.image_size},
                         torch::kFloat32);
    std::vector<torch::Tensor> values;
    const torch::Tensor out = m->forward_points(x, values).contiguous();
    TRISEG_CHECK(values.size() == points.size(), InputError,
                 "the model gave " << values.size() << " point outputs for " << points.size()
                                   << " points");
    for (size_t i = 0; i < points.size(); ++i) {
        const auto& p = points[i];
        const torch::Tensor c = values[i].contiguous();
        TRISEG_CHECK(c.sizes() == torch::IntArrayRef({n, p.channels, p.side, p.side}), InputError,
                     "point '" << p.name << "' is " << c.sizes() << ", expected [" << n << ", "
                               << p.channels << ", " << p.side << ", " << p.side << "]");
        if (outputs[i] != nullptr) {
            std::memcpy(outputs[i], c.data_ptr<float>(), sizeof(float) * c.numel());
        }
    }
    std::memcpy(logits, out.data_ptr<float>(), sizeof(float) * out.numel());
}

} // namespace triseg::engine
