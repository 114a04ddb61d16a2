// Raw bytes of trivially copyable values: appending to and reading from a byte buffer in the
// machine's layout (x86-64: little-endian, IEEE 754). Used by the MPI messages of the
// evaluator and by the PPO checkpoint buffer; each caller names its own error on truncation.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace triseg {

/// Appends the bytes of `value` to `out` (std::string or std::vector<uint8_t>).
template <typename T, typename Bytes> void append_raw(Bytes& out, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>, "only plain values have a raw form");
    const size_t n = out.size();
    out.resize(n + sizeof(T));
    std::memcpy(&out[n], &value, sizeof(T));
}

/// Reads a T at `pos` and advances `pos`; false (and nothing read) when fewer than sizeof(T)
/// bytes are left.
template <typename T, typename Bytes> bool read_raw(const Bytes& in, size_t& pos, T& value) {
    static_assert(std::is_trivially_copyable_v<T>, "only plain values have a raw form");
    if (pos > in.size() || in.size() - pos < sizeof(T)) {
        return false;
    }
    std::memcpy(&value, &in[pos], sizeof(T));
    pos += sizeof(T);
    return true;
}

} // namespace triseg
