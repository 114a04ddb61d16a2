// Test helpers that damage files on purpose: flip a byte inside a dataset's stored chunk or
// at the position of a byte pattern.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>

namespace triseg::test {

/// Where the first chunk of dataset `name` in `path` is stored: file offset and byte count.
struct Stored {
    uint64_t offset = 0;
    uint64_t size = 0;
};

inline Stored first_chunk(const std::string& path, const std::string& name) {
    Stored s;
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t d = f < 0 ? -1 : H5Dopen2(f, name.c_str(), H5P_DEFAULT);
    const hid_t space = d < 0 ? -1 : H5Dget_space(d);
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    unsigned mask = 0;
    const herr_t rc = space < 0 ? -1 : H5Dget_chunk_info(d, space, 0, nullptr, &mask, &addr, &size);
    if (space >= 0) {
        H5Sclose(space);
    }
    if (d >= 0) {
        H5Dclose(d);
    }
    if (f >= 0) {
        H5Fclose(f);
    }
    if (rc < 0 || addr == HADDR_UNDEF || size == 0) {
        throw std::runtime_error("no stored chunk for " + name + " in " + path);
    }
    s.offset = addr;
    s.size = size;
    return s;
}

/// XORs the byte at `offset` of `path` with `mask`.
inline void flip_byte(const std::string& path, uint64_t offset, uint8_t mask = 0x10) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.get(c);
    c = static_cast<char>(static_cast<uint8_t>(c) ^ mask);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(c);
    if (!f) {
        throw std::runtime_error("cannot flip a byte of " + path);
    }
}

/// Flips a byte in the middle of the stored bytes of dataset `name` (its first chunk).
inline void flip_in_dataset(const std::string& path, const std::string& name) {
    const Stored s = first_chunk(path, name);
    flip_byte(path, s.offset + s.size / 2);
}

/// Offset of the only occurrence of `pattern` in `path`. @throws when absent or repeated.
inline uint64_t find_unique(const std::string& path, const std::string& pattern) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = bytes.find(pattern);
    if (at == std::string::npos || bytes.find(pattern, at + 1) != std::string::npos) {
        throw std::runtime_error("pattern not found exactly once in " + path);
    }
    return at;
}

} // namespace triseg::test
