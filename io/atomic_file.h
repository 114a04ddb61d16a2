// Atomic file replacement: write a temporary file, fsync, rename, fsync the folder.
#pragma once

#include <string>
#include <vector>

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

/// The temporary name AtomicPath uses for `path` in process `pid`: `<path>.tmp.<pid>`.
std::string temporary_name(const std::string& path, long pid);

/// The writer's pid when `name` (a file name or path) is a temporary name as made by
/// temporary_name, i.e. ends in `.tmp.<digits>`; otherwise -1.
long temporary_pid(const std::string& name);

/// Removes the leftovers of killed runs: the temporaries (temporary_name) among the regular
/// files of `dir` whose name starts with `prefix` and whose writer no longer exists on this
/// machine (kill(pid, 0) fails with ESRCH). A live process's temporary (this process's too),
/// and every file that is not a temporary, is left alone. Best effort: a file that cannot be
/// listed or removed is skipped. Returns the removed paths.
std::vector<std::string> remove_stale_temporaries(const std::string& dir,
                                                  const std::string& prefix = "");

/// Creates `dir` and its parents if missing. @throws IoError.
void ensure_directory(const std::string& dir);

/// Reads a whole file. @throws IoError "cannot read <what> '<path>': <reason>" when it cannot be
/// opened or read (a folder, say); `what` is e.g. "config file" (empty: "cannot read '<path>'").
std::string read_file(const std::string& path, const std::string& what = "");

/// True when `path` names an existing regular file.
bool file_exists(const std::string& path);

} // namespace triseg::io
