// triseg error hierarchy: exceptions with context, mapped to exit codes in main.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace triseg {

/// Process exit codes. `main` maps every escaped exception to one of these.
enum class ExitCode : int {
    Success = 0,
    Internal = 1,     ///< unexpected failure (a bug, or an error from a library)
    Usage = 2,        ///< bad command line or configuration
    Input = 3,        ///< bad input data: a malformed file, invalid codes, mismatched shapes
    Io = 4,           ///< a file or folder cannot be read or written
    Mpi = 5,          ///< a distributed run failed (rank count, a peer's error)
    Interrupted = 130 ///< stopped by a signal after saving state
};

/// Base of every error triseg throws on purpose.
/// Invariant: what() is a complete sentence for the user; where() is the throw site.
class Error : public std::runtime_error {
public:
    Error(const std::string& message, ExitCode code, std::string where = {})
        : std::runtime_error(message), code_(code), where_(std::move(where)) {}
    ExitCode code() const { return code_; }
    int exit_code() const { return static_cast<int>(code_); }
    /// "file:line" of the throw site, empty when unknown.
    const std::string& where() const { return where_; }

private:
    ExitCode code_;
    std::string where_;
};

/// A configuration key, command-line option or --set override is unknown or out of range.
class ConfigError : public Error {
public:
    explicit ConfigError(const std::string& m, std::string w = {})
        : Error(m, ExitCode::Usage, std::move(w)) {}
};

/// Input data is malformed: a corrupt dataset file, codes that break the rules, a shape mismatch.
class InputError : public Error {
public:
    explicit InputError(const std::string& m, std::string w = {})
        : Error(m, ExitCode::Input, std::move(w)) {}
};

/// A file or folder cannot be opened, read, written or renamed.
class IoError : public Error {
public:
    explicit IoError(const std::string& m, std::string w = {})
        : Error(m, ExitCode::Io, std::move(w)) {}
};

/// A distributed run cannot go on (rank count, a failure on another rank).
class MpiError : public Error {
public:
    explicit MpiError(const std::string& m, std::string w = {})
        : Error(m, ExitCode::Mpi, std::move(w)) {}
};

namespace detail {
inline std::string where(const char* file, int line) {
    return std::string(file) + ":" + std::to_string(line);
}
} // namespace detail

} // namespace triseg

/// Throws `ErrorType` with a streamed message and the throw site when `cond` is false:
///   TRISEG_CHECK(n > 0, InputError, "file " << path << " holds no images");
#define TRISEG_CHECK(cond, ErrorType, msg_stream)                                                  \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::ostringstream triseg_check_os_;                                                   \
            triseg_check_os_ << msg_stream;                                                        \
            throw ::triseg::ErrorType(triseg_check_os_.str(),                                      \
                                      ::triseg::detail::where(__FILE__, __LINE__));                \
        }                                                                                          \
    } while (false)

/// Unconditional throw with the same message form as TRISEG_CHECK.
#define TRISEG_THROW(ErrorType, msg_stream) TRISEG_CHECK(false, ErrorType, msg_stream)
