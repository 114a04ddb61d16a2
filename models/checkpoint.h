// Model checkpoints: parameters, buffers and the model's own VggOptions in one file.
#pragma once

#include <string>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "models/vgg.h"

namespace triseg::models {

/// Format tag written into every checkpoint; bump when the layout changes.
inline constexpr const char* kCheckpointFormat = "triseg-checkpoint-v1";

/// Writes the model (parameters, buffers, options as YAML, `kind`) into `archive`.
void write_model(Vgg& model, const std::string& kind, torch::serialize::OutputArchive& archive);

/// Rebuilds a model from an archive written by write_model; no flags needed.
/// @param source path for messages. @param expected_kind "" accepts any kind.
/// @throws InputError when the archive is not a triseg checkpoint, is of another kind, or
/// a tensor is missing or has the wrong shape.
Vgg read_model(torch::serialize::InputArchive& archive,
               const std::string& source,
               const std::string& expected_kind);

/// Saves atomically (temporary file, fsync, rename). @throws IoError.
void save_model(Vgg& model, const std::string& kind, const std::string& path);

/// Loads a checkpoint written by save_model onto the CPU.
/// @throws IoError when `path` is missing; InputError when it is corrupt or mismatched.
Vgg load_model(const std::string& path, const std::string& expected_kind);

/// Opens `path` as a torch archive. @throws IoError (missing) / InputError (corrupt).
torch::serialize::InputArchive open_archive(const std::string& path);

} // namespace triseg::models
