// `triseg search` with the pagmo2 methods end to end: the same history on 1, 2 and 4 MPI ranks
// for a batch-evaluated method (gaco) and a one-at-a-time method (sga), and SIGTERM (the
// driver's test hook) + restart equals an uninterrupted run for each kind, mid-generation.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/h5_search_checkpoint.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/search_run.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

using json = nlohmann::json;

constexpr int kInterrupted = 130;
const std::string kSignalHook = "TRISEG_TEST_SIGNAL_AFTER_GENERATIONS";

/// Small budgets and populations: gaco asks batches of 6, sga a first batch of 5 and then one
/// candidate at a time; 27 episodes end gaco in the middle of a batch (a prefix tell).
std::string search_args(const std::string& run,
                        const std::string& out,
                        const std::string& method,
                        int episodes = 27) {
    return "search -r " + run + " -o " + out + " -q --episodes " + std::to_string(episodes) +
           " --method " + method +
           " --set search.reward_images=70 --set search.eval_images=50"
           " --set search.eval_every=6 --set search.checkpoint_every=2"
           " --set search.shard_images=16 --set gaco.population=6 --set gaco.ker=3"
           " --set sga.population=5";
}

class CliSearchPagmo : public ::testing::TestWithParam<std::string> {};

// The trajectory (pagmo's mt19937 included) depends on neither the rank count nor the threads.
TEST_P(CliSearchPagmo, SameHistoryAndResultOnOneTwoAndFourRanks) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string m = GetParam();
    auto r = triseg(search_args(run, dir.file("np1"), m));
    ASSERT_EQ(r.code, 0) << r.output;
    r = shell("mpirun -np 2 " + binary() + " " + search_args(run, dir.file("np2"), m));
    ASSERT_EQ(r.code, 0) << r.output;
    r = shell("mpirun -np 4 --oversubscribe " + binary() + " " +
              search_args(run, dir.file("np4"), m) + " --set runtime.threads=2");
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string h1 = io::read_file(dir.file("np1/history.jsonl"));
    EXPECT_EQ(episode_lines(h1), 27);
    EXPECT_EQ(h1, io::read_file(dir.file("np2/history.jsonl")));
    EXPECT_EQ(h1, io::read_file(dir.file("np4/history.jsonl")));
    const auto res1 = result_without_run_facts(dir.file("np1/result.json"));
    EXPECT_EQ(res1.at("method"), m);
    EXPECT_EQ(res1, result_without_run_facts(dir.file("np2/result.json")));
    EXPECT_EQ(res1, result_without_run_facts(dir.file("np4/result.json")));
    // Another seed is another trajectory.
    r = triseg(search_args(run, dir.file("seed1"), m) + " --set runtime.seed=1");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(h1, io::read_file(dir.file("seed1/history.jsonl")));
}

// SIGTERM after driver generation 4: sga has then scored its first population (5) and 3 of the
// 5 offspring of its first pagmo generation; gaco 4 batches of 6. Plain and under mpirun -np 2.
TEST_P(CliSearchPagmo, SigtermThenARestartEqualsAnUninterruptedRun) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string m = GetParam();
    ASSERT_EQ(triseg(search_args(run, dir.file("whole"), m)).code, 0);
    const std::string mpirun = m == "gaco" ? "mpirun -np 2 -x " : "";
    const auto r =
        shell(mpirun + kSignalHook + "=4 " + binary() + " " + search_args(run, dir.file("cut"), m));
    ASSERT_EQ(r.code, kInterrupted) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("cut/result.json")));
    EXPECT_EQ(episode_lines(io::read_file(dir.file("cut/history.jsonl"))), m == "gaco" ? 24 : 8);
    const auto again = shell((m == "gaco" ? "mpirun -np 2 " : "") + binary() + " " +
                             search_args(run, dir.file("cut"), m));
    ASSERT_EQ(again.code, 0) << again.output;
    EXPECT_EQ(io::read_file(dir.file("whole/history.jsonl")),
              io::read_file(dir.file("cut/history.jsonl")));
    EXPECT_EQ(result_without_run_facts(dir.file("whole/result.json")),
              result_without_run_facts(dir.file("cut/result.json")));
}

// --stop-after 3 twice, then to the end: three calls give the uninterrupted run's files.
TEST_P(CliSearchPagmo, StopAfterTwiceThenToTheEndEqualsAnUninterruptedRun) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string m = GetParam();
    ASSERT_EQ(triseg(search_args(run, dir.file("whole"), m)).code, 0);
    for (int i = 0; i < 2; ++i) {
        const auto r = triseg(search_args(run, dir.file("cut"), m) + " --stop-after 3");
        ASSERT_EQ(r.code, 0) << r.output;
    }
    ASSERT_EQ(triseg(search_args(run, dir.file("cut"), m)).code, 0);
    EXPECT_EQ(io::read_file(dir.file("whole/history.jsonl")),
              io::read_file(dir.file("cut/history.jsonl")));
}

