// StageLock: one process at a time writes a stage output (flock on a lock file beside it).
#pragma once

#include <string>
#include <vector>

namespace triseg::io {

/// The exclusive right of this process to write one stage output: a folder with resumable
/// state (train-float's float/, a search folder) or one output file (int8/model.h5,
/// codes/eval_<name>.json, acts/acts_int8.h5 with its shards).
///
/// It holds flock(LOCK_EX) on a lock file: `<dir>/.lock` for a folder, `<folder>/.<name>.lock`
/// for a file. The lock file holds the holder's pid, host, command line and start time (JSON)
/// for the message a second process gets. The kernel releases the lock when the holder ends
/// in any way (SIGKILL included), so a lock file left behind is harmless; it is never removed
/// (removing it would let two processes lock two different files of the same name).
///
/// Once locked, the constructor removes the stale temporaries of the output (see
/// remove_stale_temporaries in io/atomic_file.h: `*.tmp.<pid>` of processes that are gone)
/// and prints a note for each on stderr.
///
/// Invariant: while a StageLock exists, no other process holding a StageLock writes the same
/// output. Take it before reading resumable state or writing anything of the output; under MPI
/// rank 0 takes it for the job.
class StageLock {
public:
    enum class Scope {
        Folder, ///< `output` is a folder (created when missing); lock file `<output>/.lock`
        File,   ///< `output` is a file; lock file `<folder>/.<name>.lock` (folder created)
    };

    /// Locks `output` for `command` (e.g. "search"; the process's command line is stored when
    /// /proc/self/cmdline is readable).
    /// @throws IoError (exit 4) when another process holds the lock: the message names the
    /// output, the holder (command, pid, host, start time) and what to do; or when the lock
    /// file cannot be created. Nothing of the output is touched then.
    StageLock(std::string output, Scope scope, const std::string& command);
    ~StageLock();
    StageLock(const StageLock&) = delete;
    StageLock& operator=(const StageLock&) = delete;

    const std::string& output() const { return output_; }
    const std::string& lock_file() const { return lock_file_; }
    /// Stale temporaries removed when the lock was taken.
    const std::vector<std::string>& removed() const { return removed_; }

    /// Folder scope only (`--force`): deletes the files triseg writes in this folder, and
    /// nothing else. `known` lists their names, as fnmatch(3) patterns ("eval_*.json"); the
    /// temporaries of this user's processes that are gone (remove_stale_temporaries) count as
    /// known too. Lock files stay (see the class comment). Nothing is deleted unless every
    /// other entry is one of those: a file of another name, a folder, or a link (even at a
    /// known name: triseg never writes links) makes it refuse, so that --force can never
    /// delete what triseg did not write nor reach through a link.
    /// @throws IoError (exit 4) listing the entries it will not delete and what to do, or
    /// naming what cannot be deleted.
    void clear_folder(const std::vector<std::string>& known) const;

    /// The lock file that guards `output`.
    static std::string lock_file_for(const std::string& output, Scope scope);

private:
    std::string output_;
    std::string lock_file_;
    Scope scope_;
    int fd_ = -1;
    std::vector<std::string> removed_;
};

} // namespace triseg::io
