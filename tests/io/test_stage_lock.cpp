// StageLock (one writer per stage output, released when the holder dies) and the removal of
// stale temporaries of dead processes.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/stage_lock.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

using io::StageLock;

void touch(const std::string& path) {
    write_plain(path, {'x'});
}

TEST(StageLock, ASecondHolderIsRefusedWithTheFirstOnesFacts) {
    TempDir dir;
    const std::string out = dir.file("search/ppo-seed0");
    {
        const StageLock first(out, StageLock::Scope::Folder, "search");
        EXPECT_TRUE(std::filesystem::is_directory(out));
        EXPECT_EQ(first.lock_file(), out + "/.lock");
        const std::string facts = io::read_file(first.lock_file());
        EXPECT_NE(facts.find("\"pid\":" + std::to_string(getpid())), std::string::npos) << facts;
        // flock locks belong to an open file: a second open in this process conflicts too.
        expect_error<IoError>([&] { StageLock second(out, StageLock::Scope::Folder, "search"); },
                              {out, "is in use by", "pid " + std::to_string(getpid()), "on host",
                               "since", "wait for it"});
    }
    // Released with its holder; the lock file stays, without facts.
    EXPECT_TRUE(io::file_exists(out + "/.lock"));
    EXPECT_EQ(io::read_file(out + "/.lock"), "");
    const StageLock again(out, StageLock::Scope::Folder, "search");
}

TEST(StageLock, FileOutputsLockOneFileEach) {
    TempDir dir;
    const std::string a = dir.file("codes/eval_a.json");
    const StageLock la(a, StageLock::Scope::File, "eval-codes");
    EXPECT_EQ(la.lock_file(), dir.file("codes/.eval_a.json.lock"));
    const StageLock lb(dir.file("codes/eval_b.json"), StageLock::Scope::File, "eval-codes");
    expect_error<IoError>([&] { StageLock again(a, StageLock::Scope::File, "eval-codes"); },
                          {a, "is in use by"});
}

