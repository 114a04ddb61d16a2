// The network of each `model.arch`: float, BN-folded QAT, and the fold from one to the other.
#pragma once

#include "models/net_base.h"
#include "models/spec/model_options.h"

namespace triseg::models {

/// A new float network of `options.arch` (Vgg for vgg11/vgg16, GraphNet otherwise), initialized
/// from the current torch seed.
FloatNet make_float_net(const ModelOptions& options);

/// A QAT network of `options.arch` with uninitialized weights (for loading a checkpoint).
QatNet make_qat_net(const ModelOptions& options);

/// Folds the BatchNorms of `float_model` into a new QAT network of its arch.
QatNet fold_to_qat(FloatNetImpl& float_model);

} // namespace triseg::models
