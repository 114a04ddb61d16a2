// ProgressBar: one redrawn terminal line with rate and ETA; silent when stderr is no TTY.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace triseg {

/// A progress line on stderr: "label  [#####.....]  1280/60000  1043 img/s  ETA 0:57  extra".
/// Redraws at most every 100 ms, and only when stderr is a terminal and `enabled` is set
/// (pass false on ranks other than 0). Callers print their own summary lines to stdout, so
/// logs written to files get those and no carriage-return noise.
class ProgressBar {
public:
    ProgressBar(std::string label, int64_t total, std::string unit, bool enabled = true);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    /// Reports `done` of `total` units finished; `extra` is appended (e.g. "loss 0.31").
    void update(int64_t done, const std::string& extra = {});

    /// Clears the line (if one was drawn). Called by the destructor too.
    void finish();

    /// Units per second since construction.
    double rate() const;

    /// True when stderr is a terminal and TRISEG_NO_PROGRESS is unset.
    static bool terminal_attached();

    /// "1:02:03" / "4:05" for a number of seconds; "--:--" when negative or not finite.
    static std::string format_duration(double seconds);

private:
    using Clock = std::chrono::steady_clock;
    std::string label_;
    std::string unit_;
    int64_t total_;
    int64_t done_ = 0;
    bool draw_;
    bool drawn_ = false;
    Clock::time_point start_;
    Clock::time_point last_draw_;
};

} // namespace triseg