TEST(StageLock, TheKernelReleasesTheLockOfAKilledHolder) {
    TempDir dir;
    const std::string out = dir.file("float");
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        const StageLock held(out, StageLock::Scope::Folder, "train-float");
        const char c = 'x';
        [[maybe_unused]] const ssize_t n = write(ready[1], &c, 1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c = 0;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    expect_error<IoError>([&] { StageLock second(out, StageLock::Scope::Folder, "train-float"); },
                          {"is in use by", "pid " + std::to_string(child)});
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    const StageLock after(out, StageLock::Scope::Folder, "train-float"); // no error
}

TEST(StageLock, RemovesTheTemporariesOfDeadProcessesOnly) {
    TempDir dir;
    const std::string out = dir.file("search");
    io::ensure_directory(out);
    const std::string dead = std::to_string(dead_pid());
    const std::string alive = std::to_string(getppid());
    touch(out + "/checkpoint.h5.tmp." + dead);
    touch(out + "/result.json.tmp." + alive);
    touch(out + "/result.json.tmp." + std::to_string(getpid()));
    touch(out + "/notes.tmp.txt");
    touch(out + "/history.jsonl");
    const StageLock lock(out, StageLock::Scope::Folder, "search");
    ASSERT_EQ(lock.removed().size(), 1u);
    EXPECT_EQ(lock.removed()[0], out + "/checkpoint.h5.tmp." + dead);
    EXPECT_FALSE(std::filesystem::exists(out + "/checkpoint.h5.tmp." + dead));
    EXPECT_TRUE(io::file_exists(out + "/result.json.tmp." + alive));
    EXPECT_TRUE(io::file_exists(out + "/result.json.tmp." + std::to_string(getpid())));
    EXPECT_TRUE(io::file_exists(out + "/notes.tmp.txt"));
    EXPECT_TRUE(io::file_exists(out + "/history.jsonl"));
}

TEST(StageLock, AFileLockRemovesOnlyItsOwnOutputsTemporaries) {
    TempDir dir;
    const std::string acts = dir.file("acts");
    io::ensure_directory(acts);
    const std::string dead = std::to_string(dead_pid());
    touch(acts + "/acts_int8.h5.tmp." + dead);
    touch(acts + "/acts_int8.shard-1-of-2.h5.tmp." + dead);
    touch(acts + "/percentiles.h5.tmp." + dead);
    const StageLock lock(acts + "/acts_int8.h5", StageLock::Scope::File, "dump-acts");
    EXPECT_EQ(lock.removed().size(), 2u);
    EXPECT_FALSE(std::filesystem::exists(acts + "/acts_int8.h5.tmp." + dead));
    EXPECT_FALSE(std::filesystem::exists(acts + "/acts_int8.shard-1-of-2.h5.tmp." + dead));
    EXPECT_TRUE(io::file_exists(acts + "/percentiles.h5.tmp." + dead));
}

TEST(StageLock, ClearFolderDeletesOnlyTrisegsFilesAndKeepsTheLockFiles) {
    TempDir dir;
    const std::string out = dir.file("float");
    const StageLock lock(out, StageLock::Scope::Folder, "train-float");
    touch(out + "/last.pt");
    touch(out + "/eval_test.json");
    touch(out + "/.eval_test.json.lock");
    lock.clear_folder({"last.pt", "model.pt", "eval_*.json"});
    EXPECT_FALSE(std::filesystem::exists(out + "/last.pt"));
    EXPECT_FALSE(std::filesystem::exists(out + "/eval_test.json"));
    EXPECT_TRUE(io::file_exists(out + "/.lock"));
    EXPECT_TRUE(io::file_exists(out + "/.eval_test.json.lock"));
}

TEST(StageLock, ClearFolderRefusesAFolderHoldingWhatTrisegDidNotWrite) {
    TempDir dir;
    const std::string out = dir.file("search/ppo-seed0");
    const StageLock lock(out, StageLock::Scope::Folder, "search");
    touch(out + "/result.json");
    touch(out + "/notes.txt"); // a user's file
    io::ensure_directory(out + "/sub");
    touch(out + "/sub/x");
    touch(dir.file("victim"));
    std::filesystem::create_symlink(dir.file("victim"), out + "/history.jsonl");
    expect_error<IoError>(
        [&] {
            lock.clear_folder({"result.json", "history.jsonl"});
        },
        {"--force deletes only", "'history.jsonl'", "'notes.txt'", "'sub'", "nothing was deleted"});
    // Nothing deleted, nothing followed.
    EXPECT_TRUE(io::file_exists(out + "/result.json"));
    EXPECT_TRUE(io::file_exists(out + "/notes.txt"));
    EXPECT_TRUE(io::file_exists(out + "/sub/x"));
    EXPECT_EQ(io::read_file(dir.file("victim")), "x");
}

TEST(StageLock, AStageFolderThatIsALinkIsRefused) {
    TempDir dir;
    io::ensure_directory(dir.file("elsewhere"));
    touch(dir.file("elsewhere/keep"));
    io::ensure_directory(dir.file("run"));
    std::filesystem::create_directory_symlink(dir.file("elsewhere"), dir.file("run/float"));
    expect_error<IoError>(
        [&] { StageLock lock(dir.file("run/float"), StageLock::Scope::Folder, "train-float"); },
        {"run/float", "symbolic link"});
    // The folder of an output file too.
    expect_error<IoError>(
        [&] { StageLock lock(dir.file("run/float/eval.json"), StageLock::Scope::File, "eval"); },
        {"run/float", "symbolic link"});
    EXPECT_FALSE(std::filesystem::exists(dir.file("elsewhere/.lock")));
    EXPECT_TRUE(io::file_exists(dir.file("elsewhere/keep")));
}

TEST(StageLock, APlantedLockFileLinkIsRefusedAndItsTargetKept) {
    TempDir dir;
    write_plain(dir.file("victim"), {'v', 'i', 'c'});
    io::ensure_directory(dir.file("run/int8"));
    std::filesystem::create_symlink(dir.file("victim"), dir.file("run/int8/.model.h5.lock"));
    expect_error<IoError>(
        [&] { StageLock lock(dir.file("run/int8/model.h5"), StageLock::Scope::File, "export"); },
        {".model.h5.lock", "symbolic link"});
    io::ensure_directory(dir.file("run/float"));
    std::filesystem::create_symlink(dir.file("victim"), dir.file("run/float/.lock"));
    expect_error<IoError>(
        [&] { StageLock lock(dir.file("run/float"), StageLock::Scope::Folder, "train-float"); },
        {"float/.lock", "symbolic link"});
    // A hard link to someone else's file is refused as well (it would be truncated).
    ASSERT_EQ(::link(dir.file("victim").c_str(), dir.file("run/int8/.eval.json.lock").c_str()), 0);
    expect_error<IoError>(
        [&] { StageLock lock(dir.file("run/int8/eval.json"), StageLock::Scope::File, "eval"); },
        {".eval.json.lock", "hard links"});
    EXPECT_EQ(io::read_file(dir.file("victim")), "vic");
}

TEST(AtomicFile, TemporaryNamesCarryTheWritersPid) {
    EXPECT_EQ(io::temporary_name("a/b.json", 42), "a/b.json.tmp.42");
    EXPECT_EQ(io::temporary_pid("b.json.tmp.42"), 42);
    EXPECT_EQ(io::temporary_pid("a/b.json.tmp.42"), 42);
    EXPECT_EQ(io::temporary_pid("b.json"), -1);
    EXPECT_EQ(io::temporary_pid("b.tmp."), -1);
    EXPECT_EQ(io::temporary_pid("b.tmp.4x"), -1);
    EXPECT_EQ(io::temporary_pid(".tmp.42"), -1);
    EXPECT_EQ(io::temporary_pid("b.tmp.0"), -1);
    EXPECT_EQ(io::temporary_name("a/b.json", 42, "k3x9q0"), "a/b.json.k3x9q0.tmp.42");
    EXPECT_EQ(io::temporary_pid("b.json.k3x9q0.tmp.42"), 42);
    // AtomicPath uses such a name, with a random part, in the output's folder.
    TempDir dir;
    const io::AtomicPath p(dir.file("x.h5"));
    EXPECT_EQ(io::temporary_pid(p.tmp_name()), getpid());
    EXPECT_EQ(p.tmp_name().rfind(dir.file("x.h5."), 0), 0u) << p.tmp_name();
    EXPECT_TRUE(io::file_exists(p.tmp_name()));
}

} // namespace
} // namespace triseg::test
