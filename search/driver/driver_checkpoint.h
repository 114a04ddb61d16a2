// The search checkpoint (checkpoint.h5): the driver's state, the algorithm's checkpoint and
// the resume key it was written under.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/algorithm.h"
#include "search/driver/driver_state.h"
#include "search/driver/search_driver.h"

namespace triseg::search {

/// The driver state as the checkpoint's JSON text holds it.
nlohmann::json driver_state_json(const DriverState& s);
/// The inverse of driver_state_json. @throws nlohmann::json::exception on a malformed value.
DriverState driver_state_from(const nlohmann::json& j);

/// The rest of every line of `text` that starts with `prefix` (the resume key's lines about
/// inputs: "# integer model file sha256: ", "# dataset file sha256: ").
std::vector<std::string> lines_with(const std::string& text, const std::string& prefix);

/// The first line where two texts differ, for messages: "checkpoint has 'a', this run has 'b'".
std::string first_difference(const std::string& a, const std::string& b);

/// Reads the checkpoint at `path` when it exists: checks that it was written by
/// `settings.info.method` under `settings.resume_key`, loads the algorithm's part into
/// `algorithm` and returns the driver state; std::nullopt when there is no file.
/// @throws ConfigError for another method or config; InputError naming `path` and --force for
/// a damaged driver or algorithm state (whatever the algorithm's load throws); IoError/InputError
/// from the file reader.
std::optional<DriverState> read_driver_checkpoint(const std::string& path,
                                                  const DriverSettings& settings,
                                                  Algorithm& algorithm);

/// Replaces the checkpoint at `path` (atomically) with `state` and the algorithm's checkpoint.
/// @throws IoError.
void write_driver_checkpoint(const std::string& path,
                             const DriverSettings& settings,
                             const DriverState& state,
                             Algorithm& algorithm);

} // namespace triseg::search
