// ProgressBar: duration formatting and silent operation without a terminal.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/progress.h"

namespace triseg {
namespace {

TEST(ProgressBar, FormatsDurations) {
    EXPECT_EQ(ProgressBar::format_duration(0), "0:00");
    EXPECT_EQ(ProgressBar::format_duration(65.4), "1:05");
    EXPECT_EQ(ProgressBar::format_duration(3723), "1:02:03");
    EXPECT_EQ(ProgressBar::format_duration(-1), "--:--");
    EXPECT_EQ(ProgressBar::format_duration(std::numeric_limits<double>::infinity()), "--:--");
}

TEST(ProgressBar, DisabledBarDrawsNothingButCountsRate) {
    testing::internal::CaptureStderr();
    {
        ProgressBar bar("x", 10, "img", false);
        bar.update(5, "extra");
        EXPECT_GE(bar.rate(), 0.0);
        bar.finish();
    }
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

} // namespace
} // namespace triseg
