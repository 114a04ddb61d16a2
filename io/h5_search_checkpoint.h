// The search checkpoint file (HDF5): driver state as JSON text plus the algorithm's entries.
#pragma once

#include <map>
#include <string>

namespace triseg::io {

/// What `triseg search` saves to resume (docs/search.md describes the file):
///
///     /                 attributes format = "triseg-search-checkpoint/1", method
///     /driver           string dataset [1]: the driver's state as JSON
///     /config           string dataset [1]: the YAML sections the trajectory depends on
///     /algorithm/keys   string dataset [n]: entry names ("ppo/network.pt", ...)
///     /algorithm/entry_<i>  uint8 dataset [bytes]: entry i
struct SearchCheckpointFile {
    std::string method;
    std::string driver_json;
    std::string config_yaml;
    std::map<std::string, std::string> entries;
};

/// Writes atomically (temporary file, fsync, rename, fsync of the folder). @throws IoError.
void write_search_checkpoint(const std::string& path, const SearchCheckpointFile& checkpoint);

/// @throws IoError (missing, unreadable), InputError (not HDF5, not a search checkpoint,
/// missing or damaged parts), naming the file.
SearchCheckpointFile read_search_checkpoint(const std::string& path);

} // namespace triseg::io
