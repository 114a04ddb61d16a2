// ReportFields.
#include "cli/report_fields.h"

#include <cstdio>

namespace triseg::cli {

namespace {
bool is_number(const nlohmann::json& j) {
    return j.is_number();
}
bool is_integer(const nlohmann::json& j) {
    return j.is_number_integer();
}
bool is_string(const nlohmann::json& j) {
    return j.is_string();
}
bool is_boolean(const nlohmann::json& j) {
    return j.is_boolean();
}
} // namespace

ReportFields::ReportFields(const nlohmann::json& doc, std::string file, int64_t line)
    : doc_(doc), file_(std::move(file)), line_(line), object_(doc.is_object() || doc.is_null()) {
    if (!object_) {
        note(std::string("the ") + (line_ > 0 ? "record" : "file") + " is " +
             (doc.is_array() ? "an " : "a ") + doc.type_name() + ", not a JSON object");
    }
}

void ReportFields::note(const std::string& what) const {
    if (!noted_.insert(what).second) {
        return;
    }
    const std::string where =
        line_ > 0 ? "line " + std::to_string(line_) + " of '" + file_ + "'" : "'" + file_ + "'";
    std::printf("note: %s: %s; %s\n", where.c_str(), what.c_str(),
                line_ > 0 ? "the record is skipped" : "its values are shown as '-'");
}

const nlohmann::json* ReportFields::find(const std::string& path,
                                         bool (*ok)(const nlohmann::json&),
                                         const char* want) const {
    if (!object_ || doc_.is_null()) {
        return nullptr;
    }
    const nlohmann::json* at = &doc_;
    std::string key_path;
    size_t from = 0;
    while (true) {
        const size_t dot = path.find('.', from);
        const std::string key = path.substr(from, dot == std::string::npos ? dot : dot - from);
        key_path += (key_path.empty() ? "" : ".") + key;
        const auto it = at->find(key);
        if (it == at->end() || it->is_null()) {
            return nullptr;
        }
        at = &*it;
        if (dot == std::string::npos) {
            break;
        }
        if (!at->is_object()) {
            note("`" + key_path + "` is " + (at->is_array() ? "an " : "a ") + at->type_name() +
                 ", not an object");
            return nullptr;
        }
        from = dot + 1;
    }
    if (!ok(*at)) {
        const bool fraction = std::string(want) == "an integer" && at->is_number_float();
        note("`" + key_path + "` is " +
             (fraction ? "a fraction"
                       : (at->is_array() ? "an " : "a ") + std::string(at->type_name())) +
             ", not " + want);
        return nullptr;
    }
    return at;
}

std::optional<double> ReportFields::number(const std::string& path) const {
    const auto* v = find(path, is_number, "a number");
    return v ? std::optional<double>(v->get<double>()) : std::nullopt;
}

std::optional<int64_t> ReportFields::integer(const std::string& path) const {
    const auto* v = find(path, is_integer, "an integer");
    return v ? std::optional<int64_t>(v->get<int64_t>()) : std::nullopt;
}

std::optional<std::string> ReportFields::string(const std::string& path) const {
    const auto* v = find(path, is_string, "a string");
    return v ? std::optional<std::string>(v->get<std::string>()) : std::nullopt;
}

std::optional<bool> ReportFields::boolean(const std::string& path) const {
    const auto* v = find(path, is_boolean, "true or false");
    return v ? std::optional<bool>(v->get<bool>()) : std::nullopt;
}

std::string fixed(const std::optional<double>& v, int decimals) {
    if (!v) {
        return "-";
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
    return buf;
}

} // namespace triseg::cli
