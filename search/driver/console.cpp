// Console lines of the search driver.
#include "search/driver/console.h"

#include <cstdio>

#include "common/progress.h"

namespace triseg::search {

namespace detail {
std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}
} // namespace detail

using detail::fmt;

void print_resume_line(const std::string& checkpoint_path,
                       int64_t episodes,
                       int64_t generations,
                       double seconds_before) {
    std::printf("resuming from %s: episode %lld, generation %lld, %.0f s spent before\n",
                checkpoint_path.c_str(), static_cast<long long>(episodes),
                static_cast<long long>(generations), seconds_before);
    std::fflush(stdout);
}

std::string holdout_round_line(int64_t episodes,
                               int64_t total,
                               const ScoredCodes& best,
                               const ScoredCodes* best_holdout,
                               const std::vector<ScoredCodes>& fresh,
                               double rate) {
    std::string line = "episode " + std::to_string(episodes) +
                       (total > 0 ? "/" + std::to_string(total) : "") + ": best KD " +
                       fmt("%.5f", best.reward.kd_loss) + " (episode " +
                       std::to_string(best.episode) + ")";
    if (best_holdout != nullptr && best_holdout->holdout) {
        line += ", held-out acc " + fmt("%.2f%%", best_holdout->holdout->acc_student) + " drop " +
                fmt("%.2f", best_holdout->holdout->acc_drop());
    }
    for (const auto& f : fresh) {
        if (f.source == "proposal") {
            line += "; proposal KD " + fmt("%.5f", f.reward.kd_loss) + " acc " +
                    fmt("%.2f%%", f.holdout->acc_student) + " drop " +
                    fmt("%.2f", f.holdout->acc_drop());
        }
    }
    line += "; " + fmt("%.2f", rate) + " ep/s";
    if (total > 0 && rate > 0) {
        line +=
            ", ETA " + ProgressBar::format_duration(static_cast<double>(total - episodes) / rate);
    }
    return line;
}

void print_line(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

} // namespace triseg::search
