// StopSignal: SIGTERM, SIGINT and SIGUSR1 turn into a flag that long loops poll.
#pragma once

namespace triseg {

/// While alive, SIGTERM, SIGINT and SIGUSR1 (SLURM's early warning with
/// `--signal=USR1@<seconds>`) no longer end the process: they set a flag that the owner
/// polls at a safe point (after a generation), saves its state and exits. Instances nest
/// (the outermost one clears a stale flag, inner ones keep a pending signal); without
/// install(), the previous handlers are restored when the outermost one is destroyed.
class StopSignal {
public:
    StopSignal();
    ~StopSignal();
    StopSignal(const StopSignal&) = delete;
    StopSignal& operator=(const StopSignal&) = delete;

    /// Installs the handlers for the rest of the process, before anything slow (main's first
    /// statement). While no StopSignal is alive (start-up, a command that never polls), one of
    /// the three signals prints "triseg: interrupted by SIGTERM ...; exit 130" on stderr and
    /// ends the process at once with exit code 130 (interrupted), never with a signal death;
    /// while one is alive, the signal only sets the flag. Then unblocks the three signals, so
    /// that one a launcher kept pending (blocked across exec while the shared libraries load)
    /// is delivered now, as a clean exit 130. Idempotent.
    static void install();
    /// The command is done (returned or failed) and the process ends by itself: from now on
    /// the three signals are ignored, so its exit code stands. (srun's --kill-on-bad-exit
    /// sends SIGTERM to the other tasks when one exits with an error; without this a task
    /// still tearing down after the same error would turn it into 130, "interrupted".)
    static void finishing();
    /// The signal number received since the outermost instance was constructed (or clear()),
    /// or 0.
    static int received();
    /// "SIGTERM", "SIGINT", "SIGUSR1" or "signal N".
    static const char* name(int signal);
    /// Forgets a received signal (for tests).
    static void clear();
};

} // namespace triseg
