// SHA-256 content identity: known vectors (FIPS 180-2), files, and unreadable paths.
#include "io/content_hash.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/error.h"
#include "tests/io/temp_dir.h"

namespace triseg::io {
namespace {

TEST(ContentHash, KnownVectors) {
    EXPECT_EQ(sha256_hex(std::string()),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex(std::string("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ContentHash, FileEqualsBytesAcrossBlockBoundaries) {
    test::TempDir dir;
    // 3 blocks of 64 KiB plus an odd tail, so the read loop crosses block boundaries.
    std::string bytes(3 * 65536 + 17, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<char>((i * 131 + 7) & 0xff);
    }
    const auto path = (dir.path() / "blob.bin").string();
    std::ofstream(path, std::ios::binary) << bytes;
    EXPECT_EQ(sha256_file(path), sha256_hex(bytes));
    bytes[100000] ^= 1;
    EXPECT_NE(sha256_file(path), sha256_hex(bytes));
}

TEST(ContentHash, MissingFileIsIoErrorNamingThePath) {
    test::TempDir dir;
    const auto path = (dir.path() / "absent.h5").string();
    try {
        sha256_file(path);
        FAIL() << "expected IoError";
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace triseg::io
