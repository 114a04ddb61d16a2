// The search checkpoint: driver state + algorithm checkpoint + resume key.
#include "search/driver/driver_checkpoint.h"

#include <sstream>

#include <algorithm>
#include <cmath>
#include <exception>
#include <optional>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/h5_search_checkpoint.h"
#include "search/driver/driver_json.h"

namespace triseg::search {

using json = nlohmann::json;

namespace {
constexpr const char* kStartOver = "rerun with --force to start the search over (it deletes the "
                                   "checkpoint), or restore the file from a backup";
} // namespace

json driver_state_json(const DriverState& s) {
    json j = {{"episodes", s.episodes},
              {"evaluations", s.evaluations},
              {"extra_evaluations", s.extra_evaluations},
              {"holdout_evaluations", s.holdout_evaluations},
              {"generations", s.generations},
              {"macs", s.macs},
              {"extra_macs", s.extra_macs},
              {"holdout_macs", s.holdout_macs},
              {"next_eval_at", s.next_eval_at},
              {"elapsed_seconds", s.elapsed},
              {"history_bytes", s.history_bytes},
              {"finished", s.finished},
              {"evaluated", json::array()}};
    if (s.anchor) {
        j["anchor"] = detail::codes_json(*s.anchor);
    }
    if (s.best) {
        j["best"] = detail::scored_json(*s.best);
    }
    if (s.period_best) {
        j["period_best"] = detail::scored_json(*s.period_best);
    }
    for (const auto& e : s.evaluated) {
        j["evaluated"].push_back(detail::scored_json(e));
    }
    return j;
}

namespace {

/// Largest count a checkpoint may hold: 2^53, where a JSON number stops being exact.
constexpr int64_t kMaxCount = int64_t{1} << 53;

/// The non-negative integer `key` of `j` (absent: `fallback` when given). A float (1e30), a
/// negative value or more than kMaxCount is damage: the search would run on with it.
int64_t count_at(const json& j, const char* key, std::optional<int64_t> fallback = std::nullopt) {
    if (fallback && !j.contains(key)) {
        return *fallback;
    }
    const json& v = j.at(key);
    TRISEG_CHECK(v.is_number_integer() && (v.is_number_unsigned() || v.get<int64_t>() >= 0) &&
                     v.get<uint64_t>() <= static_cast<uint64_t>(kMaxCount),
                 InputError,
                 "driver state field '" << key << "' must be an integer in [0, " << kMaxCount
                                        << "], got " << v.dump());
    return v.get<int64_t>();
}

} // namespace

DriverState driver_state_from(const json& j) {
    DriverState s;
    s.episodes = count_at(j, "episodes");
    s.evaluations = count_at(j, "evaluations");
    s.extra_evaluations = count_at(j, "extra_evaluations");
    s.holdout_evaluations = count_at(j, "holdout_evaluations");
    s.generations = count_at(j, "generations");
    s.macs = count_at(j, "macs", 0);
    s.extra_macs = count_at(j, "extra_macs", 0);
    s.holdout_macs = count_at(j, "holdout_macs", 0);
    if (j.contains("anchor")) {
        s.anchor = detail::codes_from(j.at("anchor"));
    }
    s.next_eval_at = count_at(j, "next_eval_at");
    s.elapsed = j.at("elapsed_seconds").get<double>();
    TRISEG_CHECK(std::isfinite(s.elapsed) && s.elapsed >= 0, InputError,
                 "driver state field 'elapsed_seconds' must be finite and >= 0, got " << s.elapsed);
    s.history_bytes = static_cast<uint64_t>(count_at(j, "history_bytes"));
    s.finished = j.at("finished").get<bool>();
    if (j.contains("best")) {
        s.best = detail::scored_from(j.at("best"));
    }
    if (j.contains("period_best")) {
        s.period_best = detail::scored_from(j.at("period_best"));
    }
    for (const auto& e : j.at("evaluated")) {
        s.evaluated.push_back(detail::scored_from(e));
    }
    return s;
}

std::vector<std::string> lines_with(const std::string& text, const std::string& prefix) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(prefix, 0) == 0) {
            out.push_back(line.substr(prefix.size()));
        }
    }
    return out;
}

