// Out-of-memory classification and its one-line report.
#include "common/out_of_memory.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "common/error.h"

namespace triseg {

namespace {

/// LibTorch's (c10) allocator messages; each is followed by the request's size where known.
constexpr const char* kAllocatorMessages[] = {"can't allocate memory", "not enough memory",
                                              "C10 Out of Memory", "CUDA out of memory",
                                              "Could not allocate memory"};

/// The first number after "allocate " in `text`, 0 when there is none.
unsigned long long requested_bytes(const char* text) noexcept {
    const char* p = std::strstr(text, "allocate ");
    while (p != nullptr) {
        p += std::strlen("allocate ");
        if (*p >= '0' && *p <= '9') {
            return std::strtoull(p, nullptr, 10);
        }
        p = std::strstr(p, "allocate ");
    }
    return 0;
}

const char* g_command = "";
std::terminate_handler g_previous = nullptr;

[[noreturn]] void on_terminate() {
    if (const std::exception_ptr p = std::current_exception()) {
        try {
            std::rethrow_exception(p);
        } catch (const std::exception& e) {
            const OutOfMemory oom = out_of_memory(e);
            if (oom.found) {
                print_out_of_memory(g_command, oom);
                std::_Exit(static_cast<int>(ExitCode::Io));
            }
        } catch (...) {
        }
    }
    if (g_previous != nullptr) {
        g_previous();
    }
    std::abort();
}

} // namespace

OutOfMemory out_of_memory(const std::exception& e) noexcept {
    OutOfMemory oom;
    if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
        oom.found = true;
        return oom;
    }
    const char* text = e.what();
    for (const char* m : kAllocatorMessages) {
        if (std::strstr(text, m) != nullptr) {
            oom.found = true;
            oom.bytes = requested_bytes(text);
            return oom;
        }
    }
    return oom;
}

namespace {

/// Fills `buf` with the sentence of out_of_memory_text; returns its length.
int format_text(char* buf, size_t size, const OutOfMemory& oom) noexcept {
    char what[64] = "an allocation failed";
    if (oom.bytes > 0) {
        std::snprintf(what, sizeof(what), "allocating %llu bytes (%.1f MiB) failed", oom.bytes,
                      static_cast<double>(oom.bytes) / (1024.0 * 1024.0));
    }
    return std::snprintf(buf, size,
                         "not enough memory (%s); give the process more memory (`ulimit -v`, "
                         "SLURM's --mem) or make the work smaller (fewer threads or ranks per "
                         "node, smaller batches or image counts)",
                         what);
}

} // namespace

std::string out_of_memory_text(const OutOfMemory& oom) {
    char buf[512];
    format_text(buf, sizeof(buf), oom);
    return buf;
}

void print_out_of_memory(const char* command, const OutOfMemory& oom) noexcept {
    char text[512];
    format_text(text, sizeof(text), oom);
    char line[640];
    const int n = std::snprintf(line, sizeof(line), "triseg %s: error: %s\n", command, text);
    if (n > 0) {
        std::fflush(stdout);
        const ssize_t ignored =
            ::write(STDERR_FILENO, line, std::min(static_cast<size_t>(n), sizeof(line) - 1));
        (void)ignored;
    }
}

void exit_on_uncaught_out_of_memory(const char* command) {
    g_command = command;
    std::terminate_handler previous = std::set_terminate(on_terminate);
    if (previous != on_terminate) {
        g_previous = previous;
    }
}

} // namespace triseg
