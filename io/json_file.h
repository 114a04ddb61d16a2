// Reading a JSON file triseg depends on: size-capped, and strict about duplicate keys.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace triseg::io {

/// Parses `text` as JSON, refusing an object that holds the same key twice (nlohmann keeps the
/// last one silently, so a codes file could say two things of one layer). `source` names the
/// text in messages ("codes file 'x.json'").
/// @throws InputError naming `source` and the byte or the duplicate key.
nlohmann::json parse_json_strict(const std::string& text, const std::string& source);

/// Reads `path` (at most `max_bytes`, see read_file) and parses it with parse_json_strict;
/// `what` names it ("codes file").
/// @throws IoError when it cannot be read, InputError when it is too large or not JSON.
nlohmann::json read_json_file(const std::string& path, const std::string& what, size_t max_bytes);

} // namespace triseg::io
