// Content identity of bytes and files: SHA-256 (OpenSSL libcrypto), as lowercase hex.
#pragma once

#include <cstddef>
#include <string>

namespace triseg::io {

/// SHA-256 of `size` bytes at `data`: 64 lowercase hex digits.
std::string sha256_hex(const void* data, std::size_t size);

/// SHA-256 of a string's bytes.
inline std::string sha256_hex(const std::string& bytes) {
    return sha256_hex(bytes.data(), bytes.size());
}

/// SHA-256 of a file's bytes, read in blocks (constant memory).
/// @throws IoError naming the path when it cannot be opened or read.
std::string sha256_file(const std::string& path);

} // namespace triseg::io
