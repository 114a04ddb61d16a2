// Reading JSON Lines files that a writer appends to (history.jsonl), torn last line included.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace triseg::io {

/// The complete records of a JSON Lines file.
struct JsonlRecords {
    std::vector<nlohmann::json> records; ///< one per complete line ('\n'-terminated), in order
    std::vector<int64_t> lines;          ///< each record's line number in the file (from 1)
    uint64_t complete_bytes = 0;         ///< bytes up to and including the last '\n'
    /// Bytes after the last '\n': a record a writer was cut off in (killed, disk full). It
    /// is not a record and is not in `records`; 0 for a file that ends with '\n'.
    uint64_t torn_bytes = 0;
};

/// Reads every complete line of `path` as one JSON value. Writers append each record as one
/// write(2) of the whole line with its '\n' (search/driver/history_log.h), so a reader sees whole
/// lines, except after a writer died inside that write: then the last line has no '\n'. Such
/// a torn last line is skipped (`torn_bytes` says how long it was), never an error. Empty
/// lines are skipped.
/// @throws IoError when the file cannot be read; InputError naming the file and line when a
/// complete line is not JSON (the file was damaged, not cut).
JsonlRecords read_jsonl(const std::string& path);

} // namespace triseg::io
