// ProgressBar implementation.
#include "common/progress.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace triseg {

namespace {
constexpr int kBarWidth = 24;
constexpr double kRedrawSeconds = 0.1;
} // namespace

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total),
      draw_(enabled && terminal_attached()), start_(Clock::now()), last_draw_(start_) {}

ProgressBar::~ProgressBar() {
    finish();
}

bool ProgressBar::terminal_attached() {
    return isatty(STDERR_FILENO) != 0 && std::getenv("TRISEG_NO_PROGRESS") == nullptr;
}

std::string ProgressBar::format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) {
        return "--:--";
    }
    const auto s = static_cast<int64_t>(std::llround(seconds));
    char buf[32];
    if (s >= 3600) {
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    } else {
        std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    }
    return buf;
}

double ProgressBar::rate() const {
    const double dt = std::chrono::duration<double>(Clock::now() - start_).count();
    return dt > 0 ? static_cast<double>(done_) / dt : 0.0;
}

void ProgressBar::update(int64_t done, const std::string& extra) {
    done_ = done;
    if (!draw_) {
        return;
    }
    const auto now = Clock::now();
    const bool last = done >= total_;
    if (!last && std::chrono::duration<double>(now - last_draw_).count() < kRedrawSeconds) {
        return;
    }
    last_draw_ = now;
    const double r = rate();
    const double eta = r > 0 ? static_cast<double>(total_ - done) / r : -1.0;
    const double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1;
    const int filled = static_cast<int>(frac * kBarWidth);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kBarWidth, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %lld/%lld %.0f %s/s ETA %s %s", label_.c_str(),
                 bar.c_str(), static_cast<long long>(done), static_cast<long long>(total_), r,
                 unit_.c_str(), format_duration(eta).c_str(), extra.c_str());
    std::fflush(stderr);
    drawn_ = true;
}

void ProgressBar::finish() {
    if (drawn_) {
        std::fprintf(stderr, "\r\033[K");
        std::fflush(stderr);
        drawn_ = false;
    }
}

} // namespace triseg
