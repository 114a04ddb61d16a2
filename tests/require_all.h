// Skips for what a machine can be given (a package, root, a tmpfs), which fail instead under
// TRISEG_REQUIRE_ALL=1, so that a run that should cover everything cannot go quietly green.
// Skips for what a CPU lacks (an instruction set) stay plain GTEST_SKIP: no package installs
// one. docs/development.md, "Which tests may skip", lists every skip.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

namespace triseg::test {

/// True when TRISEG_REQUIRE_ALL is set to 1 (.ci/run sets it).
inline bool require_all() {
    const char* v = std::getenv("TRISEG_REQUIRE_ALL");
    return v != nullptr && std::strcmp(v, "1") == 0;
}

} // namespace triseg::test

/// Skips the test with `why` (a streamable expression), or fails it with `why` when
/// TRISEG_REQUIRE_ALL=1. Use it only for what the machine could be given.
#define TRISEG_SKIP_UNLESS_REQUIRED(why)                                                           \
    do {                                                                                           \
        if (::triseg::test::require_all()) {                                                       \
            GTEST_FAIL() << "TRISEG_REQUIRE_ALL=1, but this test would skip: " << why;             \
        } else {                                                                                   \
            GTEST_SKIP() << why;                                                                   \
        }                                                                                          \
    } while (0)
