// A run folder that other users can write into, with the real executable: links planted at
// every name triseg writes (outputs, the temporaries' old predictable names, lock files,
// history.jsonl, stage folders) never make it write or delete outside its outputs; --force
// deletes only what triseg wrote; a changed dataset or another model is never resumed or
// replayed silently.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/atomic_file.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/search_run.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

constexpr int kInput = 3;
constexpr int kIo = 4;
/// Predictable temporary names (`<out>.tmp.<pid>`) planted for this many pids after the last
/// one the kernel handed out: the processes a test starts next get pids among them.
constexpr int kPlantedPids = 400;

const std::string kSearch = " -q --episodes 6 --set search.episodes_per_generation=3"
                            " --set search.reward_images=40 --set search.eval_images=30"
                            " --set search.eval_every=3 --set search.shard_images=16";

/// A file outside the run folder that a planted link points to, and its bytes.
struct Victim {
    std::string path;
    std::string bytes = "the victim's precious bytes\n";

    explicit Victim(const TempDir& dir) : path(dir.file("victim.txt")) {
        std::ofstream(path) << bytes;
    }
    void expect_unchanged() const {
        EXPECT_EQ(io::read_file(path), bytes) << "a planted link made triseg write " << path;
    }
};

long last_pid() {
    return std::stol(io::read_file("/proc/sys/kernel/ns_last_pid"));
}

/// Links to the victim from the temporary names that `path` had in earlier versions, for the
/// next kPlantedPids pids, and (with `at_output`) from `path` itself. An output that is read
/// back as resumable state (checkpoint.h5, last.pt) gets only the former: a link there is read
/// like any other planted file and refused as damaged state.
void plant(const std::string& path, const Victim& victim, bool at_output = true) {
    if (at_output) {
        std::filesystem::create_symlink(victim.path, path);
    }
    const long from = last_pid() + 1;
    for (long pid = from; pid < from + kPlantedPids; ++pid) {
        std::filesystem::create_symlink(victim.path, io::temporary_name(path, pid));
    }
}

void expect_regular(const std::string& path) {
    EXPECT_TRUE(std::filesystem::is_regular_file(std::filesystem::symlink_status(path)))
        << path << " is not a regular file of triseg's own";
}

TEST(CliSharedFolder, PlantedLinksAtOutputsAndTemporariesAreNeverWrittenThrough) {
    TempDir dir;
    const Victim victim(dir);
    const std::string run = make_search_run(dir);
    const std::string out = run + "/search/s";
    io::ensure_directory(out);
    for (const char* f : {"result.json", "result_unconstrained.json", "config.yaml"}) {
        plant(out + "/" + f, victim);
    }
    plant(out + "/checkpoint.h5", victim, false);
    auto r = triseg("search -r '" + run + "' -o '" + out + "'" + kSearch);
    // The links at the outputs are replaced (rename replaces a link, never follows it); the
    // links at the old temporary names stay untouched.
    ASSERT_EQ(r.code, 0) << r.output;
    victim.expect_unchanged();
    for (const char* f : {"result.json", "result_unconstrained.json", "checkpoint.h5"}) {
        expect_regular(out + "/" + f);
    }

    // JSON written by eval-codes beside a result, HDF5 by dump-acts, JSON by replay.
    plant(out + "/eval_test.json", victim);
    io::ensure_directory(run + "/acts");
    plant(run + "/acts/acts_int8.h5", victim);
    r = triseg("eval-codes -r '" + run + "' --codes '" + out +
               "/result.json' --set data.test_limit=64");
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg("dump-acts -r '" + run + "' --images 16 --split test");
    ASSERT_EQ(r.code, 0) << r.output;
    victim.expect_unchanged();
    expect_regular(out + "/eval_test.json");
    expect_regular(run + "/acts/acts_int8.h5");
}

TEST(CliSharedFolder, PlantedLinksInTrainingAndReportFoldersAreNeverWrittenThrough) {
    TempDir dir;
    const Victim victim(dir);
    const std::string run = dir.file("run");
    io::ensure_directory(run + "/float");
    for (const char* f : {"last.pt", "model.pt", "metrics.jsonl", "metrics.json", "input.json"}) {
        plant(run + "/float/" + f, victim, false);
    }
    auto r = triseg("train-float -c configs/tiny.yaml -r '" + run +
                    "' -q --set train.epochs=1 --set data.train_limit=256"
                    " --set data.test_limit=100 --set data.val_size=0");
    ASSERT_EQ(r.code, 0) << r.output;
    victim.expect_unchanged();
    for (const char* f : {"last.pt", "model.pt", "metrics.jsonl", "metrics.json"}) {
        expect_regular(run + "/float/" + f);
    }
    // The report folder: a figure, the page and the rows.
    const std::string html = dir.file("report");
    io::ensure_directory(html);
    for (const char* f : {"index.html", "report.json", "training.svg", "training.png"}) {
        plant(html + "/" + f, victim);
    }
    r = triseg("report '" + run + "' --html '" + html + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    victim.expect_unchanged();
    expect_regular(html + "/index.html");
    // A report folder that is a link is refused.
    std::filesystem::create_directory_symlink(dir.path(), dir.file("report2"));
    r = triseg("report '" + run + "' --html '" + dir.file("report2") + "'");
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "symbolic link")) << r.output;
    victim.expect_unchanged();
}

