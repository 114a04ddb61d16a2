// read_jsonl.
#include "io/jsonl_reader.h"

#include "common/error.h"
#include "io/atomic_file.h"

namespace triseg::io {

namespace {
/// A search of a million episodes writes a few hundred MB of history.
constexpr size_t kMaxJsonlBytes = size_t{1} << 30;
} // namespace

JsonlRecords read_jsonl(const std::string& path) {
    const std::string text = read_file(path, "JSON Lines file", kMaxJsonlBytes);
    JsonlRecords out;
    const size_t end = text.rfind('\n');
    out.complete_bytes = end == std::string::npos ? 0 : end + 1;
    out.torn_bytes = text.size() - out.complete_bytes;
    size_t at = 0;
    for (int64_t line = 1; at < out.complete_bytes; ++line) {
        const size_t nl = text.find('\n', at);
        const std::string record = text.substr(at, nl - at);
        at = nl + 1;
        if (record.find_first_not_of(" \t\r") == std::string::npos) {
            continue;
        }
        try {
            out.records.push_back(nlohmann::json::parse(record));
            out.lines.push_back(line);
        } catch (const nlohmann::json::exception& e) {
            TRISEG_THROW(InputError, "'" << path << "' line " << line
                                         << " is not JSON (the file is damaged): " << e.what());
        }
    }
    return out;
}

} // namespace triseg::io
