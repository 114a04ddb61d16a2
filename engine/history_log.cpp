// HistoryLog.
#include "engine/history_log.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "common/error.h"

namespace triseg::engine {

HistoryLog::HistoryLog(std::string path, uint64_t keep_bytes) : path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), keep_bytes == 0 ? "wb" : "r+b");
    TRISEG_CHECK(file_ != nullptr, IoError,
                 "cannot open history file '" << path_ << "': " << std::strerror(errno));
    if (keep_bytes > 0) {
        std::fseek(file_, 0, SEEK_END);
        const long size = std::ftell(file_);
        if (size < 0 || static_cast<uint64_t>(size) < keep_bytes) {
            std::fclose(file_);
            file_ = nullptr;
            TRISEG_THROW(IoError, "history file '" << path_ << "' has " << size
                                                   << " bytes, but the checkpoint recorded "
                                                   << keep_bytes
                                                   << "; it was changed after the checkpoint");
        }
        TRISEG_CHECK(ftruncate(fileno(file_), static_cast<off_t>(keep_bytes)) == 0, IoError,
                     "cannot cut history file '" << path_ << "': " << std::strerror(errno));
        std::fseek(file_, 0, SEEK_END);
    }
    bytes_ = keep_bytes;
}

HistoryLog::~HistoryLog() {
    if (file_ != nullptr) {
        std::fclose(file_);
    }
}

void HistoryLog::write(const nlohmann::json& record) {
    const std::string line = record.dump() + "\n";
    TRISEG_CHECK(std::fwrite(line.data(), 1, line.size(), file_) == line.size(), IoError,
                 "cannot write history file '" << path_ << "': " << std::strerror(errno));
    bytes_ += line.size();
}

uint64_t HistoryLog::sync() {
    TRISEG_CHECK(std::fflush(file_) == 0 && fsync(fileno(file_)) == 0, IoError,
                 "cannot write history file '" << path_ << "': " << std::strerror(errno));
    return bytes_;
}

} // namespace triseg::engine
