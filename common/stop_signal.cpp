// StopSignal.
#include "common/stop_signal.h"

#include <unistd.h>

#include <csignal>
#include <cstring>

namespace triseg {

namespace {

volatile std::sig_atomic_t g_received = 0;
volatile std::sig_atomic_t g_depth = 0;     // live StopSignal instances
volatile std::sig_atomic_t g_installed = 0; // install() was called: handlers stay for good
volatile std::sig_atomic_t g_finishing = 0; // finishing(): the process is ending by itself
constexpr int kSignals[] = {SIGTERM, SIGINT, SIGUSR1};
struct sigaction g_previous[3];

/// Async-signal-safe: only write(2) and _exit(2).
void exit_interrupted(int signal) {
    const char* name = StopSignal::name(signal);
    const char head[] = "triseg: interrupted by ";
    const char tail[] = " before any state could be saved (start-up, or a command that saves "
                        "none); exit 130. The same command starts again or resumes from its "
                        "last saved state\n";
    ssize_t ignored = ::write(STDERR_FILENO, head, sizeof(head) - 1);
    ignored = ::write(STDERR_FILENO, name, std::strlen(name));
    ignored = ::write(STDERR_FILENO, tail, sizeof(tail) - 1);
    (void)ignored;
    ::_exit(130); // ExitCode::Interrupted
}

extern "C" void on_signal(int signal) {
    if (g_finishing != 0) {
        return; // the command is done; its own exit code stands
    }
    if (g_depth == 0 && g_installed != 0) {
        exit_interrupted(signal);
    }
    g_received = signal;
}

void set_handlers(struct sigaction* previous) {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART; // I/O and MPI calls go on; loops poll the flag
    for (int i = 0; i < 3; ++i) {
        sigaction(kSignals[i], &action, previous ? &previous[i] : nullptr);
    }
}

} // namespace

void StopSignal::install() {
    if (g_installed == 0) {
        g_installed = 1;
        set_handlers(nullptr);
    }
    // A launcher may have blocked the three signals across exec (jobs/common.sh does, so
    // that one arriving while the shared libraries load stays pending): unblock them now,
    // which delivers a pending one to the handler above.
    sigset_t set;
    sigemptyset(&set);
    for (const int sig : kSignals) {
        sigaddset(&set, sig);
    }
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

void StopSignal::finishing() {
    g_finishing = 1;
}

StopSignal::StopSignal() {
    if (g_depth == 0) {
        // Nothing can be pending here: before, a signal either ended the process (install())
        // or was consumed by an earlier scope. Clear before counting, so that a signal in
        // between still ends the process instead of being lost.
        g_received = 0;
        if (g_installed == 0) {
            set_handlers(g_previous);
        }
    }
    g_depth = g_depth + 1;
}

StopSignal::~StopSignal() {
    g_depth = g_depth - 1;
    if (g_depth == 0 && g_installed == 0) {
        for (int i = 0; i < 3; ++i) {
            sigaction(kSignals[i], &g_previous[i], nullptr);
        }
    }
}

int StopSignal::received() {
    return g_received;
}

void StopSignal::clear() {
    g_received = 0;
}

const char* StopSignal::name(int signal) {
    switch (signal) {
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGUSR1:
        return "SIGUSR1";
    default:
        return "signal";
    }
}

} // namespace triseg
