// Out of memory: std::bad_alloc and LibTorch's allocator failures, told apart from other errors
// and reported as one line with exit code 4, never as an internal error or an abort.
#pragma once

#include <exception>
#include <string>

namespace triseg {

/// What an out-of-memory failure was allocating, as far as its message says.
struct OutOfMemory {
    bool found = false;           ///< the error was an allocation failure
    unsigned long long bytes = 0; ///< the request that failed, 0 when unknown
};

/// Classifies `e` without allocating: std::bad_alloc (and its subclasses), or an exception
/// whose message is one of LibTorch's allocator failures ("DefaultCPUAllocator: can't allocate
/// memory: you tried to allocate N bytes", "... not enough memory ...", "C10 Out of Memory",
/// "CUDA out of memory").
OutOfMemory out_of_memory(const std::exception& e) noexcept;

/// The sentence after "error: " (for an Error's message under MPI): "not enough memory
/// (allocating N bytes failed); ...". Allocates.
std::string out_of_memory_text(const OutOfMemory& oom);

/// Writes "triseg <command>: error: not enough memory ..." and a newline to stderr in one
/// write(2), without allocating (the process may have none left).
void print_out_of_memory(const char* command, const OutOfMemory& oom) noexcept;

/// Installs a std::terminate handler for the rest of the process: an allocation failure that
/// escapes an OpenMP region or a thread (where it cannot reach main's catch) prints the line
/// of print_out_of_memory and ends the process with exit code 4 instead of an abort; any other
/// uncaught exception goes on to the previous handler. `command` must outlive the process.
void exit_on_uncaught_out_of_memory(const char* command);

} // namespace triseg
