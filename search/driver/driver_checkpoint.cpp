// The search checkpoint: driver state + algorithm checkpoint + resume key.
#include "search/driver/driver_checkpoint.h"

#include <algorithm>
#include <exception>

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

DriverState driver_state_from(const json& j) {
    DriverState s;
    s.episodes = j.at("episodes").get<int64_t>();
    s.evaluations = j.at("evaluations").get<int64_t>();
    s.extra_evaluations = j.at("extra_evaluations").get<int64_t>();
    s.holdout_evaluations = j.at("holdout_evaluations").get<int64_t>();
    s.generations = j.at("generations").get<int64_t>();
    s.macs = j.value("macs", int64_t{0});
    s.extra_macs = j.value("extra_macs", int64_t{0});
    s.holdout_macs = j.value("holdout_macs", int64_t{0});
    if (j.contains("anchor")) {
        s.anchor = detail::codes_from(j.at("anchor"));
    }
    s.next_eval_at = j.at("next_eval_at").get<int64_t>();
    s.elapsed = j.at("elapsed_seconds").get<double>();
    s.history_bytes = j.at("history_bytes").get<uint64_t>();
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
