// StopSignal: scoped flag, nesting, and install() (an early signal is a clean exit 130).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "common/stop_signal.h"

namespace triseg {
namespace {

/// Runs `body` in a forked child and returns its wait status (the child never returns).
template <class F> int in_child(F body) {
    const pid_t pid = fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

TEST(StopSignal, ScopedInstanceTurnsSignalsIntoTheFlag) {
    for (const int sig : {SIGTERM, SIGINT, SIGUSR1}) {
        const StopSignal s;
        EXPECT_EQ(StopSignal::received(), 0);
        std::raise(sig);
        EXPECT_EQ(StopSignal::received(), sig);
    }
    // Without a live instance (and without install()) the default action is back.
    const int status = in_child([] { std::raise(SIGUSR1); });
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGUSR1);
}

TEST(StopSignal, NestedInstanceKeepsAPendingSignal) {
    const StopSignal outer;
    std::raise(SIGTERM);
    {
        // The driver's own instance inside the command's: the signal must not be forgotten.
        const StopSignal inner;
        EXPECT_EQ(StopSignal::received(), SIGTERM);
    }
    EXPECT_EQ(StopSignal::received(), SIGTERM);
}

TEST(StopSignal, OutermostInstanceClearsAStaleFlag) {
    {
        const StopSignal first;
        std::raise(SIGUSR1);
    }
    const StopSignal second; // a later search in the same process starts clean
    EXPECT_EQ(StopSignal::received(), 0);
}

TEST(StopSignal, InstalledEarlySignalIsACleanExit130) {
    for (const int sig : {SIGTERM, SIGINT, SIGUSR1}) {
        const int status = in_child([sig] {
            StopSignal::install();
            std::raise(sig); // start-up: nobody polls yet
            _exit(7);        // not reached
        });
        ASSERT_TRUE(WIFEXITED(status)) << StopSignal::name(sig) << " killed the process";
        EXPECT_EQ(WEXITSTATUS(status), 130) << StopSignal::name(sig);
    }
}

TEST(StopSignal, ASignalBlockedAcrossStartUpIsDeliveredByInstall) {
    // jobs/common.sh blocks the signals before exec; one that arrives while the libraries
    // load stays pending, and install() delivers it: exit 130 instead of a signal death.
    const int status = in_child([] {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, nullptr);
        std::raise(SIGUSR1); // pending
        StopSignal::install();
        _exit(7); // not reached
    });
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 130);
}

TEST(StopSignal, AfterFinishingASignalNoLongerChangesTheExitCode) {
    const int status = in_child([] {
        StopSignal::install();
        StopSignal::finishing(); // the command failed with exit 5 and is tearing down
        std::raise(SIGTERM);     // srun --kill-on-bad-exit after another task's exit
        _exit(5);
    });
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 5);
}

TEST(StopSignal, InstalledThenPolledSignalOnlySetsTheFlag) {
    const int status = in_child([] {
        StopSignal::install();
        {
            const StopSignal polling;
            std::raise(SIGUSR1);
            if (StopSignal::received() != SIGUSR1) {
                _exit(3);
            }
        }
        // After the loop's scope: a signal ends the process cleanly again.
        std::raise(SIGTERM);
        _exit(7);
    });
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 130);
}

} // namespace
} // namespace triseg