TEST(CliSharedFolder, LinksAtLockFilesHistoryAndStageFoldersAreRefused) {
    TempDir dir;
    const Victim victim(dir);
    const std::string run = make_search_run(dir);

    // A folder lock planted as a link: refused before anything is written.
    io::ensure_directory(run + "/search/a");
    std::filesystem::create_symlink(victim.path, run + "/search/a/.lock");
    auto r = triseg("search -r '" + run + "' -o '" + run + "/search/a'" + kSearch);
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, ".lock' is a symbolic link")) << r.output;

    // A file lock planted as a link.
    io::ensure_directory(run + "/codes");
    std::filesystem::create_symlink(victim.path, run + "/codes/.eval_x.json.lock");
    r = triseg("eval-codes -r '" + run + "' --evenly-spaced -o '" + run +
               "/codes/eval_x.json' --set data.test_limit=64");
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, ".eval_x.json.lock' is a symbolic link")) << r.output;

    // history.jsonl planted as a link, for a fresh search and for a resume.
    io::ensure_directory(run + "/search/b");
    std::filesystem::create_symlink(victim.path, run + "/search/b/history.jsonl");
    r = triseg("search -r '" + run + "' -o '" + run + "/search/b'" + kSearch);
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "history.jsonl' is a symbolic link")) << r.output;
    r = triseg("search -r '" + run + "' -o '" + run + "/search/c' --stop-after 1" + kSearch);
    ASSERT_EQ(r.code, 0) << r.output;
    std::filesystem::remove(run + "/search/c/history.jsonl");
    std::filesystem::create_symlink(victim.path, run + "/search/c/history.jsonl");
    r = triseg("search -r '" + run + "' -o '" + run + "/search/c'" + kSearch);
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "history.jsonl' is a symbolic link")) << r.output;

    // The default search folder's parent, and a stage folder, planted as links.
    const std::string elsewhere = dir.file("elsewhere");
    io::ensure_directory(elsewhere);
    std::filesystem::rename(run + "/search", dir.file("old-search"));
    std::filesystem::create_directory_symlink(elsewhere, run + "/search");
    r = triseg("search -r '" + run + "'" + kSearch);
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "search' is a symbolic link")) << r.output;
    std::filesystem::remove(run + "/codes/.eval_x.json.lock");
    std::filesystem::remove(run + "/codes");
    std::filesystem::create_directory_symlink(elsewhere, run + "/codes");
    r = triseg("eval-codes -r '" + run + "' --evenly-spaced --set data.test_limit=64");
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(std::filesystem::is_empty(elsewhere)) << "wrote into a linked stage folder";
    victim.expect_unchanged();
}

TEST(CliSharedFolder, ForceDeletesOnlyWhatTrisegWrote) {
    TempDir dir;
    const Victim victim(dir);
    const std::string run = make_search_run(dir);
    const std::string out = run + "/search/s";
    auto r = triseg("search -r '" + run + "' -o '" + out + "' --stop-after 1" + kSearch);
    ASSERT_EQ(r.code, 0) << r.output;
    // Someone else's files in the output folder: --force refuses and deletes nothing.
    std::ofstream(out + "/notes.txt") << "mine";
    io::ensure_directory(out + "/plots");
    r = triseg("search -r '" + run + "' -o '" + out + "' --force" + kSearch);
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "--force deletes only the files triseg writes")) << r.output;
    EXPECT_TRUE(contains(r.output, "'notes.txt'")) << r.output;
    EXPECT_TRUE(contains(r.output, "'plots'")) << r.output;
    EXPECT_TRUE(io::file_exists(out + "/checkpoint.h5"));
    EXPECT_TRUE(io::file_exists(out + "/notes.txt"));
    // Once they are moved away, --force starts over and removes triseg's own files only.
    std::filesystem::remove(out + "/notes.txt");
    std::filesystem::remove(out + "/plots");
    r = triseg("search -r '" + run + "' -o '" + out + "' --force" + kSearch);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_FALSE(contains(r.output, "resuming from")) << r.output;
    // A training stage folder that is a link: --force never empties the target.
    const std::string target = dir.file("target");
    io::ensure_directory(target);
    std::ofstream(target + "/last.pt") << "not ours";
    std::filesystem::create_directory_symlink(target, dir.file("run2-float"));
    io::ensure_directory(dir.file("run2"));
    std::filesystem::rename(dir.file("run2-float"), dir.file("run2/float"));
    r = triseg("train-float -c configs/tiny.yaml -r '" + dir.file("run2") + "' --force -q");
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_EQ(io::read_file(target + "/last.pt"), "not ours");
    victim.expect_unchanged();
}

