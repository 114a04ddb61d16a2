// Atomic file replacement (POSIX rename semantics).
#include "io/atomic_file.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

namespace triseg::io {

namespace {

/// strerror(err), with the wording every triseg writer uses for a full disk or quota.
std::string error_text(int err) {
    return err == ENOSPC || err == EDQUOT ? std::string("no space left on device")
                                          : std::string(std::strerror(err));
}

std::string parent_dir(const std::string& path) {
    const auto parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? "." : parent.string();
}

void fsync_path(const std::string& path, bool directory) {
    const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    TRISEG_CHECK(fd >= 0, IoError,
                 "cannot open '" << path << "' to sync it: " << std::strerror(errno));
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    TRISEG_CHECK(rc == 0, IoError, "cannot sync '" << path << "': " << error_text(err));
}

} // namespace

AtomicPath::AtomicPath(std::string path) : path_(std::move(path)) {
    tmp_ = temporary_name(path_, ::getpid());
}

AtomicPath::~AtomicPath() {
    if (!committed_) {
        std::remove(tmp_.c_str());
    }
}

void AtomicPath::commit() {
    fsync_path(tmp_, false);
    TRISEG_CHECK(std::rename(tmp_.c_str(), path_.c_str()) == 0, IoError,
                 "cannot rename '" << tmp_ << "' to '" << path_ << "': " << std::strerror(errno));
    committed_ = true;
    fsync_path(parent_dir(path_), true);
}

void write_file_atomic(const std::string& path, const std::string& contents) {
    AtomicPath out(path);
    {
        std::ofstream f(out.tmp(), std::ios::binary | std::ios::trunc);
        TRISEG_CHECK(f.good(), IoError,
                     "cannot write '" << out.tmp() << "': " << error_text(errno));
        errno = 0;
        f.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        f.flush();
        TRISEG_CHECK(f.good(), IoError,
                     "cannot write '"
                         << path << "': " << (errno != 0 ? error_text(errno) : "write failed"));
    }
    out.commit();
}

std::string temporary_name(const std::string& path, long pid) {
    return path + ".tmp." + std::to_string(pid);
}

long temporary_pid(const std::string& name) {
    static const std::string kMark = ".tmp.";
    const size_t at = name.rfind(kMark);
    if (at == std::string::npos || at == 0) {
        return -1;
    }
    const std::string digits = name.substr(at + kMark.size());
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
        return -1;
    }
    const long pid = std::stol(digits);
    return pid > 0 ? pid : -1;
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir,
                                                  const std::string& prefix) {
    std::vector<std::string> removed;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const long pid = temporary_pid(name);
        std::error_code status_error;
        if (pid < 0 || name.compare(0, prefix.size(), prefix) != 0 ||
            it->symlink_status(status_error).type() != std::filesystem::file_type::regular) {
            continue;
        }
        // Gone only when the kernel says there is no such process; EPERM means it lives.
        if (pid == static_cast<long>(::getpid()) || ::kill(static_cast<pid_t>(pid), 0) == 0 ||
            errno != ESRCH) {
            continue;
        }
        std::error_code remove_error;
        if (std::filesystem::remove(it->path(), remove_error)) {
            removed.push_back(it->path().string());
        }
    }
    return removed;
}

void ensure_directory(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    TRISEG_CHECK(!ec, IoError, "cannot create folder '" << dir << "': " << ec.message());
    TRISEG_CHECK(std::filesystem::is_directory(dir), IoError,
                 "'" << dir << "' exists but is not a folder");
}

std::string read_file(const std::string& path, const std::string& what) {
    struct FileCloser {
        void operator()(std::FILE* file) const { std::fclose(file); }
    };
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    std::string text;
    if (file) {
        char buffer[4096];
        size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
            text.append(buffer, n);
        }
    }
    if (!file || std::ferror(file.get())) {
        const int error = errno;
        TRISEG_THROW(IoError, "cannot read " << (what.empty() ? "" : what + " ") << "'" << path
                                             << "': " << std::strerror(error));
    }
    return text;
}

bool file_exists(const std::string& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

} // namespace triseg::io
