// `triseg report --html`: runs report_html.py (installed, or scripts/report/ of the source tree).
#include "cli/report_figures.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "io/atomic_file.h"

extern char** environ; // NOLINT: POSIX

namespace triseg::cli {

namespace {
/// The script's exit code when it cannot import matplotlib or h5py.
constexpr int kMissingLibrary = 10;
constexpr const char* kInstall =
    "install them with `sudo apt-get install --no-install-recommends python3-matplotlib "
    "python3-h5py` (or run scripts/bootstrap), or point TRISEG_PYTHON at a python3 that has "
    "them; the tables above are complete";

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

/// report_script_candidates() quoted, for a message.
std::string searched_scripts() {
    std::string looked;
    for (const auto& c : report_script_candidates()) {
        looked += (looked.empty() ? "'" : " and '") + c + "'";
    }
    return looked;
}
} // namespace

std::string report_python() {
    return env_or("TRISEG_PYTHON",
                  access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3");
}

std::vector<std::string> report_script_candidates() {
    std::vector<std::string> candidates;
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) { // TRISEG_INSTALLED_REPORT_DIR is relative to the installed executable's folder
        candidates.push_back((exe.parent_path() / TRISEG_INSTALLED_REPORT_DIR / "report_html.py")
                                 .lexically_normal()
                                 .string());
    }
    candidates.push_back(std::string(TRISEG_SCRIPTS_DIR) + "/report/report_html.py");
    return candidates;
}

std::string report_script() {
    const char* v = std::getenv("TRISEG_REPORT_SCRIPT");
    if (v != nullptr && *v != '\0') {
        return v;
    }
    for (const auto& c : report_script_candidates()) {
        if (io::file_exists(c)) {
            return c;
        }
    }
    return "";
}

void write_figures_report(const FiguresReportArgs& args) {
    const std::string python = report_python();
    const std::string script = report_script();
    TRISEG_CHECK(!script.empty(), IoError,
                 "the report script report_html.py is missing: looked for "
                     << searched_scripts()
                     << "; reinstall triseg (cmake --install, or its Debian package), or set "
                        "TRISEG_REPORT_SCRIPT to scripts/report/report_html.py of a triseg "
                        "checkout");
    TRISEG_CHECK(io::file_exists(script), IoError,
                 "the report script '" << script
                                       << "' (TRISEG_REPORT_SCRIPT) is missing; set it to "
                                          "scripts/report/report_html.py of a triseg checkout");
    std::vector<std::string> argv = {python, script, "--out", args.out_dir};
    if (!args.rows_json.empty()) {
        argv.insert(argv.end(), {"--rows", args.rows_json});
    }
    for (const auto& c : args.codes) {
        argv.insert(argv.end(), {"--codes", c});
    }
    argv.insert(argv.end(), args.run_dirs.begin(), args.run_dirs.end());
    std::vector<char*> cargv;
    for (auto& a : argv) {
        cargv.push_back(a.data());
    }
    cargv.push_back(nullptr);
    std::fflush(stdout);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, python.c_str(), nullptr, nullptr, cargv.data(), environ);
    TRISEG_CHECK(rc == 0, ConfigError,
                 "triseg report --html: cannot run '" << python << "' (" << std::strerror(rc)
                                                      << "): it needs python3 with matplotlib "
                                                         "and h5py; "
                                                      << kInstall);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        TRISEG_CHECK(errno == EINTR, IoError,
                     "triseg report --html: waiting for '" << script
                                                           << "': " << std::strerror(errno));
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    TRISEG_CHECK(code != kMissingLibrary, ConfigError,
                 "triseg report --html needs matplotlib and h5py in '" << python
                                                                       << "': " << kInstall);
    TRISEG_CHECK(code != 127, ConfigError,
                 "triseg report --html: '" << python << "' was not found: " << kInstall);
    TRISEG_CHECK(code == 0, IoError,
                 "triseg report --html: '" << script << "' failed with exit code " << code
                                           << " (its message is above); the tables above are "
                                              "complete");
}

} // namespace triseg::cli
