// HistoryLog.
#include "search/driver/history_log.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "io/safe_open.h"

namespace triseg::search {

HistoryLog::HistoryLog(std::string path, uint64_t keep_bytes) : path_(std::move(path)) {
    // Never through a link (exit 4 naming it), and truncated only once known to be our file.
    fd_ = io::open_for_writing(path_, O_WRONLY | O_CREAT | O_APPEND, "history file");
    if (keep_bytes == 0 && ::ftruncate(fd_, 0) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        TRISEG_THROW(IoError,
                     "cannot empty history file '" << path_ << "': " << std::strerror(err));
    }
    if (keep_bytes > 0) {
        struct stat st {};
        const bool sized = ::fstat(fd_, &st) == 0;
        if (!sized || static_cast<uint64_t>(st.st_size) < keep_bytes) {
            ::close(fd_);
            fd_ = -1;
            TRISEG_THROW(IoError, "history file '" << path_ << "' has " << (sized ? st.st_size : -1)
                                                   << " bytes, but the checkpoint recorded "
                                                   << keep_bytes
                                                   << "; it was changed after the checkpoint");
        }
        // Lines after the checkpoint (a torn last line too) are written again by this run.
        if (::ftruncate(fd_, static_cast<off_t>(keep_bytes)) != 0) {
            const int err = errno;
            ::close(fd_);
            fd_ = -1;
            TRISEG_THROW(IoError,
                         "cannot cut history file '" << path_ << "': " << std::strerror(err));
        }
    }
    bytes_ = keep_bytes;
}

HistoryLog::~HistoryLog() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void HistoryLog::write(const nlohmann::json& record) {
    const std::string line = record.dump() + "\n";
    // One write(2) of the whole line (O_APPEND): a reader sees it whole or not at all. Only a
    // full disk or a kill inside the call can leave a part of it; loop to finish a part.
    size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        TRISEG_CHECK(n > 0, IoError,
                     "cannot write history file '" << path_ << "': " << std::strerror(errno));
        done += static_cast<size_t>(n);
    }
    bytes_ += line.size();
}

uint64_t HistoryLog::sync() {
    TRISEG_CHECK(::fsync(fd_) == 0, IoError,
                 "cannot write history file '" << path_ << "': " << std::strerror(errno));
    return bytes_;
}

} // namespace triseg::search
