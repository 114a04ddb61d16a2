// Device selection and thread configuration.
#include "engine/train/device.h"

#include <algorithm>
#include <system_error>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "common/error.h"

namespace triseg::engine {

c10::Device resolve_device(const std::string& spec) {
    c10::Device device(c10::kCPU);
    try {
        device = c10::Device(spec);
    } catch (const c10::Error&) {
        TRISEG_THROW(ConfigError,
                     "`runtime.device` must be cpu, cuda or cuda:N, got '" << spec << "'");
    }
    if (device.is_cuda()) {
        TRISEG_CHECK(torch::cuda::is_available(), ConfigError,
                     "`runtime.device` is '"
                         << spec << "' but CUDA is not available (this "
                         << "LibTorch has no CUDA support or no GPU is visible); use "
                         << "--set runtime.device=cpu");
        TRISEG_CHECK(!device.has_index() ||
                         device.index() < static_cast<int>(torch::cuda::device_count()),
                     ConfigError,
                     "`runtime.device` is '" << spec << "' but only " << torch::cuda::device_count()
                                             << " GPU(s) are visible");
    } else {
        TRISEG_CHECK(device.is_cpu(), ConfigError,
                     "`runtime.device` must be cpu, cuda or cuda:N, got '" << spec << "'");
    }
    return device;
}

namespace {

/// Starts `count` threads at once and joins them. LibTorch's thread pool (pthreadpool) does not
/// check that its threads started: without the memory for their stacks it waits for them
/// forever. A failed start here is a clear error instead.
/// @throws IoError ("not enough memory ...") when a thread cannot be started.
void check_threads_can_start(int64_t count) {
    std::vector<std::thread> started;
    try {
        for (int64_t i = 0; i < count; ++i) {
            started.emplace_back([] {});
        }
    } catch (const std::system_error& e) {
        for (auto& t : started) {
            t.join();
        }
        TRISEG_THROW(IoError, "not enough memory to start " << count << " threads (" << e.what()
                                                            << "); give the process more memory "
                                                               "(`ulimit -v`, SLURM's --mem) or "
                                                               "lower runtime.threads");
    }
    for (auto& t : started) {
        t.join();
    }
}

} // namespace

int64_t configure_threads(int64_t threads) {
    const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
    const auto n = threads > 0 ? threads : cores;
    check_threads_can_start(std::max(n, cores)); // the pool starts with one thread per core
    at::set_num_threads(static_cast<int>(n));
    return n;
}

} // namespace triseg::engine
