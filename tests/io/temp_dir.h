// Test helpers: a self-deleting temporary folder and writers for small IDX / CIFAR files.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace triseg::test {

/// A fresh folder under the system temp dir, removed with its contents on destruction.
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "triseg-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed for " + pattern);
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    /// Full path of `name` inside the folder.
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

using Bytes = std::vector<uint8_t>;

/// Writes `bytes` to `path` as is.
inline void write_plain(const std::string& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + path);
    }
}

/// Writes `bytes` to `path` gzip-compressed.
inline void write_gzip(const std::string& path, const Bytes& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (f == nullptr) {
        throw std::runtime_error("cannot open " + path);
    }
    const int written =
        bytes.empty() ? 0 : gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    if (written != static_cast<int>(bytes.size())) {
        throw std::runtime_error("cannot write " + path);
    }
}

/// Appends `v` as 4 big-endian bytes.
inline void put_u32(Bytes& b, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        b.push_back(static_cast<uint8_t>(v >> shift));
    }
}

/// An IDX3 image file: header (magic 0x803, count, rows, cols) followed by `pixels`.
inline Bytes idx_images(uint32_t count,
                        uint32_t rows,
                        uint32_t cols,
                        const Bytes& pixels,
                        uint32_t magic = 0x00000803) {
    Bytes b;
    put_u32(b, magic);
    put_u32(b, count);
    put_u32(b, rows);
    put_u32(b, cols);
    b.insert(b.end(), pixels.begin(), pixels.end());
    return b;
}

/// An IDX1 label file: header (magic 0x801, count) followed by `labels`.
inline Bytes idx_labels(const Bytes& labels, uint32_t magic = 0x00000801) {
    Bytes b;
    put_u32(b, magic);
    put_u32(b, static_cast<uint32_t>(labels.size()));
    b.insert(b.end(), labels.begin(), labels.end());
    return b;
}

/// Deterministic pixel bytes: value of byte k is (k * 7 + salt) % 256.
inline Bytes pattern_bytes(size_t n, uint8_t salt = 0) {
    Bytes b(n);
    for (size_t k = 0; k < n; ++k) {
        b[k] = static_cast<uint8_t>((k * 7 + salt) % 256);
    }
    return b;
}

/// One CIFAR-10 record: label then 3072 pixel bytes made from pattern_bytes(3072, salt).
inline Bytes cifar_record(uint8_t label, uint8_t salt) {
    Bytes b{label};
    const Bytes px = pattern_bytes(3072, salt);
    b.insert(b.end(), px.begin(), px.end());
    return b;
}

/// Expects `fn` to throw exactly `E` (or a subclass) whose message holds every `needle`.
template <typename E, typename F>
void expect_error(F&& fn, const std::vector<std::string>& needles) {
    try {
        fn();
        ADD_FAILURE() << "no exception thrown";
    } catch (const E& e) {
        const std::string msg = e.what();
        for (const std::string& needle : needles) {
            EXPECT_NE(msg.find(needle), std::string::npos)
                << "message lacks '" << needle << "': " << msg;
        }
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type, message: " << e.what();
    }
}

/// The pid of a process that has ended and been reaped (for tests of stale-pid handling).
inline pid_t dead_pid() {
    const pid_t pid = fork();
    if (pid == 0) {
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return pid;
}

} // namespace triseg::test
