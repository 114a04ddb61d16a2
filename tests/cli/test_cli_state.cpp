// Run-folder state across processes, with the real executable: one writer per stage output
// (a second process is refused, a SIGKILLed holder releases the lock), resume by the model's
// content rather than its path, stale temporaries of killed runs, torn history lines.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/config/config.h"
#include "io/atomic_file.h"
#include "io/h5_int8_model.h"
#include "io/jsonl_reader.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/search_run.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

using json = nlohmann::json;

constexpr int kUsage = 2;
constexpr int kIo = 4;

/// Small budgets: generations of 3 episodes, held-out rounds every 6 episodes.
std::string search_options(int episodes) {
    return " --episodes " + std::to_string(episodes) +
           " --set search.episodes_per_generation=3"
           " --set search.reward_images=70 --set search.eval_images=50"
           " --set search.eval_every=6 --set search.checkpoint_every=2"
           " --set search.shard_images=16";
}

/// Starts the simple command `command` in the background (output to `log`) and returns its
/// pid (the shell's child execs it, so $! is the command's own pid).
pid_t start_background(const std::string& command, const std::string& log, const TempDir& dir) {
    const std::string pid_file = dir.file("bg.pid");
    std::filesystem::remove(pid_file);
    const auto r =
        shell(command + " > '" + log + "' 2>&1 < /dev/null & echo $! > '" + pid_file + "'");
    EXPECT_EQ(r.code, 0) << r.output;
    return static_cast<pid_t>(std::stol(io::read_file(pid_file)));
}

/// Waits up to `seconds` for `ready`; false on timeout.
template <typename F> bool wait_for(F ready, double seconds = 180) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        if (ready()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

/// True once `pid` has ended (gone, or a zombie nobody has reaped yet).
bool ended(pid_t pid) {
    if (kill(pid, 0) != 0) {
        return true;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

void kill_and_wait(pid_t pid) {
    kill(pid, SIGKILL);
    EXPECT_TRUE(wait_for([&] { return ended(pid); }, 30)) << "pid " << pid << " did not end";
}

int64_t lines(const std::string& path) {
    if (!io::file_exists(path)) {
        return 0;
    }
    return io::read_jsonl(path).records.size();
}

TEST(CliState, ASecondSearchIntoTheSameFolderIsRefusedAndAKilledOneReleasesIt) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string out = dir.file("out");
    const std::string first =
        binary() + " search -r " + run + " -o " + out + " -q" + search_options(1000000);
    const pid_t holder = start_background(first, dir.file("first.log"), dir);
    ASSERT_TRUE(wait_for([&] {
        return io::file_exists(out + "/checkpoint.h5") && lines(out + "/history.jsonl") >= 6;
    })) << io::read_file(dir.file("first.log"));
    const std::string config_before = io::read_file(out + "/config.yaml");

    // Another setting, same folder: exit 4 naming the folder and the holder; nothing touched.
    auto r = triseg("search -r " + run + " -o " + out + " -q" + search_options(16) +
                    " --set ppo.lr=0.01");
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "'" + out + "' is in use by")) << r.output;
    EXPECT_TRUE(contains(r.output, "pid " + std::to_string(holder))) << r.output;
    EXPECT_TRUE(contains(r.output, "triseg search")) << r.output;
    EXPECT_EQ(io::read_file(out + "/config.yaml"), config_before);
    // Under MPI rank 0 sees it, and every rank ends with the same code.
    r = shell("mpirun -np 2 " + binary() + " search -r " + run + " -o " + out + " -q" +
              search_options(16));
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "is in use by")) << r.output;
    EXPECT_FALSE(ended(holder));

    // The holder's history is whole lines only (each record is one write).
    EXPECT_EQ(io::read_jsonl(out + "/history.jsonl").torn_bytes, 0u);

    // SIGKILL: the kernel releases the lock, and the same command resumes from the checkpoint.
    kill_and_wait(holder);
    r = triseg("search -r " + run + " -o " + out + search_options(1000000) + " --stop-after 2");
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "resuming from")) << r.output;
    EXPECT_EQ(io::read_jsonl(out + "/history.jsonl").torn_bytes, 0u);
}

