// Runs the triseg executable (or any shell command) from the source folder for CLI tests.
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace triseg::test {

struct Result {
    int code = -1;
    std::string output; // stdout and stderr together
};

/// Runs `command` with sh from the source folder (so configs/ paths work), without
/// progress bars, and with MPI allowed to run as root and oversubscribe.
inline Result shell(const std::string& command) {
    const std::string cmd = std::string("cd '") + TRISEG_SOURCE_DIR +
                            "' && export TRISEG_NO_PROGRESS=1 OMPI_ALLOW_RUN_AS_ROOT=1 "
                            "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE && (" +
                            command + ") 2>&1";
    Result r;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        return r;
    }
    std::array<char, 4096> buf{};
    size_t n = 0;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) {
        r.output.append(buf.data(), n);
    }
    const int status = pclose(pipe);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

/// The quoted path of the triseg executable.
inline std::string binary() {
    return std::string("'") + TRISEG_BINARY + "'";
}

/// Runs `triseg <args>`.
inline Result triseg(const std::string& args) {
    return shell(binary() + " " + args);
}

inline bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

} // namespace triseg::test
