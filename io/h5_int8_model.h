// HDF5 storage of the exported integer network (schema "triseg-int8-v2", docs/int8-model.md).
#pragma once

#include <string>

#include "models/spec/int8_graph.h"
#include "models/spec/int8_model.h"

namespace triseg::io {

/// Value of the root attribute `format` of every file write_int8_graph / write_int8_model writes:
/// an ordered list of ops over named tensors.
inline constexpr const char* kInt8ModelFormat = "triseg-int8-v2";
/// The earlier format, a VGG chain of conv layers; still read (as its graph).
inline constexpr const char* kInt8ModelFormatV1 = "triseg-int8-v1";

/// Writes `graph` to `path` atomically, in the v2 layout, after models::validate_graph (so a
/// file that would not read back is never written).
/// @throws InputError when validate_graph rejects it; IoError as write_int8_model.
void write_int8_graph(const models::Int8Graph& graph, const std::string& path);

/// Reads a v2 file (checked with models::validate_graph after the schema's own checks: every
/// group, dataset and attribute with its type and shape, names, indices, /input) or a v1 file
/// (checked as read_int8_model says, then models::graph_from_chain).
/// @throws IoError when `path` is missing or unreadable; InputError naming the file, the op or
///         tensor and the value otherwise.
models::Int8Graph read_int8_graph(const std::string& path);

/// Writes the VGG chain `model` to `path` as its graph (v2), atomically (temporary file in the same
/// folder, fsync, rename): readers see the previous file or the complete new one, never a partial
/// one. The model is checked first with the same rules read_int8_model applies, so a file that
/// would not read back is never written.
/// @throws InputError when `model` breaks an invariant (see read_int8_model), naming the layer.
/// @throws IoError when the file cannot be created or written (naming the path and the HDF5
///         object being written); no temporary file is left behind.
void write_int8_model(const models::Int8Model& model, const std::string& path);

/// Reads a VGG chain: read_int8_graph, then models::chain_from_graph (an InputError for a graph
/// that is not a chain) and these checks.
/// Checks: the `format` attribute; every group, dataset and attribute of the schema (exact
/// element type and shape for datasets); `model_yaml` agrees with the duplicated root
/// attributes; /input `mean` and `std` hold in_channels finite values (std > 0); the conv
/// layers follow the VGG layout of `model_yaml` (names, order, channels, pools); quantization
/// parameters chain (convs[i+1].input == convs[i].output, ...); weights in [-127, 127],
/// weight scales finite and > 0, multiplier in [2^30, 2^31), shift in [1, 62];
/// classifier in_features == last channels * (image_size/32)^2.
/// @throws IoError when `path` is missing or unreadable.
/// @throws InputError when it is not HDF5, not a triseg int8 model, or breaks any check
///         above; the message names the file, the HDF5 object and expected vs actual values.
models::Int8Model read_int8_model(const std::string& path);

} // namespace triseg::io
