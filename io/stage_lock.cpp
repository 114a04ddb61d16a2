// StageLock (flock(2) on a lock file; the holder's facts in it as JSON).
#include "io/stage_lock.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fnmatch.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/safe_open.h"

namespace triseg::io {

namespace {

constexpr const char* kFolderLock = ".lock";
constexpr size_t kMaxCommand = 400; // characters of the command line kept in the lock file

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) {
        return "?";
    }
    return buf;
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/// This process's command line ("triseg search -r runs/x ..."), or "triseg <command>".
std::string command_line(const std::string& command) {
    std::ifstream f("/proc/self/cmdline", std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    while (!text.empty() && text.back() == '\0') {
        text.pop_back();
    }
    if (text.empty()) {
        return "triseg " + command;
    }
    for (char& c : text) {
        if (c == '\0') {
            c = ' ';
        }
    }
    const auto slash = text.find_last_of('/', text.find(' '));
    if (slash != std::string::npos) { // the program name without its folder
        text = text.substr(slash + 1);
    }
    if (text.size() > kMaxCommand) {
        text = text.substr(0, kMaxCommand) + " ...";
    }
    return text;
}

std::string read_all(int fd) {
    std::string text;
    char buf[1024];
    off_t at = 0;
    for (;;) {
        const ssize_t n = ::pread(fd, buf, sizeof buf, at);
        if (n <= 0) {
            break;
        }
        text.append(buf, static_cast<size_t>(n));
        at += n;
    }
    return text;
}

/// "`triseg search ...` (pid 1234 on host X since 2026-...)", from the lock file's text.
std::string describe_holder(const std::string& text) {
    static const std::string kUnknown = "another process (it has not written its details yet)";
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        return kUnknown;
    }
    if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) {
        return kUnknown;
    }
    const long pid = j["pid"].get<long>();
    const std::string host = j.value("host", std::string("?"));
    // Facts left by an earlier holder that is gone: the new holder has not written its own.
    if (host == host_name() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        return kUnknown;
    }
    return "`" + j.value("command", std::string("triseg")) + "` (pid " + std::to_string(pid) +
           " on host " + host + " since " + j.value("started", std::string("?")) + ")";
}

} // namespace

std::string StageLock::lock_file_for(const std::string& output, Scope scope) {
    const std::filesystem::path p(output);
    if (scope == Scope::Folder) {
        return (p / kFolderLock).string();
    }
    return (p.parent_path() / ("." + p.filename().string() + ".lock")).string();
}

StageLock::StageLock(std::string output, Scope scope, const std::string& command)
    : output_(std::move(output)), lock_file_(lock_file_for(output_, scope)), scope_(scope) {
    const auto folder = std::filesystem::path(lock_file_).parent_path();
    const std::string dir = folder.empty() ? "." : folder.string();
    // A stage folder (or an output file's folder) planted as a link would send every write,
    // and --force's deletions, into the link's target.
    ensure_real_directory(dir);
    fd_ = open_for_writing(lock_file_, O_RDWR | O_CREAT, "lock file");
    int rc = 0;
    do {
        rc = ::flock(fd_, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        const int err = errno;
        const std::string holder = describe_holder(read_all(fd_));
        ::close(fd_);
        fd_ = -1;
        TRISEG_CHECK(err != EWOULDBLOCK, IoError,
                     "'" << output_ << "' is in use by " << holder
                         << "; wait for it to finish or stop it, or write elsewhere (lock file '"
                         << lock_file_ << "')");
        TRISEG_THROW(IoError, "cannot lock '" << lock_file_ << "' of '" << output_
                                              << "': " << std::strerror(err));
    }
    const nlohmann::json holder = {{"pid", static_cast<long>(::getpid())},
                                   {"host", host_name()},
                                   {"command", command_line(command)},
                                   {"started", utc_now()}};
    const std::string text = holder.dump() + "\n";
    // Best effort: the facts only serve the message another process prints.
    if (::ftruncate(fd_, 0) == 0) {
        [[maybe_unused]] const ssize_t n = ::pwrite(fd_, text.data(), text.size(), 0);
    }
    const std::string prefix = scope == Scope::Folder
                                   ? std::string()
                                   : std::filesystem::path(output_).stem().string() + ".";
    removed_ = remove_stale_temporaries(dir, prefix);
    for (const auto& r : removed_) {
        std::fprintf(stderr,
                     "note: removed '%s', a temporary file left by a process that is gone\n",
                     r.c_str());
    }
}

StageLock::~StageLock() {
    if (fd_ >= 0) {
        [[maybe_unused]] const int rc = ::ftruncate(fd_, 0); // no facts of a finished holder
        ::close(fd_);                                        // releases the lock
    }
}

void StageLock::clear_folder(const std::vector<std::string>& known) const {
    TRISEG_CHECK(scope_ == Scope::Folder, IoError,
                 "StageLock::clear_folder on the file lock of '" << output_ << "'");
    constexpr size_t kListed = 5; // foreign entries named in the message
    std::vector<std::string> doomed;
    std::vector<std::string> foreign;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(output_, ec), end; !ec && it != end;
         it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const bool lock_file =
            name == kFolderLock ||
            (name.size() > 6 && name[0] == '.' && name.compare(name.size() - 5, 5, ".lock") == 0);
        if (lock_file) {
            continue;
        }
        struct stat st {};
        const bool regular = ::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode);
        const bool ours =
            std::any_of(known.begin(), known.end(),
                        [&](const std::string& p) {
                            return ::fnmatch(p.c_str(), name.c_str(), FNM_PERIOD) == 0;
                        }) ||
            (temporary_pid(name) > 0 && st.st_uid == ::geteuid());
        (regular && ours ? doomed : foreign).push_back(name);
    }
    TRISEG_CHECK(!ec, IoError, "cannot list '" << output_ << "': " << ec.message());
    if (!foreign.empty()) {
        std::sort(foreign.begin(), foreign.end());
        std::ostringstream listed;
        for (size_t i = 0; i < foreign.size() && i < kListed; ++i) {
            listed << (i == 0 ? "'" : ", '") << foreign[i] << "'";
        }
        if (foreign.size() > kListed) {
            listed << " and " << foreign.size() - kListed << " more";
        }
        TRISEG_THROW(IoError, "--force deletes only the files triseg writes in '"
                                  << output_ << "', but it also holds " << listed.str()
                                  << " (not written by triseg, a folder or a link); nothing was "
                                     "deleted: move those away yourself, or write elsewhere");
    }
    for (const auto& name : doomed) {
        const std::string p = (std::filesystem::path(output_) / name).string();
        TRISEG_CHECK(::unlink(p.c_str()) == 0 || errno == ENOENT, IoError,
                     "cannot delete '" << p << "': " << std::strerror(errno));
    }
}

} // namespace triseg::io
