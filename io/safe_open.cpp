// open_for_writing, ensure_real_directory, refuse_link (POSIX open(2) with O_NOFOLLOW, lstat).
#include "io/safe_open.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "io/atomic_file.h"

namespace triseg::io {

namespace {

std::string link_message(const std::string& path, const std::string& what) {
    return what + " '" + path +
           "' is a symbolic link; triseg never writes through a link in a run folder (someone "
           "else may have planted it): remove the link, or write elsewhere";
}

} // namespace

void refuse_link(const std::string& path, const std::string& what) {
    std::string name = path; // lstat("link/") would follow the link
    while (name.size() > 1 && name.back() == '/') {
        name.pop_back();
    }
    struct stat st {};
    TRISEG_CHECK(::lstat(name.c_str(), &st) != 0 || !S_ISLNK(st.st_mode), IoError,
                 link_message(name, what));
}

int open_for_writing(const std::string& path, int flags, const std::string& what) {
    flags &= ~O_TRUNC;
    const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        const int err = errno;
        TRISEG_CHECK(err != ELOOP, IoError, link_message(path, what));
        TRISEG_THROW(IoError,
                     "cannot open " << what << " '" << path << "': " << std::strerror(err));
    }
    struct stat st {};
    const bool known = ::fstat(fd, &st) == 0;
    const int err = errno;
    if (!known || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        ::close(fd);
        TRISEG_CHECK(known, IoError,
                     "cannot inspect " << what << " '" << path << "': " << std::strerror(err));
        TRISEG_CHECK(S_ISREG(st.st_mode), IoError,
                     what << " '" << path << "' is not a regular file; remove it and rerun");
        TRISEG_THROW(IoError, what << " '" << path << "' has " << st.st_nlink
                                   << " hard links; triseg writes only a file of its own (a "
                                      "link to it may have been planted): remove it and rerun");
    }
    return fd;
}

void ensure_real_directory(const std::string& dir) {
    refuse_link(dir, "folder");
    ensure_directory(dir);
    refuse_link(dir, "folder"); // made a link while it was being created
}

} // namespace triseg::io
