// Layer sensitivity against the teacher: one layer exact while the others are approximated
// (leave-one-out, the original's definition), or one layer approximated alone (leave-one-in).
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

/// Which student each layer k gets.
enum class SensitivityMode {
    /// Every layer approximated except layer k (exact): the original's per-layer sensitivity
    /// ("disable the approximation of one layer"). The most sensitive layer is the one whose
    /// exactness lowers the KD loss most, i.e. the smallest KD loss.
    LeaveOneOut,
    /// Only layer k approximated, every other layer exact. The most sensitive layer has the
    /// largest KD loss.
    LeaveOneIn,
};

/// "leave-one-out" / "leave-one-in".
std::string to_string(SensitivityMode mode);
/// The mode named `name` ("leave-one-out" / "leave-one-in").
/// @throws ConfigError naming the value and the choices.
SensitivityMode parse_sensitivity_mode(const std::string& name);

/// The student of layer k's row against the teacher.
struct LayerSensitivity {
    std::string name;
    LayerCodes codes;
    /// Student vs teacher: leave-one-out: every layer approximated but this one; leave-one-in:
    /// this layer only.
    LogitStats stats;
    /// Of the layer's output codes, the fraction that its table changes: leave-one-in: of the
    /// teacher's codes (what approximating it alone changes); leave-one-out: of its codes in
    /// the all-approximated network (the changes that making it exact removes).
    double fraction_changed = 0;

    double acc_drop() const { return stats.teacher_accuracy() - stats.student_accuracy(); }
};

/// A sensitivity analysis: one row per layer in forward order, and (leave-one-out) the
/// student with every layer approximated.
struct SensitivityReport {
    SensitivityMode mode = SensitivityMode::LeaveOneOut;
    std::vector<LayerSensitivity> layers;
    LogitStats all_approximated; ///< leave-one-out only (empty for leave-one-in)
};

/// For every layer k: teacher logits and the student of `mode` with `codes` (valid
/// tri-segment maps, validate_map). Each batch runs the network once keeping every block's
/// output and every other tensor live at a block's cut (leave-one-in: the teacher's;
/// leave-one-out: the all-approximated student's, plus a teacher pass for its logits), then
/// replays it from block k's live set (Int8Network::forward_from) with the table of k dropped
/// (leave-one-out) or alone (leave-one-in), so no prefix is recomputed. Results are identical to a
/// full forward of each student. `progress(done)` is called after each batch with the images done.
/// @throws InputError when codes and names do not match the network or a code set is not a
/// valid map; ConfigError for a batch < 1.
SensitivityReport layer_sensitivity(const Int8Network& net,
                                    const Int8Inputs& inputs,
                                    const std::vector<std::string>& names,
                                    const CodeSet& codes,
                                    SensitivityMode mode,
                                    double temperature,
                                    int threads,
                                    int64_t batch,
                                    const std::function<void(int64_t)>& progress = {});

/// Layers from most to least sensitive for `mode`: leave-one-in by KD loss, largest first
/// (ties: larger accuracy drop); leave-one-out by KD loss, smallest first (ties: smaller
/// accuracy drop); further ties in forward order.
std::vector<LayerSensitivity>
rank_by_kd(std::vector<LayerSensitivity> layers, SensitivityMode mode, double temperature);

/// {"mode", "temperature", "images", ["all_approximated": {"kd_loss", "acc_teacher",
/// "acc_student", "acc_drop", "agreement"}: leave-one-out only,] "ranking": [{"rank", "layer",
/// codes..., "kd_loss", "acc_teacher", "acc_student", "acc_drop", "agreement",
/// "fraction_changed"}, ...]} (ranked order, rank_by_kd).
nlohmann::json sensitivity_json(const SensitivityReport& report, double temperature);

/// The ranked table (rank_by_kd) as text, with a line saying what the rows are.
std::string sensitivity_table(const SensitivityReport& report, double temperature);

} // namespace triseg::engine
