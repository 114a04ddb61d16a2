// parse_json_strict (nlohmann's parser callback sees every key), read_json_file.
#include "io/json_file.h"

#include <set>
#include <vector>

#include "common/error.h"
#include "io/atomic_file.h"

namespace triseg::io {

nlohmann::json parse_json_strict(const std::string& text, const std::string& source) {
    std::vector<std::set<std::string>> open_objects; // the keys seen so far, per open object
    std::string duplicate;
    const auto callback = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        switch (event) {
        case nlohmann::json::parse_event_t::object_start:
            open_objects.emplace_back();
            break;
        case nlohmann::json::parse_event_t::object_end:
            if (!open_objects.empty()) {
                open_objects.pop_back();
            }
            break;
        case nlohmann::json::parse_event_t::key:
            if (!open_objects.empty() && parsed.is_string() &&
                !open_objects.back().insert(parsed.get<std::string>()).second &&
                duplicate.empty()) {
                duplicate = parsed.get<std::string>();
            }
            break;
        default:
            break;
        }
        return true;
    };
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text, callback);
    } catch (const nlohmann::json::parse_error& e) {
        TRISEG_THROW(InputError,
                     source << " is not valid JSON (byte " << e.byte << "): " << e.what());
    }
    TRISEG_CHECK(duplicate.empty(), InputError,
                 source << " holds the key \""
                        << (duplicate.size() > 80 ? duplicate.substr(0, 80) + "..." : duplicate)
                        << "\" twice in one object; keep one of them");
    return doc;
}

nlohmann::json read_json_file(const std::string& path, const std::string& what, size_t max_bytes) {
    return parse_json_strict(read_file(path, what, max_bytes), what + " '" + path + "'");
}

} // namespace triseg::io
