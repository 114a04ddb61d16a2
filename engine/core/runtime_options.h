// RuntimeOptions: where and how a run executes (the `runtime` config section).
#pragma once

#include <cstdint>
#include <string>

#include "common/error.h"
#include "common/option_checks.h"

namespace triseg::engine {

/// Options of the `runtime` config section.
struct RuntimeOptions {
    /// `runtime.seed`: seeds shuffling, augmentation, initialization and splits.
    int64_t seed = 0;
    /// `runtime.threads`: intra-op threads for LibTorch (0 = all cores).
    int64_t threads = 0;
    /// `runtime.device`: cpu, cuda or cuda:N (needs a CUDA build of LibTorch).
    std::string device = "cpu";

    bool operator==(const RuntimeOptions& o) const {
        return seed == o.seed && threads == o.threads && device == o.device;
    }
    bool operator!=(const RuntimeOptions& o) const { return !(*this == o); }

    void validate() const {
        detail::check_range<int64_t>("runtime.seed", seed, 0, INT64_MAX);
        detail::check_range<int64_t>("runtime.threads", threads, 0, 1024);
        TRISEG_CHECK(device == "cpu" || device.rfind("cuda", 0) == 0, ConfigError,
                     "`runtime.device` must be cpu, cuda or cuda:N, got '" << device << "'");
    }
};

} // namespace triseg::engine
