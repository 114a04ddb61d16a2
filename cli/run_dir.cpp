// RunDir implementation.
#include "cli/run_dir.h"

#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/config.h"

namespace triseg::cli {

namespace {

/// First line where two texts differ, as "line N: 'a' vs 'b'".
std::string first_difference(const std::string& a, const std::string& b) {
    std::istringstream sa(a);
    std::istringstream sb(b);
    std::string la;
    std::string lb;
    for (int line = 1;; ++line) {
        const bool ha = static_cast<bool>(std::getline(sa, la));
        const bool hb = static_cast<bool>(std::getline(sb, lb));
        if (!ha && !hb) {
            return "no textual difference";
        }
        if (!ha || !hb || la != lb) {
            return "line " + std::to_string(line) + ": snapshot has '" + (ha ? la : "") +
                   "', this run has '" + (hb ? lb : "") + "'";
        }
    }
}

} // namespace

RunDir::RunDir(const ConfigArgs& args) {
    if (!args.run_dir.empty()) {
        path_ = args.run_dir;
    } else {
        TRISEG_CHECK(!args.config.empty(), ConfigError,
                     "give --config FILE (a YAML config) or --run-dir DIR (a run folder with a "
                     "config.yaml snapshot)");
        path_ = "runs/" + std::filesystem::path(args.config).stem().string();
    }
    if (!args.config.empty()) {
        config_ = io::load_config(args.config, args.sets);
    } else {
        const std::string snapshot = file(kSnapshot);
        TRISEG_CHECK(io::file_exists(snapshot), ConfigError,
                     "run folder '" << path_ << "' has no " << kSnapshot
                                    << "; give --config FILE to start a run there");
        config_ = io::load_config(snapshot, args.sets);
    }
}

std::string RunDir::file(const std::string& relative) const {
    return path_ + "/" + relative;
}

std::string RunDir::stage_dir(const std::string& stage) const {
    const std::string dir = file(stage);
    io::ensure_directory(dir);
    return dir;
}

void RunDir::write_snapshot(bool replace) const {
    io::ensure_directory(path_);
    const std::string snapshot = file(kSnapshot);
    const std::string text = io::to_yaml(config_);
    if (io::file_exists(snapshot) && !replace) {
        const std::string old = io::read_file(snapshot);
        TRISEG_CHECK(old == text, ConfigError,
                     "run folder '" << path_ << "' was made with another config ("
                                    << first_difference(old, text)
                                    << "); use a new --run-dir, or --force to start over there");
        return;
    }
    io::write_file_atomic(snapshot, text);
}

} // namespace triseg::cli
