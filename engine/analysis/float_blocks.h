// FloatBlocks: every approximation point's float output (after its ReLU or ReLU6) of a float
// checkpoint of any arch, with LibTorch kept out of the interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/spec/model_options.h"

namespace triseg::engine {

/// The float model of a run, evaluated batch by batch in eval mode without gradients. Its
/// blocks are the network's approximation points (models::FloatNetImpl::points): a VGG's conv
/// blocks (after ReLU, before the pool), a graph network's ReLU and ReLU6 outputs, in forward
/// order and named as the integer model's points.
class FloatBlocks {
public:
    /// Loads a float checkpoint (models::load_float_net). @throws IoError / InputError.
    explicit FloatBlocks(const std::string& checkpoint);
    ~FloatBlocks();
    FloatBlocks(const FloatBlocks&) = delete;
    FloatBlocks& operator=(const FloatBlocks&) = delete;

    const models::ModelOptions& options() const;
    int64_t num_layers() const;
    const std::string& name(int64_t block) const;
    int64_t channels(int64_t block) const;
    /// Output height and width.
    int64_t side(int64_t block) const;
    /// Whether a 2x2 max-pool reads the block (VGG only).
    bool pool_after(int64_t block) const;

    /// Runs `n` normalized images (NCHW float) and copies block i's output into `outputs[i]`
    /// ([n][channels * side * side]; null: skipped) and the logits into `logits` [n][classes].
    /// @throws InputError when `outputs` does not hold one pointer per block.
    void run(const float* images, int64_t n, const std::vector<float*>& outputs, float* logits);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace triseg::engine
