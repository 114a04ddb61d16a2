// MapReader: typed YAML reads that record the keys asked for; number parsing and printing.
#include "io/config_reader.h"

#include "common/error.h"
#include "common/option_checks.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>
#include <string_view>
#include <system_error>

namespace triseg::io::detail {

namespace {

/// "'text'", "a list", "a mapping" or "an empty value", for "got ..." in messages.
std::string describe_value(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar:
        return "'" + excerpt(node.Scalar()) + "'";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Map:
        return "a mapping";
    default:
        return "an empty value";
    }
}

/// Drops one leading '+' (YAML allows it, std::from_chars does not); false on "+-1" or "+".
bool strip_plus(std::string_view& text) {
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
        return !text.empty() && text.front() != '-' && text.front() != '+';
    }
    return true;
}

bool parse_int(const std::string& text, int64_t& out) {
    std::string_view view(text);
    if (!strip_plus(view)) {
        return false;
    }
    const char* end = view.data() + view.size();
    const auto [ptr, ec] = std::from_chars(view.data(), end, out);
    return ec == std::errc() && ptr == end && !view.empty();
}

/// Refuses aliases (`*name`, `<<: *name`) while yaml-cpp parses: a few lines of aliases to
/// aliases ("billion laughs") make a tree that every walk over it visits exponentially often,
/// and triseg's configs never need them.
class AliasRefuser : public YAML::EventHandler {
public:
    explicit AliasRefuser(const std::string& source) : source_(source) {}
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
        TRISEG_THROW(ConfigError, "YAML aliases (*name) are not accepted, found one in "
                                      << source_ << " at line " << mark.line + 1 << ", column "
                                      << mark.column + 1
                                      << "; write the value out in full where it is used");
    }
    void
    OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&,
                         const std::string&,
                         YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&,
                    const std::string&,
                    YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}

private:
    const std::string& source_;
};

/// Configs are two levels deep; deeper trees (or alias cycles) are not walked further.
constexpr int kMaxKeyDepth = 64;

void check_unique_keys(const YAML::Node& node,
                       const std::string& path,
                       const std::string& source,
                       int depth) {
    if (depth > kMaxKeyDepth) {
        return;
    }
    if (node.IsSequence()) {
        for (size_t i = 0; i < node.size(); ++i) {
            check_unique_keys(node[i], path + "[" + std::to_string(i) + "]", source, depth + 1);
        }
        return;
    }
    if (!node.IsMap()) {
        return;
    }
    std::map<std::string, YAML::Mark> seen;
    for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
            continue;
        }
        const std::string key = entry.first.Scalar();
        const std::string key_path = path.empty() ? key : path + "." + key;
        const YAML::Mark mark = entry.first.Mark();
        const auto [it, inserted] = seen.emplace(key, mark);
        if (!inserted) {
            TRISEG_THROW(ConfigError, "duplicate key `" << key_path << "` in " << source
                                                        << ": line " << it->second.line + 1
                                                        << " and line " << mark.line + 1
                                                        << "; keep one of them");
        }
        check_unique_keys(entry.second, key_path, source, depth + 1);
    }
}

} // namespace

void check_unique_keys(const YAML::Node& root, const std::string& source) {
    check_unique_keys(root, "", source, 0);
}

std::string ConfigOrigin::describe(const std::string& path, const YAML::Node& node) const {
    if (from_set.count(path) != 0) {
        return " (from --set)";
    }
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) {
        return " (in " + source + ")";
    }
    return " (in " + source + ", line " + std::to_string(mark.line + 1) + ")";
}

std::string ConfigOrigin::set_marker(const std::string& path) const {
    return from_set.count(path) != 0 ? " (from --set)" : "";
}

void check_mapping(const YAML::Node& node, const std::string& path, const ConfigOrigin& origin) {
    if (!node.IsDefined() || node.IsNull() || node.IsMap()) {
        return;
    }
    if (path.empty()) {
        TRISEG_THROW(ConfigError, "the top level of " << origin.source
                                                      << " must be a mapping of sections, got "
                                                      << describe_value(node));
    }
    TRISEG_THROW(ConfigError, "section `" << path << "` must be a mapping of keys, got "
                                          << describe_value(node) << origin.describe(path, node));
}

MapReader::MapReader(YAML::Node node, std::string path, const ConfigOrigin& origin)
    : node_(node.IsDefined() ? node : YAML::Node()), path_(std::move(path)), origin_(origin) {
    check_mapping(node, path_, origin_);
}

YAML::Node MapReader::section(const std::string& key) {
    return find(key);
}

void MapReader::field(const std::string& key, int64_t& out) {
    const YAML::Node node = find(key);
    if (node.IsDefined() && !(node.IsScalar() && parse_int(node.Scalar(), out))) {
        type_error(key_path(key), key, node, "an integer");
    }
}

void MapReader::field(const std::string& key, double& out) {
    const YAML::Node node = find(key);
    if (node.IsDefined() && !(node.IsScalar() && parse_double(node.Scalar(), out))) {
        type_error(key_path(key), key, node, "a number");
    }
}

void MapReader::field(const std::string& key, bool& out) {
    const YAML::Node node = find(key);
    if (node.IsDefined() && !(node.IsScalar() && YAML::convert<bool>::decode(node, out))) {
        type_error(key_path(key), key, node, "true or false");
    }
}

