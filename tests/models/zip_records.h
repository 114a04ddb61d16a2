// Finds the records of a LibTorch archive (a zip file, records stored uncompressed) in its
// bytes, so that tests can damage the tensor data or the pickle of a checkpoint on purpose.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace triseg::test {

/// One stored record: its name and where its bytes lie in the file.
struct ZipRecord {
    std::string name;
    size_t offset = 0;
    size_t size = 0;
};

/// The records, in central-directory order. LibTorch writes sizes only in the central
/// directory (local headers use data descriptors), so read it from the end-of-directory record.
inline std::vector<ZipRecord> zip_records(const std::string& bytes) {
    auto u16 = [&](size_t at) {
        return static_cast<size_t>(static_cast<uint8_t>(bytes[at])) |
               static_cast<size_t>(static_cast<uint8_t>(bytes[at + 1])) << 8;
    };
    auto u32 = [&](size_t at) { return u16(at) | u16(at + 2) << 16; };
    std::vector<ZipRecord> out;
    const size_t eocd = bytes.rfind(std::string("PK\5\6", 4));
    if (eocd == std::string::npos || eocd + 22 > bytes.size()) {
        return out;
    }
    const size_t entries = u16(eocd + 10);
    size_t at = u32(eocd + 16);
    for (size_t i = 0; i < entries && at + 46 <= bytes.size(); ++i) {
        if (bytes.compare(at, 4, std::string("PK\1\2", 4)) != 0) {
            break;
        }
        const size_t name_len = u16(at + 28);
        const size_t local = u32(at + 42);
        ZipRecord r;
        r.name = bytes.substr(at + 46, name_len);
        r.size = u32(at + 20);
        if (local + 30 <= bytes.size()) {
            r.offset = local + 30 + u16(local + 26) + u16(local + 28);
            out.push_back(r);
        }
        at += 46 + name_len + u16(at + 30) + u16(at + 32);
    }
    return out;
}

/// The largest record whose name ends with `suffix` ("data.pkl") or contains "/data/" when
/// `suffix` is empty (a tensor's bytes). Size 0 when there is none.
inline ZipRecord largest_record(const std::string& bytes, const std::string& suffix = "") {
    ZipRecord best;
    for (const auto& r : zip_records(bytes)) {
        const bool match = suffix.empty() ? r.name.find("/data/") != std::string::npos
                                          : r.name.size() >= suffix.size() &&
                                                r.name.compare(r.name.size() - suffix.size(),
                                                               suffix.size(), suffix) == 0;
        if (match && r.size > best.size) {
            best = r;
        }
    }
    return best;
}

} // namespace triseg::test
