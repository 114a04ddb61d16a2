// Flag parsing shared by the bench programs: one message form for every bad value.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "models/spec/vgg_options.h"

namespace triseg::bench {

/// Throws ConfigError (exit code 2 in the bench mains) pointing to --help.
[[noreturn]] inline void usage_error(const std::string& message) {
    throw ConfigError(message + " (see --help)");
}

/// An integer >= lo, or a usage error naming the flag.
inline int64_t parse_int(const std::string& flag, const std::string& text, int64_t lo) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < lo) {
        usage_error(flag + " must be an integer >= " + std::to_string(lo) + ", got '" + text + "'");
    }
    return static_cast<int64_t>(v);
}

/// A number, or a usage error naming the flag.
inline double parse_double(const std::string& flag, const std::string& text) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') {
        usage_error(flag + " must be a number, got '" + text + "'");
    }
    return v;
}

/// vgg16 or vgg11, or a usage error.
inline models::VggArch parse_arch(const std::string& flag, const std::string& text) {
    if (text == "vgg16") {
        return models::VggArch::Vgg16;
    }
    if (text == "vgg11") {
        return models::VggArch::Vgg11;
    }
    usage_error(flag + " must be one of vgg16, vgg11, got '" + text + "'");
}

} // namespace triseg::bench
