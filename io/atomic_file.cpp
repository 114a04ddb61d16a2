// Atomic file replacement (POSIX rename semantics).
#include "io/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
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
    tmp_ = path_ + ".tmp." + std::to_string(::getpid());
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

void ensure_directory(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    TRISEG_CHECK(!ec, IoError, "cannot create folder '" << dir << "': " << ec.message());
    TRISEG_CHECK(std::filesystem::is_directory(dir), IoError,
                 "'" << dir << "' exists but is not a folder");
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    TRISEG_CHECK(f.good(), IoError, "cannot read '" << path << "': " << std::strerror(errno));
    std::ostringstream os;
    os << f.rdbuf();
    return os.str();
}

bool file_exists(const std::string& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

} // namespace triseg::io