std::string first_difference(const std::string& a, const std::string& b) {
    size_t pa = 0;
    size_t pb = 0;
    while (pa < a.size() || pb < b.size()) {
        const size_t ea = std::min(a.find('\n', pa), a.size());
        const size_t eb = std::min(b.find('\n', pb), b.size());
        const std::string la = a.substr(pa, ea - pa);
        const std::string lb = b.substr(pb, eb - pb);
        if (la != lb) {
            return "checkpoint has '" + la + "', this run has '" + lb + "'";
        }
        pa = ea + 1;
        pb = eb + 1;
    }
    return "no line differs";
}

namespace {

/// A checkpoint made from other dataset content (same names, other bytes) is an input error
/// naming the file; a checkpoint without dataset lines (an older triseg) is left to the
/// generic key comparison.
void check_same_data(const std::string& stored, const std::string& now, const std::string& path) {
    static const std::string kPrefix = "# dataset file sha256: ";
    const auto before = lines_with(stored, kPrefix);
    const auto after = lines_with(now, kPrefix);
    for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
        const std::string name = before[i].substr(0, before[i].find(' '));
        TRISEG_CHECK(before[i] == after[i], InputError,
                     "the dataset file '"
                         << name << "' has other content than when the search checkpoint '" << path
                         << "' was written (SHA-256 " << before[i].substr(name.size() + 1, 12)
                         << "..., now " << after[i].substr(after[i].find(' ') + 1, 12)
                         << "...): resuming would mix two datasets in one history; restore the "
                            "data, or use --force to start over");
    }
}

} // namespace

std::optional<DriverState> read_driver_checkpoint(const std::string& path,
                                                  const DriverSettings& settings,
                                                  Algorithm& algorithm) {
    if (!io::file_exists(path)) {
        return std::nullopt;
    }
    const std::string& out = settings.out_dir;
    const auto file = io::read_search_checkpoint(path);
    TRISEG_CHECK(file.method == settings.info.method, ConfigError,
                 "'" << out << "' holds a " << file.method << " search, not "
                     << settings.info.method
                     << "; use another --out folder, or --force to start over");
    check_same_data(file.config_yaml, settings.resume_key, path);
    TRISEG_CHECK(
        file.config_yaml == settings.resume_key, ConfigError,
        "the checkpoint in '"
            << out << "' was written with another config ("
            << first_difference(file.config_yaml, settings.resume_key)
            << "); only the budget (search.episodes, search.max_evaluations, "
               "search.max_macs, search.max_seconds) may change on resume. Use --force to start "
               "over, or another --out folder");
    DriverState st;
    try {
        st = driver_state_from(json::parse(file.driver_json));
    } catch (const json::exception& e) {
        TRISEG_THROW(InputError, "search checkpoint '" << path << "' has a damaged driver state ("
                                                       << e.what() << "); " << kStartOver);
    } catch (const InputError& e) {
        TRISEG_THROW(InputError, "search checkpoint '" << path << "' has a damaged driver state ("
                                                       << e.what() << "); " << kStartOver);
    }
    Checkpoint c;
    c.entries = file.entries;
    // Whatever a damaged state makes the algorithm's reader throw (its own InputError, a
    // Boost.Serialization archive_exception, a std::length_error or std::bad_alloc from a
    // damaged size, pagmo's std::invalid_argument) is the file's fault: exit 3, naming it.
    try {
        algorithm.load(c);
    } catch (const ConfigError&) {
        throw;
    } catch (const InputError& e) {
        TRISEG_THROW(InputError,
                     "search checkpoint '" << path << "': " << e.what() << "; " << kStartOver);
    } catch (const std::exception& e) {
        TRISEG_THROW(InputError, "search checkpoint '" << path << "' holds a damaged "
                                                       << settings.info.method << " state ("
                                                       << e.what() << "); " << kStartOver);
    }
    return st;
}

void write_driver_checkpoint(const std::string& path,
                             const DriverSettings& settings,
                             const DriverState& state,
                             Algorithm& algorithm) {
    io::SearchCheckpointFile file;
    file.method = settings.info.method;
    file.config_yaml = settings.resume_key;
    file.driver_json = driver_state_json(state).dump();
    Checkpoint c;
    algorithm.save(c);
    file.entries = c.entries;
    io::write_search_checkpoint(path, file);
}

} // namespace triseg::search
