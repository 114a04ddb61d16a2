// Readers for IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed, via zlib.
#include "io/idx_dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "io/content_hash.h"

namespace triseg::io {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;
constexpr int64_t kNumClasses = 10;
/// Largest payload we accept (a sanity bound on header dimensions: 64 GiB).
constexpr uint64_t kMaxPayloadBytes = uint64_t{1} << 36;
/// Read granularity, so a header that lies about its size cannot force a huge allocation.
constexpr int64_t kChunkBytes = int64_t{1} << 22;

/// An open IDX file. gzopen/gzread read gzip and plain files alike; gzdirect() tells which.
class IdxFile {
public:
    explicit IdxFile(const std::string& path) : path_(path) {
        errno = 0;
        file_ = gzopen(path.c_str(), "rb");
        TRISEG_CHECK(file_ != nullptr, IoError,
                     "cannot open IDX file " << path << ": "
                                             << (errno ? std::strerror(errno) : "out of memory"));
        gzbuffer(file_, 1 << 17);
    }
    ~IdxFile() { gzclose(file_); }
    IdxFile(const IdxFile&) = delete;
    IdxFile& operator=(const IdxFile&) = delete;

    /// "gzip" or "plain", valid after the first read.
    const char* kind() const { return gzdirect(file_) ? "plain" : "gzip"; }

    /// Reads up to `n` bytes into `dst`, returns how many were read (fewer at end of data).
    /// @throws InputError when the gzip stream is corrupt.
    int64_t read(uint8_t* dst, int64_t n) {
        int64_t got = 0;
        while (got < n) {
            const auto len = static_cast<unsigned>(std::min<int64_t>(n - got, kChunkBytes));
            const int r = gzread(file_, dst + got, len);
            if (r < 0) {
                int errnum = Z_OK;
                const char* msg = gzerror(file_, &errnum);
                TRISEG_THROW(InputError, "corrupt gzip data in " << path_ << " after " << got
                                                                 << " bytes: " << msg);
            }
            if (r == 0) {
                // A gzip stream cut short reports Z_BUF_ERROR here, not a negative count.
                break;
            }
            got += r;
        }
        return got;
    }

    /// Reads a big-endian 32-bit header field.
    uint32_t read_u32(const char* field) {
        uint8_t b[4] = {0, 0, 0, 0};
        const int64_t got = read(b, 4);
        TRISEG_CHECK(got == 4, InputError,
                     "IDX file " << path_ << " is truncated in its header (no " << field
                                 << " field)");
        return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) |
               uint32_t{b[3]};
    }

    /// Reads exactly `n` payload bytes after a `header` of that many bytes, and checks
    /// that nothing follows them.
    /// @throws InputError naming the expected and actual (uncompressed) file sizes.
    std::vector<uint8_t> read_payload(uint64_t n, uint64_t header) {
        TRISEG_CHECK(n <= kMaxPayloadBytes, InputError,
                     "IDX file " << path_ << " declares " << n
                                 << " data bytes, more than the supported " << kMaxPayloadBytes);
        std::vector<uint8_t> out;
        int64_t got = 0;
        const auto want = static_cast<int64_t>(n);
        while (got < want) {
            const int64_t step = std::min(want - got, kChunkBytes);
            out.resize(static_cast<size_t>(got + step));
            const int64_t r = read(out.data() + got, step);
            got += r;
            if (r < step) {
                break;
            }
        }
        TRISEG_CHECK(got == want, InputError,
                     "IDX file " << path_ << " (" << kind() << ") is truncated: expected "
                                 << header + n << " bytes, got " << header + got);
        uint8_t sink[4096];
        uint64_t extra = 0;
        for (int64_t r = read(sink, sizeof(sink)); r > 0; r = read(sink, sizeof(sink))) {
            extra += static_cast<uint64_t>(r);
        }
        TRISEG_CHECK(extra == 0, InputError,
                     "IDX file " << path_ << " (" << kind() << ") has " << extra
                                 << " trailing bytes: expected " << header + n << " bytes, got "
                                 << header + n + extra);
        return out;
    }

