// ScoringSet: images for scoring candidates, with the teacher's logits computed once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/int8/int8_inputs.h"
#include "engine/int8/int8_network.h"

namespace triseg::engine {

/// Input codes, labels and cached teacher logits of the images candidates are scored on.
struct ScoringSet {
    std::string name;                  ///< for messages and results: "reward", "holdout"
    std::string source;                ///< where the images come from: "train[0:256] (seed 0)"
    Int8Inputs inputs;                 ///< the images as input codes, with labels
    std::vector<float> teacher_logits; ///< [inputs.count][classes], from the exact teacher
    int64_t classes = 0;
    /// Empty, or (make_scoring_set with `keep_points`) one buffer per approximation point:
    /// the exact teacher's codes at that point, [count()][block_output_size(point)], which
    /// the scorer compares the candidates' mapped codes with (Fitness::point_mse).
    std::vector<std::vector<uint8_t>> teacher_points;

    int64_t count() const { return inputs.count; }
};

/// The images `indices` of `all`, in that order. @throws InputError on an index out of range.
Int8Inputs select_images(const Int8Inputs& all, const std::vector<int64_t>& indices);

/// Runs the teacher once on `inputs` and keeps its logits, and with `keep_points` its codes
/// at every approximation point (ScoringSet::teacher_points).
ScoringSet make_scoring_set(const Int8Network& net,
                            Int8Inputs inputs,
                            std::string name,
                            std::string source,
                            int threads,
                            bool keep_points = false);

} // namespace triseg::engine
