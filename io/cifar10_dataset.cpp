// Reader for CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin).
#include "io/cifar10_dataset.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "io/content_hash.h"

namespace triseg::io {
namespace {

constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarChannels = 3;
constexpr int64_t kCifarImageBytes = kCifarChannels * kCifarSide * kCifarSide;
constexpr int64_t kNumClasses = 10;
constexpr int kTrainBatches = 5;

/// The whole file as bytes.
/// @throws IoError when it cannot be opened or read.
std::vector<uint8_t> read_file(const std::string& path) {
    errno = 0;
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    TRISEG_CHECK(in.good(), IoError,
                 "cannot open CIFAR-10 file " << path << ": "
                                              << (errno ? std::strerror(errno) : "unknown error"));
    const std::streamoff size = in.tellg();
    TRISEG_CHECK(size >= 0, IoError, "cannot determine the size of CIFAR-10 file " << path);
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes.data()), size);
    TRISEG_CHECK(in.gcount() == size, IoError,
                 "cannot read CIFAR-10 file " << path << ": got " << in.gcount() << " of " << size
                                              << " bytes");
    return bytes;
}

} // namespace

ImageDataset read_cifar10_batches(const std::vector<std::string>& paths, const std::string& name) {
    TRISEG_CHECK(!paths.empty(), InputError, "no CIFAR-10 batch files given for " << name);
    ImageDataset out;
    out.name = name;
    out.channels = kCifarChannels;
    out.height = kCifarSide;
    out.width = kCifarSide;
    out.num_classes = kNumClasses;
    for (const std::string& path : paths) {
        const std::vector<uint8_t> bytes = read_file(path);
        const auto size = static_cast<int64_t>(bytes.size());
        out.sources.push_back({path, sha256_hex(bytes.data(), bytes.size())});
        TRISEG_CHECK(size > 0 && size % kCifarRecordBytes == 0, InputError,
                     "CIFAR-10 file "
                         << path << " has " << size << " bytes, expected a non-zero multiple of "
                         << kCifarRecordBytes << " (1 label byte + " << kCifarImageBytes
                         << " pixel bytes per record)");
        const int64_t records = size / kCifarRecordBytes;
        out.pixels.reserve(static_cast<size_t>((out.count + records) * kCifarImageBytes));
        out.labels.reserve(static_cast<size_t>(out.count + records));
        for (int64_t r = 0; r < records; ++r) {
            const uint8_t* rec = bytes.data() + r * kCifarRecordBytes;
            TRISEG_CHECK(rec[0] < kNumClasses, InputError,
                         "CIFAR-10 file " << path << ": record " << r << " has label "
                                          << int{rec[0]} << ", expected 0.." << kNumClasses - 1);
            out.labels.push_back(rec[0]);
            // The record's R, G, B planes are already in CHW order.
            out.pixels.insert(out.pixels.end(), rec + 1, rec + kCifarRecordBytes);
        }
        out.count += records;
    }
    return out;
}

ImageDataset load_cifar10_dataset(const std::string& dir, const std::string& split) {
    std::vector<std::string> names;
    if (split == "train") {
        for (int i = 1; i <= kTrainBatches; ++i) {
            names.push_back("data_batch_" + std::to_string(i) + ".bin");
        }
    } else if (split == "test") {
        names.push_back("test_batch.bin");
    } else {
        TRISEG_THROW(ConfigError,
                     "unknown CIFAR-10 split '" << split << "', expected one of: train, test");
    }
    std::vector<std::string> paths;
    for (const std::string& n : names) {
        paths.push_back((std::filesystem::path(dir) / n).string());
    }
    return read_cifar10_batches(paths, "cifar10/" + split);
}

} // namespace triseg::io
