// RunDir implementation.
#include "cli/run_dir.h"

#include <filesystem>
#include <sstream>

#include "cli/config/config.h"
#include "common/error.h"
#include "common/option_checks.h"
#include "io/atomic_file.h"
#include "io/safe_open.h"

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
        config_ = cli::load_config(args.config, args.sets);
    } else {
        const std::string snapshot = file(kSnapshot);
        TRISEG_CHECK(io::file_exists(snapshot), ConfigError,
                     "run folder '" << path_ << "' has no " << kSnapshot
                                    << "; give --config FILE to start a run there");
        config_ = cli::load_config(snapshot, args.sets);
    }
}

std::string RunDir::file(const std::string& relative) const {
    return path_ + "/" + relative;
}

std::string RunDir::stage_dir(const std::string& stage) const {
    const std::string dir = file(stage);
    io::ensure_real_directory(dir); // a stage folder planted as a link is refused
    return dir;
}

void RunDir::update_snapshot(const std::vector<Guard>& guarded) const {
    io::ensure_directory(path_);
    const std::string snapshot = file(kSnapshot);
    const std::string text = cli::to_yaml(config_);
    if (io::file_exists(snapshot)) {
        const std::string old_text =
            io::read_file(snapshot, "config snapshot", io::kMaxSmallFileBytes);
        const cli::RunConfig old = cli::parse_config(old_text, {}, snapshot);
        std::vector<std::string> differ;
        auto check = [&](bool same, const char* part) {
            if (!same) {
                differ.emplace_back(part);
            }
        };
        for (Guard g : guarded) {
            switch (g) {
            case Guard::Data:
                check(old.data == config_.data, "data");
                break;
            case Guard::Model:
                check(old.model == config_.model, "model");
                break;
            case Guard::Train:
                check(old.train == config_.train, "train");
                break;
            case Guard::Seed:
                check(old.runtime.seed == config_.runtime.seed, "runtime.seed");
                break;
            case Guard::Qat:
                check(old.qat == config_.qat, "qat");
                break;
            }
        }
        TRISEG_CHECK(differ.empty(), ConfigError,
                     "run folder '" << path_ << "' holds results made with another "
                                    << detail::join(differ) << " config ("
                                    << first_difference(old_text, text)
                                    << "); use a new --run-dir, or --force to redo that stage");
        if (old_text == text) {
            return;
        }
    }
    io::write_file_atomic(snapshot, text);
}

} // namespace triseg::cli
