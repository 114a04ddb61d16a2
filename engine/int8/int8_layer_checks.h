// What the int8 layer checks share with the input quantization: the zero-point check.
#pragma once

#include <cstdint>
#include <string>

namespace triseg::engine::detail {

/// @throws InputError "<what> zero point must be in [0, 255], got <zp>" unless 0 <= zp <= 255.
void check_zero_point(int32_t zp, const std::string& what);

} // namespace triseg::engine::detail
