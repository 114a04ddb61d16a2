// Helpers for XxxOptions::validate(): one message form for every out-of-range option.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"

namespace triseg::detail {

/// Throws ConfigError "`key` must be in [lo, hi], got v" unless lo <= v <= hi.
template <typename T> void check_range(const std::string& key, T value, T lo, T hi) {
    if (!(value >= lo && value <= hi)) {
        std::ostringstream os;
        os << "`" << key << "` must be in [" << lo << ", " << hi << "], got " << value;
        throw ConfigError(os.str());
    }
}

/// Throws ConfigError "`key` must be > lo, got v" unless v > lo.
template <typename T> void check_greater(const std::string& key, T value, T lo) {
    if (!(value > lo)) {
        std::ostringstream os;
        os << "`" << key << "` must be > " << lo << ", got " << value;
        throw ConfigError(os.str());
    }
}

/// "a, b, c" for error messages that list the allowed values.
inline std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        out += (i ? sep : "") + items[i];
    }
    return out;
}

} // namespace triseg::detail
