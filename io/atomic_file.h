// Atomic file replacement: write a temporary file, fsync, rename, fsync the folder.
#pragma once

#include <string>

namespace triseg::io {

/// Replaces `path` with `contents` so that readers see the old file or the new one, never a
/// half-written one, even after a crash or a kill.
/// @throws IoError naming the path and the system error.
void write_file_atomic(const std::string& path, const std::string& contents);

/// For writers that create the file themselves (torch::save, HDF5): write to tmp(), then
/// commit() fsyncs it, renames it over the final path and fsyncs the folder. A destructor
/// without commit() removes the temporary file, so no partial artifact is ever left.
class AtomicPath {
public:
    explicit AtomicPath(std::string path);
    ~AtomicPath();
    AtomicPath(const AtomicPath&) = delete;
    AtomicPath& operator=(const AtomicPath&) = delete;

    /// Temporary path in the same folder (same file system, so rename is atomic).
    const std::string& tmp() const { return tmp_; }
    const std::string& path() const { return path_; }

    /// Makes the temporary file the final one. @throws IoError.
    void commit();

private:
    std::string path_;
    std::string tmp_;
    bool committed_ = false;
};

/// Creates `dir` and its parents if missing. @throws IoError.
void ensure_directory(const std::string& dir);

/// Reads a whole file. @throws IoError naming the path.
std::string read_file(const std::string& path);

/// True when `path` names an existing regular file.
bool file_exists(const std::string& path);

} // namespace triseg::io