TEST(CliState, ASecondTrainFloatIntoTheSameRunIsRefused) {
    TempDir dir;
    const std::string run = dir.file("run");
    const std::string tiny = "-c configs/tiny.yaml --set data.train_limit=256 "
                             "--set data.test_limit=100 --set data.val_size=0 -q -r " +
                             run;
    const pid_t holder = start_background(
        binary() + " train-float " + tiny + " --set train.epochs=1000", dir.file("first.log"), dir);
    const std::string lock = run + "/float/.lock";
    ASSERT_TRUE(wait_for([&] {
        return io::file_exists(lock) && contains(io::read_file(lock), "\"pid\"");
    })) << io::read_file(dir.file("first.log"));
    auto r = triseg("train-float " + tiny + " --set train.epochs=1000 --set train.lr=0.5");
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "'" + run + "/float' is in use by")) << r.output;
    EXPECT_TRUE(contains(r.output, "train-float")) << r.output;
    EXPECT_TRUE(contains(r.output, "pid " + std::to_string(holder))) << r.output;
    // --force must not get past a live holder either.
    r = triseg("train-float " + tiny + " --set train.epochs=1000 --force");
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_FALSE(ended(holder));
    kill_and_wait(holder);
    r = triseg("train-float " + tiny + " --set train.epochs=1000 --stop-after 1");
    EXPECT_EQ(r.code, 0) << r.output;
}

TEST(CliState, ResumeKnowsTheModelByItsContentNotItsPath) {
    TempDir dir;
    make_search_run(dir);
    const std::string opts = search_options(12);
    // Interrupted in a relative spelling of the run folder.
    auto r = shell("cd '" + dir.path().string() + "' && " + binary() +
                   " search -r run -o run/search/s -q --stop-after 1" + opts);
    ASSERT_EQ(r.code, 0) << r.output;
    ASSERT_TRUE(io::file_exists(dir.file("run/search/s/checkpoint.h5")));
    ASSERT_EQ(shell("cp -a '" + dir.file("run") + "' '" + dir.file("copy") + "' && cp -a '" +
                    dir.file("run") + "' '" + dir.file("other") + "'")
                  .code,
              0);

    // The same folder spelled absolutely resumes.
    r = triseg("search -r " + dir.file("run") + " -o " + dir.file("run/search/s") + opts);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "resuming from")) << r.output;
    // So does a copy of the run folder.
    r = triseg("search -r " + dir.file("copy") + " -o " + dir.file("copy/search/s") + opts);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "resuming from")) << r.output;
    EXPECT_EQ(io::read_file(dir.file("run/search/s/history.jsonl")),
              io::read_file(dir.file("copy/search/s/history.jsonl")));

    // Another model of the same architecture under the same name is refused.
    io::write_int8_model(random_int8_model(0.125, 4), dir.file("other/int8/model.h5"));
    r = triseg("search -r " + dir.file("other") + " -o " + dir.file("other/search/s") + opts);
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "another config")) << r.output;
    EXPECT_TRUE(contains(r.output, "integer model file sha256")) << r.output;
}

TEST(CliState, AnotherMethodsSectionMayChangeOnResumeTheActiveOnesMayNot) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string out = " -o '" + dir.file("s") + "'";
    const std::string opts = search_options(12);
    auto r = triseg("search -r '" + run + "'" + out + " -q --stop-after 1" + opts);
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg("search -r '" + run + "'" + out + " --stop-after 1 --set cmaes.sigma0=0.25" + opts);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "resuming from")) << r.output;
    r = triseg("search -r '" + run + "'" + out + " --set ppo.lr=0.001" + opts);
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "another config")) << r.output;
}

