// FloatBlocks: every block output (after ReLU, before the pool) of a float VGG checkpoint,
// with LibTorch kept out of the interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/spec/model_options.h"

namespace triseg::engine {

/// The float model of a run, evaluated batch by batch in eval mode without gradients.
class FloatBlocks {
public:
    /// Loads a float checkpoint (models::load_model). @throws IoError / InputError.
    explicit FloatBlocks(const std::string& checkpoint);
    ~FloatBlocks();
    FloatBlocks(const FloatBlocks&) = delete;
    FloatBlocks& operator=(const FloatBlocks&) = delete;

    const models::ModelOptions& options() const;
    int64_t num_layers() const;
    const std::string& name(int64_t block) const;
    int64_t channels(int64_t block) const;
    int64_t side(int64_t block) const;
    bool pool_after(int64_t block) const;

    /// Runs `n` normalized images (NCHW float) and copies block i's output into
    /// `outputs[i]` ([n][channels * side * side]) and the logits into `logits` [n][classes].
    void run(const float* images, int64_t n, const std::vector<float*>& outputs, float* logits);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace triseg::engine
