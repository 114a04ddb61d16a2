// Layer sensitivity: one layer approximated at a time, against the teacher.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/code_set.h"
#include "engine/int8/int8_inputs.h"
#include "engine/int8/int8_network.h"
#include "engine/int8/kd_loss.h"

namespace triseg::engine {

/// What approximating one layer (only that one) costs.
struct LayerSensitivity {
    std::string name;
    LayerCodes codes;
    LogitStats stats;            ///< student (codes at this layer only) vs teacher
    double fraction_changed = 0; ///< of the layer's output codes

    double acc_drop() const { return stats.teacher_accuracy() - stats.student_accuracy(); }
};

/// For every layer k: teacher logits, and student logits with `codes.layers[k]` at block k
/// only. Each batch runs the teacher once, keeping every block's output, then replays the
/// network from block k (Int8Network::forward_from) for each k, so the prefix is never
/// recomputed. Results are identical to a full student forward per layer.
/// `progress(done)` is called after each batch with the images done.
/// @throws InputError when codes and names do not match the network.
std::vector<LayerSensitivity> layer_sensitivity(const Int8Network& net,
                                                const Int8Inputs& inputs,
                                                const std::vector<std::string>& names,
                                                const CodeSet& codes,
                                                double temperature,
                                                int threads,
                                                int64_t batch,
                                                const std::function<void(int64_t)>& progress = {});

/// Layers sorted by KD loss, largest first (ties: larger accuracy drop, then forward order).
std::vector<LayerSensitivity> rank_by_kd(std::vector<LayerSensitivity> layers, double temperature);

/// {"temperature", "images", "ranking": [{"rank", "layer", codes..., "kd_loss", "acc_teacher",
/// "acc_student", "acc_drop", "agreement", "fraction_changed"}, ...]} (ranked order).
nlohmann::json sensitivity_json(const std::vector<LayerSensitivity>& ranked, double temperature);

/// The ranked table as text.
std::string sensitivity_table(const std::vector<LayerSensitivity>& ranked, double temperature);

} // namespace triseg::engine
