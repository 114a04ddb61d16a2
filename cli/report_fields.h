// `triseg report`: typed reads of the JSON it tabulates, where a wrong type is a note.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace triseg::cli {

/// Reads the fields of one JSON document that `triseg report` shows: a whole file
/// (result.json, eval_*.json, metrics.json) or one record of a JSON Lines file.
///
/// A missing or null field reads as absent (shown as '-'). A field of another type reads as
/// absent too, after a note on stdout that names the file, the line for a record, the key and
/// both types; so does every field of a document that is not an object (one note). Nothing
/// here throws on the document's content.
class ReportFields {
public:
    /// @param doc  the document (kept by reference: it must outlive this object)
    /// @param file the file it came from, as the user named it
    /// @param line the record's line number in a JSON Lines file, 0 for a whole file
    ReportFields(const nlohmann::json& doc, std::string file, int64_t line = 0);

    /// True when the document is an object (or null: a file that is not there).
    bool is_object() const { return object_; }

    /// The number at `path` ("metrics.acc_drop": keys separated by '.').
    std::optional<double> number(const std::string& path) const;
    /// The integer at `path` (a JSON integer; 3.0 is not one).
    std::optional<int64_t> integer(const std::string& path) const;
    std::optional<std::string> string(const std::string& path) const;
    std::optional<bool> boolean(const std::string& path) const;

private:
    /// The value at `path` when it has the wanted type (`ok`), else null after a note.
    const nlohmann::json*
    find(const std::string& path, bool (*ok)(const nlohmann::json&), const char* want) const;
    void note(const std::string& what) const;

    const nlohmann::json& doc_;
    std::string file_;
    int64_t line_;
    bool object_;
    mutable std::set<std::string> noted_; ///< each note once
};

/// "12.34" with `decimals` decimals, or "-" when absent.
std::string fixed(const std::optional<double>& v, int decimals);

} // namespace triseg::cli