/// A copy of Fashion-MNIST's four files in `dir`/data; returns that folder.
std::string copy_dataset(const TempDir& dir) {
    const std::string data = dir.file("data");
    io::ensure_directory(data);
    for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
        std::filesystem::copy_file(std::string("/usr/share/datasets/fashion-mnist/") + f,
                                   data + "/" + f);
    }
    return data;
}

/// Changes one training label in place (a valid IDX file with other content).
void change_a_label(const std::string& data) {
    const std::string f = data + "/train-labels-idx1-ubyte.gz";
    const auto r = shell("gzip -dc '" + f + "' > '" + f + ".raw' && printf '\\011' | dd of='" + f +
                         ".raw' bs=1 seek=20 conv=notrunc 2>/dev/null && gzip -c '" + f +
                         ".raw' > '" + f + "' && rm '" + f + ".raw'");
    ASSERT_EQ(r.code, 0) << r.output;
}

TEST(CliSharedFolder, AChangedDatasetIsNeverResumed) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string data = copy_dataset(dir);
    const std::string opts = kSearch + " --set data.root='" + data + "'";
    auto r = triseg("search -r '" + run + "' -o '" + run + "/search/s' --stop-after 1" + opts);
    ASSERT_EQ(r.code, 0) << r.output;
    change_a_label(data);
    r = triseg("search -r '" + run + "' -o '" + run + "/search/s'" + opts);
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "the dataset file 'train-labels-idx1-ubyte.gz'")) << r.output;
    EXPECT_TRUE(contains(r.output, "--force")) << r.output;
}

TEST(CliSharedFolder, AChangedTrainingFileIsNamedOnResume) {
    TempDir dir;
    const std::string data = copy_dataset(dir);
    const std::string tiny = "-c configs/tiny.yaml -q --set train.epochs=2 --set "
                             "data.train_limit=256 --set data.test_limit=100 "
                             "--set data.val_size=0 --set data.root='" +
                             data + "'";
    auto r = triseg("train-float " + tiny + " -r '" + dir.file("run") + "' --stop-after 1");
    ASSERT_EQ(r.code, 0) << r.output;
    change_a_label(data);
    r = triseg("train-float " + tiny + " -r '" + dir.file("run") + "'");
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "train-labels-idx1-ubyte.gz")) << r.output;
    EXPECT_TRUE(contains(r.output, "--force")) << r.output;
}

TEST(CliSharedFolder, VerifyNamesEveryInputThatChangedSinceItWasRecorded) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string data = copy_dataset(dir);
    const std::string set_data = " --set data.root='" + data + "'";
    auto r = triseg("search -r '" + run + "'" + kSearch + set_data);
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg("dump-acts -r '" + run + "' --images 16" + set_data);
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg("verify -r '" + run + "'" + set_data);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "0 changed or damaged")) << r.output;
    EXPECT_FALSE(contains(r.output, "CHANGED")) << r.output;

    change_a_label(data);
    io::write_int8_model(random_int8_model(0.125, 4), run + "/int8/model.h5");
    r = triseg("verify -r '" + run + "' -q" + set_data);
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "CHANGED  search/ppo-seed0/checkpoint.h5: dataset file "
                                   "'train-labels-idx1-ubyte.gz'"))
        << r.output;
    EXPECT_TRUE(contains(r.output, "CHANGED  search/ppo-seed0/checkpoint.h5: int8/model.h5 is not"))
        << r.output;
    EXPECT_TRUE(contains(r.output, "CHANGED  acts/acts_int8.h5:")) << r.output;
}

TEST(CliSharedFolder, ReplayRefusesAnotherModelAndTheDumpNamesItsModelAbsolutely) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    // Run from the temp folder with a relative run folder: the dump still names the model
    // absolutely.
    auto r = shell("cd '" + dir.path().string() + "' && " + binary() +
                   " dump-acts -r run --images 16 --split test");
    ASSERT_EQ(r.code, 0) << r.output;
    r = shell("h5dump -a /model '" + run + "/acts/acts_int8.h5'");
    EXPECT_TRUE(contains(r.output, "\"" + run + "/int8/model.h5\"")) << r.output;
    r = triseg("replay --acts '" + run + "/acts/acts_int8.h5'");
    ASSERT_EQ(r.code, 0) << r.output;
    // Another model with the same quantization parameters: refused, not reported as a drop.
    const std::string other = dir.file("other.h5");
    auto model = random_int8_model(0.125, 3);
    model.classifier.bias[0] += 1000;
    io::write_int8_model(model, other);
    r = triseg("replay --acts '" + run + "/acts/acts_int8.h5' --model-file '" + other + "'");
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "was made with another model")) << r.output;
}

} // namespace
} // namespace triseg::test
