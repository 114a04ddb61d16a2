// Test helper: a small tmpfs to fill up, for full-disk tests (needs root to mount).
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/io/temp_dir.h"

namespace triseg::test {

/// A tmpfs of `size` ("8m") mounted on a fresh folder, unmounted on destruction. When the
/// process is not root or the mount fails, mounted() is false and why() says why (tests skip
/// with that reason).
class SmallDisk {
public:
    explicit SmallDisk(const std::string& size) {
        if (::geteuid() != 0) {
            why_ = "full-disk tests mount a small tmpfs, which needs root";
            return;
        }
        const std::string options = "size=" + size;
        if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) != 0) {
            why_ = "cannot mount a tmpfs on " + dir_.path().string() + ": " + std::strerror(errno);
            return;
        }
        mounted_ = true;
    }
    ~SmallDisk() {
        if (mounted_) {
            ::umount2(dir_.path().c_str(), MNT_DETACH);
        }
    }
    SmallDisk(const SmallDisk&) = delete;
    SmallDisk& operator=(const SmallDisk&) = delete;

    bool mounted() const { return mounted_; }
    const std::string& why() const { return why_; }
    std::string file(const std::string& name) const { return dir_.file(name); }

    /// Free bytes on the disk.
    int64_t free_bytes() const {
        struct statvfs st {};
        ::statvfs(dir_.path().c_str(), &st);
        return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
    }

    /// Resizes the file "filler" so that `leave` bytes stay free (or as close as pages allow).
    void fill(int64_t leave) {
        const std::string path = file("filler");
        std::error_code ec;
        std::filesystem::remove(path, ec);
        const int64_t size = free_bytes() - leave;
        if (size <= 0) {
            return;
        }
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            ::posix_fallocate(fd, 0, size);
            ::close(fd);
        }
    }

    /// Names of the files on the disk that contain ".tmp." (leftover temporaries).
    std::vector<std::string> temporaries() const {
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
            const std::string name = e.path().filename().string();
            if (name.find(".tmp.") != std::string::npos ||
                name.find(".reserve.") != std::string::npos) {
                names.push_back(name);
            }
        }
        return names;
    }

private:
    TempDir dir_;
    bool mounted_ = false;
    std::string why_;
};

/// io::h5::File::kReserveBytes: the free space an HDF5 writer sets aside before it starts.
constexpr int64_t kH5Reserve = int64_t{2} << 20;

/// Free-space amounts for a full-disk sweep of a writer of a file of about `size` bytes: none
/// (the file cannot even be created), around the writer's reserve, parts of the file (the
/// disk fills up while writing), and plenty (it succeeds).
inline std::vector<int64_t> leaves_for(int64_t size) {
    std::vector<int64_t> leaves = {0, kH5Reserve / 2, kH5Reserve, kH5Reserve + 4096};
    for (int part = 0; part < 4; ++part) {
        leaves.push_back(kH5Reserve + 8192 + size * part / 4);
    }
    leaves.push_back(kH5Reserve + 2 * size + (int64_t{1} << 20));
    return leaves;
}

/// The bytes of a file ("" when it cannot be read).
inline std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace triseg::test
