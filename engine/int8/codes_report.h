// What a code set does on a dataset: accuracy, drop, KD loss and per-layer coverage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/code_set.h"
#include "engine/int8/int8_inputs.h"
#include "engine/int8/int8_network.h"
#include "engine/int8/kd_loss.h"

namespace triseg::engine {

/// Per layer, fractions of the block's output codes (in the student, before its table).
struct LayerCoverage {
    std::string name;
    LayerCodes codes;
    int64_t total = 0;         ///< codes seen
    int64_t changed_codes = 0; ///< codes with table[c] != c
    int64_t covered_codes = 0; ///< codes with c <= tmax
    double changed = 0.0;      ///< table[c] != c
    double zeroed = 0.0;       ///< c != 0 and table[c] == 0
    double covered = 0.0;      ///< c <= tmax (mapped to 0, v1 or v2)
    double zero_before = 0.0;  ///< c == 0
    double zero_after = 0.0;   ///< table[c] == 0 (the resulting fraction of zeros)
};

/// The evaluation of one code set.
struct CodesReport {
    LogitStats stats;
    double temperature = 2.0;
    double seconds = 0.0;
    std::vector<LayerCoverage> layers;

    double acc_teacher() const { return stats.teacher_accuracy(); }
    double acc_student() const { return stats.student_accuracy(); }
    double acc_drop() const { return acc_teacher() - acc_student(); }
    double kd_loss() const { return stats.kd_loss(temperature); }
    /// Block output codes seen, summed over the layers.
    int64_t codes_seen() const;
    /// Share of all block output codes <= their layer's tmax (mapped to 0, v1 or v2): the
    /// layers weighted by their code counts, sum(covered_codes) / sum(total); 0 with no codes.
    /// The same definition as the search's Fitness::covered.
    double covered() const;
    /// Share of all block output codes the tables change, weighted the same way (the search's
    /// Fitness::coverage).
    double coverage() const;

    nlohmann::json to_json() const;
    /// A readable table: summary lines, then one row per layer.
    std::string table() const;
};

/// Coverage of one layer from its pre-table histogram.
LayerCoverage layer_coverage(const std::string& name,
                             const LayerCodes& codes,
                             const CodeTable& table,
                             const CodeHistogram& histogram);

/// Runs the teacher and the student (`codes` at every block) on `inputs`.
/// @throws InputError when codes and layer names do not match the network.
CodesReport evaluate_codes(const Int8Network& net,
                           const Int8Inputs& inputs,
                           const std::vector<std::string>& layer_names,
                           const CodeSet& codes,
                           double temperature,
                           int threads);

/// The teacher's logits on `inputs` (count x classes, row-major), to evaluate several code sets
/// on the same inputs with one teacher pass (the overload below).
std::vector<float> teacher_logits(const Int8Network& net, const Int8Inputs& inputs, int threads);

/// evaluate_codes with the teacher's logits given (teacher_logits of the same network and
/// inputs): only the student runs, and the report is the same bit for bit.
/// @throws InputError as above, or when `teacher` does not hold count x classes logits.
CodesReport evaluate_codes(const Int8Network& net,
                           const Int8Inputs& inputs,
                           const std::vector<std::string>& layer_names,
                           const CodeSet& codes,
                           double temperature,
                           int threads,
                           const std::vector<float>& teacher);

} // namespace triseg::engine
