// Device selection and thread configuration for LibTorch work.
#pragma once

#include <cstdint>
#include <string>

#include <c10/core/Device.h>

namespace triseg::engine {

/// Parses "cpu", "cuda" or "cuda:N".
/// @throws ConfigError when the spelling is wrong or CUDA is asked for but not available
/// (this LibTorch build has no CUDA, or no GPU is visible), naming `runtime.device`.
c10::Device resolve_device(const std::string& spec);

/// Sets LibTorch's intra-op threads: `threads`, or every core when 0. Returns the count used.
int64_t configure_threads(int64_t threads);

} // namespace triseg::engine