    void check_magic(uint32_t magic, uint32_t expected, const char* what) {
        TRISEG_CHECK(magic == expected, InputError,
                     "IDX file " << path_ << " has magic number 0x" << std::hex << magic
                                 << ", expected 0x" << expected << std::dec << " (" << what
                                 << "); is it the right file?");
    }

    uint32_t read_dim(const char* field) {
        const uint32_t v = read_u32(field);
        TRISEG_CHECK(v > 0, InputError, "IDX file " << path_ << " has " << field << " = 0");
        return v;
    }

private:
    std::string path_;
    gzFile file_ = nullptr;
};

/// `<dir>/<stem>.gz` when it exists, else `<dir>/<stem>`.
/// @throws IoError naming both candidates, with how to get the data.
std::string resolve(const std::string& dir, const std::string& stem) {
    const std::filesystem::path base = std::filesystem::path(dir) / stem;
    const std::string gz = base.string() + ".gz";
    std::error_code ec;
    if (std::filesystem::is_regular_file(gz, ec)) {
        return gz;
    }
    if (std::filesystem::is_regular_file(base, ec)) {
        return base.string();
    }
    TRISEG_THROW(IoError, "IDX file not found: neither "
                              << gz << " nor " << base.string()
                              << " exists. Install the dataset (for Fashion-MNIST: apt-get "
                                 "install dataset-fashion-mnist) or set `data.root` to the "
                                 "folder that holds the IDX files");
}

} // namespace

IdxImages read_idx_images(const std::string& path) {
    IdxFile f(path);
    f.check_magic(f.read_u32("magic"), kImagesMagic, "IDX3 uint8 images");
    IdxImages out;
    out.count = f.read_dim("image count");
    out.rows = f.read_dim("rows");
    out.cols = f.read_dim("columns");
    const uint64_t image_bytes = static_cast<uint64_t>(out.rows) * static_cast<uint64_t>(out.cols);
    const uint64_t bytes = static_cast<uint64_t>(out.count) * image_bytes; // < 2^96 guarded below
    TRISEG_CHECK(image_bytes <= kMaxPayloadBytes &&
                     bytes / image_bytes == static_cast<uint64_t>(out.count),
                 InputError,
                 "IDX file " << path << " declares implausible dimensions " << out.count << "x"
                             << out.rows << "x" << out.cols);
    out.pixels = f.read_payload(bytes, 16);
    return out;
}

std::vector<uint8_t> read_idx_labels(const std::string& path) {
    IdxFile f(path);
    f.check_magic(f.read_u32("magic"), kLabelsMagic, "IDX1 uint8 labels");
    const uint32_t count = f.read_dim("label count");
    return f.read_payload(count, 8);
}

ImageDataset
load_idx_dataset(const std::string& dir, const std::string& prefix, const std::string& name) {
    const std::string images_path = resolve(dir, prefix + "-images-idx3-ubyte");
    const std::string labels_path = resolve(dir, prefix + "-labels-idx1-ubyte");
    IdxImages images = read_idx_images(images_path);
    const std::vector<uint8_t> labels = read_idx_labels(labels_path);
    TRISEG_CHECK(static_cast<int64_t>(labels.size()) == images.count, InputError,
                 "label count " << labels.size() << " in " << labels_path
                                << " does not match image count " << images.count << " in "
                                << images_path);

    ImageDataset out;
    out.name = name;
    out.count = images.count;
    out.channels = 1;
    out.height = images.rows;
    out.width = images.cols;
    out.num_classes = kNumClasses;
    out.pixels = std::move(images.pixels);
    out.sources = {{images_path, sha256_file(images_path)},
                   {labels_path, sha256_file(labels_path)}};
    out.labels.resize(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) {
        TRISEG_CHECK(labels[i] < kNumClasses, InputError,
                     "label " << int{labels[i]} << " of image " << i << " in " << labels_path
                              << " is not in [0, " << kNumClasses << ")");
        out.labels[i] = labels[i];
    }
    return out;
}

} // namespace triseg::io