void MapReader::field(const std::string& key, std::string& out) {
    const YAML::Node node = find(key);
    if (!node.IsDefined()) {
        return;
    }
    if (!node.IsScalar()) {
        type_error(key_path(key), key, node, "a string");
    }
    out = node.Scalar();
}

void MapReader::field(const std::string& key, std::vector<double>& out) {
    const YAML::Node node = find(key);
    if (!node.IsDefined()) {
        return;
    }
    if (!node.IsSequence()) {
        type_error(key_path(key), key, node, "a list of numbers");
    }
    std::vector<double> values(node.size());
    for (size_t i = 0; i < node.size(); ++i) {
        const YAML::Node item = node[i];
        if (!(item.IsScalar() && parse_double(item.Scalar(), values[i]))) {
            type_error(key_path(key) + "[" + std::to_string(i) + "]", key, item, "a number");
        }
    }
    out = std::move(values);
}

void MapReader::finish() const {
    if (!node_.IsMap()) {
        return;
    }
    for (const auto& entry : node_) {
        const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "<non-scalar>";
        if (std::find(asked_.begin(), asked_.end(), key) != asked_.end()) {
            continue;
        }
        std::vector<std::string> valid = asked_;
        std::sort(valid.begin(), valid.end());
        const std::string marker = origin_.set_marker(key_path(key));
        if (path_.empty()) {
            TRISEG_THROW(ConfigError, "unknown section `"
                                          << key << "` in " << origin_.source << marker
                                          << "; valid sections: " << triseg::detail::join(valid));
        }
        TRISEG_THROW(ConfigError, "unknown key `" << key_path(key) << "` in " << origin_.source
                                                  << marker << "; valid keys in `" << path_
                                                  << "`: " << triseg::detail::join(valid));
    }
}

YAML::Node MapReader::find(const std::string& key) {
    asked_.push_back(key);
    const YAML::Node& node = node_;
    return node.IsMap() ? node[key] : YAML::Node(YAML::NodeType::Undefined);
}

std::string MapReader::key_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
}

void MapReader::type_error(const std::string& shown,
                           const std::string& key,
                           const YAML::Node& node,
                           const std::string& expected) const {
    TRISEG_THROW(ConfigError, "`" << shown << "` must be " << expected << ", got "
                                  << describe_value(node) << origin_.describe(key_path(key), node));
}

void MapReader::enum_error(const std::string& key,
                           const YAML::Node& node,
                           const std::vector<std::string>& allowed) const {
    TRISEG_THROW(ConfigError, "`" << key_path(key) << "` must be one of "
                                  << triseg::detail::join(allowed) << "; got "
                                  << describe_value(node) << origin_.describe(key_path(key), node));
}

bool parse_double(const std::string& text, double& out) {
    static const std::vector<std::pair<std::string, double>> kSpecial = {
        {".inf", HUGE_VAL},   {".Inf", HUGE_VAL},  {".INF", HUGE_VAL},   {"+.inf", HUGE_VAL},
        {"+.Inf", HUGE_VAL},  {"+.INF", HUGE_VAL}, {"-.inf", -HUGE_VAL}, {"-.Inf", -HUGE_VAL},
        {"-.INF", -HUGE_VAL}, {".nan", NAN},       {".NaN", NAN},        {".NAN", NAN}};
    for (const auto& [name, value] : kSpecial) {
        if (text == name) {
            out = value;
            return true;
        }
    }
    std::string_view view(text);
    if (!strip_plus(view) || view.empty()) {
        return false;
    }
    const char* end = view.data() + view.size();
    const auto [ptr, ec] = std::from_chars(view.data(), end, out);
    return ec == std::errc() && ptr == end;
}

std::string format_double(double value) {
    if (std::isnan(value)) {
        return ".nan";
    }
    if (std::isinf(value)) {
        return value > 0 ? ".inf" : "-.inf";
    }
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    std::string text(buffer, result.ptr);
    if (text.find('.') == std::string::npos) {
        const size_t exponent = text.find('e');
        text.insert(exponent == std::string::npos ? text.size() : exponent, ".0");
    }
    return text;
}

std::string excerpt(const std::string& text, size_t max_chars) {
    if (text.size() <= max_chars) {
        return text;
    }
    return text.substr(0, max_chars) + "... (" + std::to_string(text.size()) + " characters)";
}

YAML::Node load_yaml(const std::string& text, const std::string& source) {
    TRISEG_CHECK(text.size() <= kMaxYamlBytes, ConfigError,
                 source << " holds " << text.size() << " bytes of YAML; triseg reads at most "
                        << kMaxYamlBytes << " (a config is a few kilobytes)");
    try {
        {
            std::istringstream in(text);
            YAML::Parser parser(in);
            AliasRefuser refuser(source);
            while (parser.HandleNextDocument(refuser)) {
            }
        }
        YAML::Node root = YAML::Load(text);
        check_unique_keys(root, source);
        return root;
    } catch (const YAML::Exception& e) {
        std::ostringstream position;
        if (!e.mark.is_null()) {
            position << " at line " << e.mark.line + 1 << ", column " << e.mark.column + 1;
        }
        TRISEG_THROW(ConfigError,
                     "malformed YAML in " << source << position.str() << ": " << e.msg);
    }
}

} // namespace triseg::io::detail
