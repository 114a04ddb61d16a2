// StopSignal.
#include "common/stop_signal.h"

#include <csignal>

namespace triseg {

namespace {

volatile std::sig_atomic_t g_received = 0;
constexpr int kSignals[] = {SIGTERM, SIGINT, SIGUSR1};
struct sigaction g_previous[3];

extern "C" void on_signal(int signal) {
    g_received = signal;
}

} // namespace

StopSignal::StopSignal() {
    g_received = 0;
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART; // I/O and MPI calls go on; loops poll the flag
    for (int i = 0; i < 3; ++i) {
        sigaction(kSignals[i], &action, &g_previous[i]);
    }
}

StopSignal::~StopSignal() {
    for (int i = 0; i < 3; ++i) {
        sigaction(kSignals[i], &g_previous[i], nullptr);
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
