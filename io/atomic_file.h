// Atomic file replacement: write a temporary file, fsync, rename, fsync the folder.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace triseg::io {

/// Replaces `path` with `contents` so that readers see the old file or the new one, never a
/// half-written one, even after a crash or a kill.
/// @throws IoError naming the path and the system error.
void write_file_atomic(const std::string& path, const std::string& contents);

/// For writers that create the file themselves (HDF5): write to tmp(), then commit() fsyncs
/// it, renames it over the final path and fsyncs the folder. A destructor without commit()
/// removes the temporary file, so no partial artifact is ever left.
///
/// The temporary file is created by the constructor, new only and never through a link
/// (O_CREAT | O_EXCL | O_NOFOLLOW), under a name no other process uses
/// (`<path>.<random>.tmp.<pid>`), and stays open: tmp() names that open file
/// (`/proc/self/fd/N` on Linux), so a writer reopening it by name reaches this very file even
/// if someone replaces its name in a shared folder meanwhile. commit() refuses to rename a name
/// that no longer refers to it. The final path is replaced by rename(2), which replaces a link
/// planted there instead of following it.
class AtomicPath {
public:
    /// @throws IoError when the temporary file cannot be created in the output's folder.
    explicit AtomicPath(std::string path);
    ~AtomicPath();
    AtomicPath(const AtomicPath&) = delete;
    AtomicPath& operator=(const AtomicPath&) = delete;

    /// A path that opens the temporary file (in the output's folder, the same file system, so
    /// the rename is atomic).
    const std::string& tmp() const { return tmp_; }
    /// The temporary file's name in the output's folder.
    const std::string& tmp_name() const { return tmp_name_; }
    const std::string& path() const { return path_; }
    /// The output's folder ("." for a bare file name).
    std::string folder() const;
    /// The open temporary file (write access).
    int fd() const { return fd_; }

    /// Makes the temporary file the final one. @throws IoError.
    void commit();

private:
    std::string path_;
    std::string tmp_name_;
    std::string tmp_;
    int fd_ = -1;
    bool committed_ = false;
};

/// The temporary name AtomicPath uses for `path` in process `pid` with the random part
/// `tag`: `<path>.<tag>.tmp.<pid>` (`<path>.tmp.<pid>` when `tag` is empty).
std::string temporary_name(const std::string& path, long pid, const std::string& tag = "");

/// The writer's pid when `name` (a file name or path) is a temporary name as made by
/// temporary_name, i.e. ends in `.tmp.<digits>`; otherwise -1.
long temporary_pid(const std::string& name);

/// Removes the leftovers of killed runs: the temporaries (temporary_name) among the regular
/// files of `dir` owned by this user whose name starts with `prefix` and whose writer no
/// longer exists on this machine (kill(pid, 0) fails with ESRCH). A link, or a file of another
/// user, is never removed. A live process's temporary (this process's too),
/// and every file that is not a temporary, is left alone. Best effort: a file that cannot be
/// listed or removed is skipped. Returns the removed paths.
std::vector<std::string> remove_stale_temporaries(const std::string& dir,
                                                  const std::string& prefix = "");

/// Creates `dir` and its parents if missing. @throws IoError.
void ensure_directory(const std::string& dir);

/// Most bytes read_file takes by default: far above any file triseg reads whole (a model
/// checkpoint), far below what would exhaust memory (`--codes /dev/zero`).
constexpr size_t kMaxReadBytes = size_t{4} << 30;
/// Most bytes of a small text input: a config, a codes file, a record of a stage.
constexpr size_t kMaxSmallFileBytes = size_t{4} << 20;

/// Reads a whole file of at most `max_bytes` bytes.
/// @throws IoError "cannot read <what> '<path>': <reason>" when it cannot be opened or read (a
/// folder, say); `what` is e.g. "config file" (empty: "cannot read '<path>'").
/// @throws InputError (exit 3) naming the file and the limit when it holds more than
/// `max_bytes` (only max_bytes + 1 bytes are read: a device such as /dev/zero is safe).
std::string
read_file(const std::string& path, const std::string& what = "", size_t max_bytes = kMaxReadBytes);

/// True when `path` names an existing regular file.
bool file_exists(const std::string& path);

} // namespace triseg::io
