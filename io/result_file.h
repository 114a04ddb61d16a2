// result.json: per-layer codes in the original's format, plus provenance and metrics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/code_set.h"

namespace triseg::io {

using engine::CodeSet;
using engine::LayerCodes;

/// The original's result file:
///
///     {"layers": {"conv1_1": {"t1_code": 4, "v1_code": 13, "t2_code": 23, "v2_code": 31,
///                             "tmax_code": 32}, ...},
///      "backend": "triseg-int8", "selection": "...",
///      "metrics": {"acc_teacher": 92.5, "acc_student": 90.8, "acc_drop": 1.7}, ...}
///
/// Other top-level keys (method, seed, ranks, evaluations, wall_seconds, ...) are kept in
/// `extra` and written back unchanged.
struct ResultFile {
    std::vector<std::string> layer_names; ///< forward order
    CodeSet codes;                        ///< codes.layers[i] belongs to layer_names[i]
    std::string backend = "triseg-int8";
    std::string selection;
    nlohmann::json metrics = nlohmann::json::object();
    nlohmann::json extra = nlohmann::json::object();
};

/// Reads `path` and orders its layers as `model_layers`. With `point` >= 0, `path` is a
/// front.json (a search's non-dominated set) and the result is its `points[point]` (which has
/// the same `layers` object); a front.json read without a point is an InputError saying so.
/// @throws IoError (unreadable), InputError for malformed JSON (with the position), a
/// missing `layers` object, unknown or missing layer names (listing them and the model's
/// names), a missing or non-integer code field, codes that are not a valid tri-segment map
/// (engine::validate_map: the codes need not lie in the search space), or a point that the
/// file does not hold.
ResultFile read_result_file(const std::string& path,
                            const std::vector<std::string>& model_layers,
                            int64_t point = -1);

/// A front.json (a search's non-dominated set, docs/files.md): its points in file order.
struct FrontFile {
    /// The file's top-level keys other than `points` (method, seed, space, objectives, ...).
    nlohmann::json info = nlohmann::json::object();
    /// points[i] is what read_result_file(path, model_layers, i) reads.
    std::vector<ResultFile> points;
};

/// Reads every point of the front.json at `path`, its layers ordered as `model_layers`, the
/// file parsed once.
/// @throws IoError (unreadable), InputError for what read_result_file refuses in any point
/// (naming the point), a file without a `points` list (a result.json: the message says to
/// evaluate it without --all-points) or with an empty one.
FrontFile read_front_file(const std::string& path, const std::vector<std::string>& model_layers);

/// The JSON text of a result (layers in forward order).
std::string result_json(const ResultFile& result);

/// Writes result_json atomically. @throws IoError.
void write_result_file(const ResultFile& result, const std::string& path);

} // namespace triseg::io
