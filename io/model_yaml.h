// The `model:` config section as YAML: the one spelling of its keys, shared by the run
// configuration (cli/config) and the files that store a model's options (checkpoints,
// int8/model.h5).
#pragma once

#include <string>

#include "io/config_reader.h"
#include "models/spec/model_options.h"

namespace triseg::io {

/// The config spellings of models::ModelArch.
const detail::EnumNames<models::ModelArch>& arch_names();

/// Visits the keys of the `model:` section in struct order (MapReader or MapWriter).
template <typename V> void visit_model_fields(V& v, models::ModelOptions& o) {
    v.field("arch", o.arch, arch_names());
    v.field("width", o.width);
    v.field("in_channels", o.in_channels);
    v.field("num_classes", o.num_classes);
    v.field("image_size", o.image_size);
}

/// Just the `model:` section, as stored inside checkpoints.
std::string model_to_yaml(const models::ModelOptions& model);

/// Parses a `model:`-section YAML mapping (as written by model_to_yaml), validated.
/// @throws ConfigError naming `source` on a bad key or value.
models::ModelOptions model_from_yaml(const std::string& yaml_text, const std::string& source);

} // namespace triseg::io
