// Typed, key-recording reads and writes of one YAML mapping (a config section); used by
// io/model_yaml and by the run configuration (cli/config).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace triseg::io::detail {

/// The config spellings of an enum, in the order they are listed in messages.
template <typename E> using EnumNames = std::vector<std::pair<E, std::string>>;

/// Where config values came from, for messages.
struct ConfigOrigin {
    /// The file path, checkpoint path or "<string>".
    std::string source;
    /// Paths written by --set overrides: "section.key", and "section" for sections they created.
    std::set<std::string> from_set;

    /// " (from --set)" for an override, else " (in source, line N)" (line when known).
    std::string describe(const std::string& path, const YAML::Node& node) const;
    /// " (from --set)" when `path` came from an override, else "".
    std::string set_marker(const std::string& path) const;
};

/// Throws ConfigError unless `node` is a mapping, null, or absent (an empty section).
/// `path` is the section name, or "" for the top level of the document.
void check_mapping(const YAML::Node& node, const std::string& path, const ConfigOrigin& origin);

/// Reads typed values from one YAML mapping and records every key it is asked for, so that
/// finish() can report leftover keys against exactly the keys the parser knows.
/// Absent keys leave the output untouched (the Options default stays).
/// Invariant: the mapping outlives the reader; `origin` outlives it too.
class MapReader {
public:
    /// @param path the section name ("train"), or "" when reading the top level's sections.
    /// @throws ConfigError when `node` is neither a mapping nor null/absent.
    MapReader(YAML::Node node, std::string path, const ConfigOrigin& origin);

    /// The sub-mapping `key` (possibly absent) of the top level.
    YAML::Node section(const std::string& key);

    /// Typed reads; each throws ConfigError naming the key path, the expected type and the value.
    void field(const std::string& key, int64_t& out);
    void field(const std::string& key, double& out);
    void field(const std::string& key, bool& out);
    void field(const std::string& key, std::string& out);
    void field(const std::string& key, std::vector<double>& out);

    /// A string that must be one of `names`; the error lists them.
    template <typename E> void field(const std::string& key, E& out, const EnumNames<E>& names) {
        const YAML::Node node = find(key);
        if (!node.IsDefined()) {
            return;
        }
        std::vector<std::string> allowed;
        for (const auto& [value, name] : names) {
            if (node.IsScalar() && node.Scalar() == name) {
                out = value;
                return;
            }
            allowed.push_back(name);
        }
        enum_error(key, node, allowed);
    }

    /// @throws ConfigError on the first key of the mapping that no read asked for; the message
    ///         lists the keys that were asked for.
    void finish() const;

private:
    YAML::Node find(const std::string& key);
    std::string key_path(const std::string& key) const;
    [[noreturn]] void type_error(const std::string& shown,
                                 const std::string& key,
                                 const YAML::Node& node,
                                 const std::string& expected) const;
    [[noreturn]] void enum_error(const std::string& key,
                                 const YAML::Node& node,
                                 const std::vector<std::string>& allowed) const;

    YAML::Node node_;
    std::string path_;
    const ConfigOrigin& origin_;
    std::vector<std::string> asked_;
};

std::string format_double(double value); // see below

/// The counterpart of MapReader: emits `key: value` per field, in visit order.
class MapWriter {
public:
    explicit MapWriter(YAML::Emitter& out) : out_(out) {}

    void field(const std::string& key, int64_t value) { key_value(key) << value; }
    void field(const std::string& key, double value) { key_value(key) << format_double(value); }
    void field(const std::string& key, bool value) { key_value(key) << value; }
    void field(const std::string& key, const std::string& value) { key_value(key) << value; }
    void field(const std::string& key, const std::vector<double>& values) {
        key_value(key) << YAML::Flow << YAML::BeginSeq;
        for (double value : values) {
            out_ << format_double(value);
        }
        out_ << YAML::EndSeq;
    }
    template <typename E> void field(const std::string& key, E value, const EnumNames<E>& names) {
        for (const auto& [candidate, name] : names) {
            if (candidate == value) {
                key_value(key) << name;
                return;
            }
        }
        TRISEG_THROW(ConfigError, "`" << key << "` holds a value without a config spelling");
    }

private:
    YAML::Emitter& key_value(const std::string& key) {
        return out_ << YAML::Key << key << YAML::Value;
    }

    YAML::Emitter& out_;
};

/// Most bytes of YAML that load_yaml parses (a config, a --set value, a model's model_yaml).
constexpr size_t kMaxYamlBytes = size_t{4} << 20;

/// `text`, or its first `max_chars` characters and its length when longer: what a message
/// quotes of a value.
std::string excerpt(const std::string& text, size_t max_chars = 80);

/// Parses YAML text, refusing duplicate keys, aliases (`*name`; anchors alone are harmless)
/// and texts over kMaxYamlBytes.
/// @throws ConfigError "malformed YAML in <source> at line L, column C: ...", on a duplicate
/// key, an alias or a text too large, each naming `source`.
YAML::Node load_yaml(const std::string& text, const std::string& source);

/// Throws ConfigError when a mapping anywhere in `root` has the same key twice (yaml-cpp keeps
/// both entries and lookups find the first), naming `source`, the key path and both lines.
void check_unique_keys(const YAML::Node& root, const std::string& source);

/// Parses a number as written in YAML (also .inf, -.inf, .nan); false when `text` is not one.
bool parse_double(const std::string& text, double& out);

/// The shortest text that parses back to exactly `value`, always float-looking ("1.0", "5.0e-04").
std::string format_double(double value);

} // namespace triseg::io::detail