INSTANTIATE_TEST_SUITE_P(Pagmo, CliSearchPagmo, ::testing::Values("gaco", "sga"));

// A damaged pagmo state in checkpoint.h5 (stored with valid checksums, as a crafted file is) is
// exit 3 naming the checkpoint and --force, never an internal error: the fitness log or the
// population of another seed's run (pagmo's replay then asks for other vectors), a cut log.
TEST(CliSearchPagmoCheckpoint, ADamagedPagmoStateIsExit3NamingTheCheckpointAndForce) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string out = dir.file("a");
    const std::string args = search_args(run, out, "sga");
    ASSERT_EQ(triseg(args + " --stop-after 2").code, 0);
    const std::string other_out = dir.file("b");
    ASSERT_EQ(
        triseg(search_args(run, other_out, "sga") + " --stop-after 2 --set runtime.seed=1").code,
        0);
    const std::string path = out + "/checkpoint.h5";
    const auto good = io::read_search_checkpoint(path);
    const auto other = io::read_search_checkpoint(other_out + "/checkpoint.h5");
    std::vector<io::SearchCheckpointFile> damaged(3, good);
    damaged[0].entries.at("pagmo/log") = other.entries.at("pagmo/log");
    damaged[1].entries.at("pagmo/boundary") = other.entries.at("pagmo/boundary");
    auto& log = damaged[2].entries.at("pagmo/log");
    log.resize(log.size() / 2);
    for (size_t i = 0; i < damaged.size(); ++i) {
        io::write_search_checkpoint(path, damaged[i]);
        const auto r = triseg(args);
        EXPECT_EQ(r.code, 3) << i << r.output;
        EXPECT_TRUE(contains(r.output, "'" + path + "'")) << i << r.output;
        EXPECT_TRUE(contains(r.output, "--force")) << i << r.output;
        EXPECT_FALSE(contains(r.output, "internal error")) << i << r.output;
    }
    io::write_search_checkpoint(path, good);
    const auto r = triseg(args);
    EXPECT_EQ(r.code, 0) << r.output;
}

// nsga2 writes the accuracy-coverage front (front.json); eval-codes measures one point of it,
// and every point with --all-points.
TEST(CliSearchPagmoFront, Nsga2WritesFrontJsonAndEvalCodesMeasuresAPoint) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string out = dir.file("nsga2");
    auto r = triseg(search_args(run, out, "nsga2", 24) +
                    " --set nsga2.population=8 --set nsga2.tmax_min=20 --set nsga2.tmax_max=40");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto front = json::parse(io::read_file(out + "/front.json"));
    EXPECT_EQ(front.at("method"), "nsga2");
    const auto& points = front.at("points");
    ASSERT_GE(points.size(), 1u);
    for (size_t i = 0; i < points.size(); ++i) {
        const auto& p = points[i];
        EXPECT_EQ(p.at("point"), i);
        EXPECT_GT(p.at("covered").get<double>(), 0.0);
        EXPECT_EQ(p.at("holdout").at("images"), 50);
        EXPECT_EQ(p.at("reward").at("images"), 70);
        ASSERT_EQ(p.at("layers").size(), p.at("tmax").size());
        for (const auto& t : p.at("tmax")) {
            EXPECT_GE(t.get<int>(), 20);
            EXPECT_LE(t.get<int>(), 40);
        }
        if (i > 0) { // sorted by KD loss; a lower KD costs coverage on a front
            EXPECT_LE(points[i - 1].at("kd_loss").get<double>(), p.at("kd_loss").get<double>());
            EXPECT_LE(points[i - 1].at("covered").get<double>(), p.at("covered").get<double>());
        }
    }
    const std::string last = std::to_string(points.size() - 1);
    r = triseg("eval-codes -r " + run + " --codes " + out + "/front.json --point " + last);
    ASSERT_EQ(r.code, 0) << r.output;
    const auto report =
        json::parse(io::read_file(run + "/codes/eval_front_point" + last + ".json"));
    EXPECT_EQ(report.at("point"), points.size() - 1);
    // --all-points: the whole front in one run, its last point exactly as --point gave it.
    r = triseg("eval-codes -r " + run + " --codes " + out + "/front.json --all-points");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto all = json::parse(io::read_file(out + "/eval_front_test.json"));
    EXPECT_EQ(all.at("method"), "nsga2");
    EXPECT_EQ(all.at("space"), "codes");
    ASSERT_EQ(all.at("points").size(), points.size());
    for (const char* key : {"covered", "coverage", "acc_student", "acc_drop", "kd_loss"}) {
        EXPECT_EQ(all.at("points").back().at(key), report.at(key)) << key;
    }
    // A front without --point, or a point it does not hold, is an input error that says so.
    r = triseg("eval-codes -r " + run + " --codes " + out + "/front.json");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_NE(r.output.find("choose one with --point"), std::string::npos) << r.output;
    r = triseg("eval-codes -r " + run + " --codes " + out + "/front.json --point 99");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_NE(r.output.find("got 99"), std::string::npos) << r.output;
}

} // namespace
} // namespace triseg::test
