// The schema of HDF5 activation dumps as their writer, index and reader share it: dataset
// names, element types, the attributes of the root and of each layer's dataset.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/h5_activations.h"
#include "io/h5_util.h"

namespace triseg::io::detail {

/// Datasets of the schema, for messages and for the index.
inline constexpr const char* kLabels = "labels";
inline constexpr const char* kIndices = "image_index";
inline constexpr const char* kLayerNames = "layer_names";
inline constexpr const char* kActs = "acts";
/// The live tensors that are not layers (ActsHeader::live), present only when there are any.
inline constexpr const char* kLiveNames = "live_names";
inline constexpr const char* kLive = "live";

/// What an error about a dump or an index tells the user to do.
inline constexpr const char* kRemedy = "rerun `triseg dump-acts` to write it again";

/// "activation dump '<path>'", for messages.
std::string describe(const std::string& path);

/// The stored type of a dump's values: little-endian uint8 (Int8) or float32 (Float).
const H5::PredType& file_type(ActsKind kind);

/// The in-memory type of a dump's values: uint8_t (Int8) or float (Float).
const H5::PredType& mem_type(ActsKind kind);

/// The shape of layer `l`'s dataset for `images` images: [images, channels, side, side].
h5::Dims layer_dims(const ActsLayer& l, int64_t images);

/// The root attributes of `h`, the dataset /layer_names and, when `h` has live tensors,
/// /live_names. Throws H5::Exception.
void write_header_attributes(const h5::Node& root, const ActsHeader& h);

/// The attributes of layer `l`'s dataset: index, pool_after, and for Int8 scale and
/// zero_point. Throws H5::Exception.
void write_layer_attributes(const H5::DataSet& ds, const ActsLayer& l, ActsKind kind, int index);

/// Checks that the names of the layers and live tensors can be HDF5 link names of their
/// groups: 1 to 256 letters, digits, '_', '.' or '-', not "." or "..", each used once.
/// @throws InputError naming `label` and the name.
void check_names(const ActsHeader& h, const std::string& label);

/// Whether two layers agree in every field the schema stores.
bool same_layer(const ActsLayer& a, const ActsLayer& b);
/// Whether two headers hold the same kind, layers and live tensors (same_layer each).
bool same_layers(const ActsHeader& a, const ActsHeader& b);

/// The layers' names, comma-separated, for messages.
std::string layer_list(const std::vector<ActsLayer>& layers);

} // namespace triseg::io::detail