TEST(CliState, TrainQatKnowsItsFloatModelByContent) {
    TempDir dir;
    const std::string run = dir.file("run");
    const std::string tiny = "-c configs/tiny.yaml --set train.epochs=1 --set data.train_limit=256 "
                             "--set data.test_limit=100 --set data.val_size=0 -q";
    const std::string qat = " --set qat.epochs=1 --set qat.calibration_batches=2 -q";
    ASSERT_EQ(triseg("train-float " + tiny + " -r " + run).code, 0);
    auto r = triseg("train-qat -r " + run + qat);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(io::read_file(run + "/qat/input.json"), "float/model.pt"));
    // A copy of the run folder is the same run.
    ASSERT_EQ(shell("cp -a '" + run + "' '" + dir.file("copy") + "'").code, 0);
    r = triseg("train-qat -r " + dir.file("copy") + qat);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "already trained")) << r.output;
    // Another float model under the same name: the QAT made from the old one is refused.
    std::filesystem::copy_file(run + "/float/last.pt", run + "/float/model.pt",
                               std::filesystem::copy_options::overwrite_existing);
    r = triseg("train-qat -r " + run + qat);
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "was trained from another float/model.pt")) << r.output;
    EXPECT_TRUE(contains(r.output, "--force")) << r.output;
}

TEST(CliState, AStageRemovesTheTemporariesOfDeadProcessesOnly) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string out = dir.file("out");
    io::ensure_directory(out);
    const std::string dead = out + "/checkpoint.h5.tmp." + std::to_string(dead_pid());
    const std::string live = out + "/result.json.tmp." + std::to_string(getpid());
    write_plain(dead, Bytes(1000, 7));
    write_plain(live, Bytes(10, 7));
    const auto r =
        triseg("search -r " + run + " -o " + out + " -q --stop-after 1" + search_options(12));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dead));
    EXPECT_TRUE(contains(r.output, "note: removed '" + dead + "'")) << r.output;
    EXPECT_TRUE(io::file_exists(live)); // its writer (this test) is alive

    // A file output (here eval-codes' report) cleans its own temporaries too.
    const std::string codes = dir.file("run/codes");
    io::ensure_directory(codes);
    const std::string dead_json = codes + "/eval_x.json.tmp." + std::to_string(dead_pid());
    write_plain(dead_json, Bytes(10, 7));
    const auto e = triseg("eval-codes -r " + run + " --evenly-spaced -o " + codes +
                          "/eval_x.json --set data.test_limit=64");
    ASSERT_EQ(e.code, 0) << e.output;
    EXPECT_FALSE(std::filesystem::exists(dead_json));
}

TEST(CliState, ATornLastHistoryLineIsSkippedByReportAndCutByResume) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string whole = run + "/search/whole";
    auto r = triseg("search -r " + run + " -o " + whole + " -q" + search_options(12));
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string out = run + "/search/ppo-cut";
    r = triseg("search -r " + run + " -o " + out + " -q --stop-after 2" + search_options(12));
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string history = out + "/history.jsonl";
    const auto before = io::read_jsonl(history);
    ASSERT_EQ(before.torn_bytes, 0u);
    const std::string torn = "{\"type\":\"episode\",\"episode\":6,\"gen";
    std::ofstream(history, std::ios::app) << torn;

    r = triseg("report " + run + " --json " + dir.file("report.json"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "note: skipped the last " + std::to_string(torn.size()) +
                                       " bytes of " + history))
        << r.output;
    EXPECT_TRUE(contains(r.output, "ppo-cut")) << r.output;
    const auto j = json::parse(io::read_file(dir.file("report.json")));
    ASSERT_EQ(j.at("unfinished").size(), 1u);
    EXPECT_EQ(j.at("unfinished")[0].at("search"), "ppo-cut");
    EXPECT_EQ(j.at("unfinished")[0].at("episodes"), 6);
    EXPECT_EQ(j.at("searches").size(), 1u); // whole

    r = triseg("search -r " + run + " -o " + out + " -q" + search_options(12));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(io::read_jsonl(history).torn_bytes, 0u);
    EXPECT_EQ(io::read_file(history), io::read_file(whole + "/history.jsonl"));
}

} // namespace
} // namespace triseg::test
