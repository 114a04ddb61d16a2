// Atomic file writes: content, replacement, no leftovers, clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "io/atomic_file.h"
#include "tests/io/temp_dir.h"
#include "tests/require_all.h"

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
        write_file_atomic(out.tmp_name() + ".x", "unrelated"); // a writer's own file
        std::filesystem::remove(out.tmp_name() + ".x");
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

TEST(AtomicFile, NeverWritesThroughAPlantedLink) {
    TempDir dir;
    const auto victim = dir.file("victim");
    write_file_atomic(victim, "precious");
    const auto path = dir.file("eval.json");
    // The predictable names of earlier versions, and the output itself, planted as links.
    for (long pid : {static_cast<long>(getpid()), static_cast<long>(getpid()) + 1}) {
        std::filesystem::create_symlink(victim, temporary_name(path, pid));
    }
    std::filesystem::create_symlink(victim, path);
    write_file_atomic(path, "ours");
    EXPECT_EQ(read_file(victim), "precious");
    EXPECT_FALSE(std::filesystem::is_symlink(path)) << "the output ended up as a link";
    EXPECT_EQ(read_file(path), "ours");
}

TEST(AtomicFile, TmpOpensTheTemporaryFileEvenIfItsNameIsReplaced) {
    TempDir dir;
    const auto victim = dir.file("victim");
    write_file_atomic(victim, "precious");
    AtomicPath out(dir.file("model.h5"));
    // Another process swaps the temporary's name for a link after it was created.
    std::filesystem::remove(out.tmp_name());
    std::filesystem::create_symlink(victim, out.tmp_name());
    std::ofstream(out.tmp()) << "payload"; // what HDF5 does: reopen by tmp() and write
    EXPECT_EQ(read_file(victim), "precious");
    test::expect_error<IoError>([&] { out.commit(); }, {"model.h5", "replaced by another process"});
    EXPECT_FALSE(file_exists(dir.file("model.h5")));
    EXPECT_EQ(read_file(victim), "precious");
}

TEST(AtomicFile, StaleTemporariesOfAnotherUserAreNotDeleted) {
    if (geteuid() != 0) {
        TRISEG_SKIP_UNLESS_REQUIRED("needs root to give a file to another user");
    }
    TempDir dir;
    // A pid that is surely gone: a child that has exited and been reaped.
    const pid_t child = fork();
    if (child == 0) {
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    const auto theirs = temporary_name(dir.file("a.json"), child);
    const auto ours = temporary_name(dir.file("b.json"), child);
    write_file_atomic(theirs, "x");
    write_file_atomic(ours, "x");
    ASSERT_EQ(chown(theirs.c_str(), 12345, 12345), 0);
    const auto removed = remove_stale_temporaries(dir.path().string());
    EXPECT_EQ(removed, std::vector<std::string>{ours});
    EXPECT_TRUE(file_exists(theirs));
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
