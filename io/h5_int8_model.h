// HDF5 storage of the exported integer network (schema "triseg-int8-v1", docs/int8-model.md).
#pragma once

#include <string>

#include "models/spec/int8_model.h"

namespace triseg::io {

/// Value of the root attribute `format` of every file write_int8_model writes.
inline constexpr const char* kInt8ModelFormat = "triseg-int8-v1";

/// Writes `model` to `path` atomically (temporary file in the same folder, fsync, rename):
/// readers see the previous file or the complete new one, never a partial one.
/// The model is checked first with the same rules read_int8_model applies, so a file that
/// would not read back is never written.
/// @throws InputError when `model` breaks an invariant (see read_int8_model), naming the layer.
/// @throws IoError when the file cannot be created or written (naming the path and the HDF5
///         object being written); no temporary file is left behind.
void write_int8_model(const models::Int8Model& model, const std::string& path);

/// Reads and validates a model written by write_int8_model (or by h5py following the schema).
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
