// Model checkpoints: parameters, buffers, the model's ModelOptions and its kind, sealed by a hash.
#pragma once

#include <string>

#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "models/net_base.h"
#include "models/qat_vgg.h"
#include "models/vgg.h"

namespace triseg::models {

/// Format tag written into every checkpoint; bump when the layout changes.
inline constexpr const char* kCheckpointFormat = "triseg-checkpoint-v2";
/// Kinds of checkpoint: the float VGG and the BN-folded fake-quant network.
inline constexpr const char* kFloatKind = "float";
inline constexpr const char* kQatKind = "qat";

/// Writes `module`'s parameters and buffers plus `options` (as YAML) and `kind`.
void write_module(torch::nn::Module& module,
                  const ModelOptions& options,
                  const std::string& kind,
                  torch::serialize::OutputArchive& archive);

/// Checks the format tag and the kind, and returns the stored model options.
/// @param source path for messages. @param expected_kind "" accepts any kind.
/// @throws InputError when the archive is not a triseg checkpoint or is of another kind.
ModelOptions read_module_options(torch::serialize::InputArchive& archive,
                                 const std::string& source,
                                 const std::string& expected_kind);

/// Loads parameters and buffers into `module`, checking that every tensor exists and keeps
/// its shape. @throws InputError naming `source` and the tensor.
void read_module_state(torch::nn::Module& module,
                       torch::serialize::InputArchive& archive,
                       const std::string& source);

/// Saves atomically (temporary file, fsync, rename) and sealed: the zip file's comment is
/// "triseg-sha256:" and the SHA-256 of every byte before it, so the hash and the data it covers
/// are one file, replaced together. @throws IoError.
void save_archive(torch::serialize::OutputArchive& archive, const std::string& path);

/// Reads `path`, checks its seal before LibTorch parses a byte (a damaged pickle can crash the
/// parser), then opens it as a torch archive.
/// @throws IoError (missing) / InputError naming the file and how to re-create it (damaged,
/// truncated, not sealed, or not a readable archive).
torch::serialize::InputArchive open_archive(const std::string& path);

/// Any float network: save / load (rebuilt from the stored options; no flags needed).
void save_float_net(FloatNetImpl& model, const std::string& path);
FloatNet load_float_net(const std::string& path);
FloatNet read_float_net(torch::serialize::InputArchive& archive, const std::string& source);

/// Any QAT network: save / load.
void save_qat_net(QatNetImpl& model, const std::string& path);
QatNet load_qat_net(const std::string& path);
QatNet read_qat_net(torch::serialize::InputArchive& archive, const std::string& source);

/// Float VGG: save / load (rebuilt from the stored options; no flags needed). load_model and
/// read_model throw InputError for a checkpoint of another arch (the stages that call them
/// run VGG only).
void save_model(Vgg& model, const std::string& path);
Vgg load_model(const std::string& path);
Vgg read_model(torch::serialize::InputArchive& archive, const std::string& source);

/// QAT network: save / load.
void save_qat_model(QatVgg& model, const std::string& path);
QatVgg load_qat_model(const std::string& path);
QatVgg read_qat_model(torch::serialize::InputArchive& archive, const std::string& source);

} // namespace triseg::models
