// StopSignal: SIGTERM, SIGINT and SIGUSR1 turn into a flag that long loops poll.
#pragma once

namespace triseg {

/// While alive, SIGTERM, SIGINT and SIGUSR1 (SLURM's early warning with
/// `--signal=USR1@<seconds>`) no longer end the process: they set a flag that the owner
/// polls at a safe point (after a generation), saves its state and exits. The previous
/// handlers are restored on destruction. One instance at a time.
class StopSignal {
public:
    StopSignal();
    ~StopSignal();
    StopSignal(const StopSignal&) = delete;
    StopSignal& operator=(const StopSignal&) = delete;

    /// The signal number received since construction (or clear()), or 0.
    static int received();
    /// "SIGTERM", "SIGINT", "SIGUSR1" or "signal N".
    static const char* name(int signal);
    /// Forgets a received signal (for tests).
    static void clear();
};

} // namespace triseg
