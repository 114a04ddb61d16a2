// Atomic file writes: content, replacement, no leftovers, clear errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "io/atomic_file.h"
#include "tests/io/temp_dir.h"

namespace triseg::io {
namespace {

using test::TempDir;

size_t entries(const TempDir& dir) {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        (void)e;
        ++n;
    }
    return n;
}

TEST(AtomicFile, WritesAndReplaces) {
    TempDir dir;
    const auto path = dir.file("a.json");
    write_file_atomic(path, "first");
    EXPECT_EQ(read_file(path), "first");
    write_file_atomic(path, "second, longer");
    EXPECT_EQ(read_file(path), "second, longer");
    EXPECT_EQ(entries(dir), 1u) << "temporary file left behind";
}

TEST(AtomicFile, UncommittedPathLeavesNothing) {
    TempDir dir;
    const auto path = dir.file("model.pt");
    write_file_atomic(path, "old");
    {
        AtomicPath out(path);
        write_file_atomic(out.tmp() + ".x", "unrelated"); // simulate a writer's own file
        std::filesystem::remove(out.tmp() + ".x");
        std::ofstream(out.tmp()) << "half-written";
        // no commit: e.g. an exception while writing
    }
    EXPECT_EQ(read_file(path), "old");
    EXPECT_EQ(entries(dir), 1u);
}

TEST(AtomicFile, CommitMovesTemporaryIntoPlace) {
    TempDir dir;
    const auto path = dir.file("out.bin");
    AtomicPath out(path);
    std::ofstream(out.tmp()) << "payload";
    EXPECT_FALSE(file_exists(path));
    out.commit();
    EXPECT_EQ(read_file(path), "payload");
}

TEST(AtomicFile, ErrorsNameThePath) {
    TempDir dir;
    test::expect_error<IoError>([&] { read_file(dir.file("missing.yaml")); }, {"missing.yaml"});
    test::expect_error<IoError>([&] { write_file_atomic(dir.file("no/such/dir/f"), "x"); },
                                {"no/such/dir"});
    write_file_atomic(dir.file("plain"), "x");
    test::expect_error<IoError>([&] { ensure_directory(dir.file("plain")); }, {"plain"});
}

TEST(AtomicFile, EnsureDirectoryCreatesParents) {
    TempDir dir;
    ensure_directory(dir.file("a/b/c"));
    EXPECT_TRUE(std::filesystem::is_directory(dir.file("a/b/c")));
    ensure_directory(dir.file("a/b/c")); // idempotent
}

} // namespace
} // namespace triseg::io
