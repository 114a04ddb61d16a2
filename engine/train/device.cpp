// Device selection and thread configuration.
#include "engine/train/device.h"

#include <thread>

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

int64_t configure_threads(int64_t threads) {
    const auto n = threads > 0
                       ? threads
                       : static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(static_cast<int>(n));
    return n;
}

} // namespace triseg::engine
