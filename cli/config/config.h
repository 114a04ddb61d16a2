// Reading YAML configs into RunConfig, with --set overrides and key-path errors.
#pragma once

#include <string>
#include <vector>

#include "cli/config/run_config.h"

namespace triseg::cli {

/// Parses YAML text into a RunConfig, applying `overrides` ("section.key=value", value
/// parsed as YAML) first, then validating every section.
/// Unknown sections and keys are errors that list the valid ones; a value of the wrong type
/// names the key and the expected type; out-of-range values come from XxxOptions::validate().
/// Keys absent from the YAML keep the defaults of the Options structs.
/// @param source a name for messages (the file path, or "<string>").
/// @throws ConfigError on every problem above, or malformed YAML (with line and column).
RunConfig parse_config(const std::string& yaml_text,
                       const std::vector<std::string>& overrides,
                       const std::string& source = "<string>");

/// Reads `path` and calls parse_config.
/// @throws IoError when the file cannot be read (naming it); ConfigError as parse_config.
RunConfig load_config(const std::string& path, const std::vector<std::string>& overrides);

/// The complete configuration as YAML (every key, defaults included), readable by
/// parse_config: parse_config(to_yaml(c), {}) == c.
std::string to_yaml(const RunConfig& config);

} // namespace triseg::cli
