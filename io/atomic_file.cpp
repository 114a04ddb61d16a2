// Atomic file replacement (POSIX rename semantics).
#include "io/atomic_file.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <random>
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

/// Six random letters and digits for a temporary name (std::random_device: the kernel's
/// generator), so that another process cannot predict the name and plant something there.
std::string random_tag() {
    static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device device;
    std::uniform_int_distribution<int> pick(0, static_cast<int>(sizeof(kChars)) - 2);
    std::string tag(6, 'x');
    for (char& c : tag) {
        c = kChars[pick(device)];
    }
    return tag;
}

/// Whether `name` (lstat) is the file open as `fd`.
bool same_file(const std::string& name, int fd) {
    struct stat a {};
    struct stat b {};
    return ::lstat(name.c_str(), &a) == 0 && ::fstat(fd, &b) == 0 && S_ISREG(a.st_mode) &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

} // namespace

AtomicPath::AtomicPath(std::string path) : path_(std::move(path)) {
    constexpr int kTries = 64;
    int err = 0;
    for (int i = 0; i < kTries && fd_ < 0; ++i) {
        tmp_name_ = temporary_name(path_, ::getpid(), random_tag());
        fd_ = ::open(tmp_name_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        err = errno;
        if (fd_ < 0 && err != EEXIST) {
            break;
        }
    }
    TRISEG_CHECK(fd_ >= 0, IoError,
                 "cannot write '" << path_ << "': cannot create a temporary file in '" << folder()
                                  << "': " << error_text(err));
    const std::string by_fd = "/proc/self/fd/" + std::to_string(fd_);
    struct stat st {};
    tmp_ = ::stat(by_fd.c_str(), &st) == 0 ? by_fd : tmp_name_;
}

AtomicPath::~AtomicPath() {
    if (fd_ >= 0) {
        if (!committed_ && same_file(tmp_name_, fd_)) {
            ::unlink(tmp_name_.c_str());
        }
        ::close(fd_);
    }
}

std::string AtomicPath::folder() const {
    return parent_dir(path_);
}

void AtomicPath::commit() {
    TRISEG_CHECK(::fsync(fd_) == 0, IoError,
                 "cannot sync '" << tmp_name_ << "': " << error_text(errno));
    TRISEG_CHECK(same_file(tmp_name_, fd_), IoError,
                 "cannot write '" << path_ << "': its temporary file '" << tmp_name_
                                  << "' was removed or replaced by another process while "
                                     "triseg wrote it; nothing was written, rerun");
    TRISEG_CHECK(std::rename(tmp_name_.c_str(), path_.c_str()) == 0, IoError,
                 "cannot rename '" << tmp_name_ << "' to '" << path_
                                   << "': " << std::strerror(errno));
    committed_ = true;
    ::close(fd_);
    fd_ = -1;
    fsync_path(parent_dir(path_), true);
}

void write_file_atomic(const std::string& path, const std::string& contents) {
    AtomicPath out(path);
    size_t done = 0;
    while (done < contents.size()) {
        const ssize_t n = ::write(out.fd(), contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        TRISEG_CHECK(n > 0, IoError,
                     "cannot write '" << path
                                      << "': " << (n < 0 ? error_text(errno) : "write failed"));
        done += static_cast<size_t>(n);
    }
    out.commit();
}

std::string temporary_name(const std::string& path, long pid, const std::string& tag) {
    return path + (tag.empty() ? "" : "." + tag) + ".tmp." + std::to_string(pid);
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
        struct stat st {};
        if (pid < 0 || name.compare(0, prefix.size(), prefix) != 0 ||
            ::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != ::geteuid()) {
            continue; // not a temporary, a link, or another user's file: not ours to delete
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

std::string read_file(const std::string& path, const std::string& what, size_t max_bytes) {
    struct FileCloser {
        void operator()(std::FILE* file) const { std::fclose(file); }
    };
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    std::string text;
    if (file) {
        char buffer[4096];
        size_t n = 0;
        while (text.size() <= max_bytes &&
               (n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
            text.append(buffer, n);
        }
        TRISEG_CHECK(text.size() <= max_bytes, InputError,
                     (what.empty() ? std::string("file") : what)
                         << " '" << path << "' is larger than " << max_bytes
                         << " bytes, the most triseg reads from it; is it the right file?");
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
