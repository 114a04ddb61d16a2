// `triseg search` end to end on a small random integer model and the real dataset: errors,
// the same history on 1, 2 and 4 MPI ranks, SIGTERM (raised at a known generation by the
// driver's test hook) + restart, also under mpirun, and a failure on one rank.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/config/config.h"
#include "common/option_checks.h"
#include "io/atomic_file.h"
#include "io/h5_int8_model.h"
#include "io/result_file.h"
#include "search/registry.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/search_run.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

using json = nlohmann::json;

constexpr int kUsage = 2;
constexpr int kIo = 4;
constexpr int kInterrupted = 130;

/// Occurrences of `needle` in `text`.
int count(const std::string& text, const std::string& needle) {
    int n = 0;
    for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) {
        ++n;
    }
    return n;
}

/// Small budgets: 16 episodes in generations of 3, held-out rounds every 6 episodes.
std::string search_args(const std::string& run, const std::string& out, int episodes = 16) {
    return "search -r " + run + " -o " + out + " -q --episodes " + std::to_string(episodes) +
           " --set search.episodes_per_generation=3"
           " --set search.reward_images=70 --set search.eval_images=50"
           " --set search.eval_every=6 --set search.checkpoint_every=2"
           " --set search.shard_images=16";
}

TEST(CliSearch, HelpAndClearErrors) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg("search --help");
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(contains(r.output, "result.json")) << r.output;
    EXPECT_TRUE(contains(r.output, "mpirun")) << r.output;
    for (const auto& entry : search::methods()) { // --help lists every registered method
        EXPECT_TRUE(contains(r.output, "  " + entry.name + " ")) << entry.name << r.output;
        EXPECT_TRUE(contains(r.output, entry.summary)) << entry.name << r.output;
    }
    r = triseg("search -r " + run + " --method no-such-method");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, triseg::detail::join(search::algorithm_names()) +
                                       "; got 'no-such-method'"))
        << r.output;
    r = triseg("search -r " + run + " --model " + dir.file("none.h5"));
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "export-int8")) << r.output;
    r = triseg("search -r " + run + " --set search.reward_images=1990");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "search.eval_images")) << r.output;
    EXPECT_TRUE(contains(r.output, "which has 2000")) << r.output;
    r = triseg("search -r " + run + " --resume -o " + dir.file("fresh"));
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "no checkpoint")) << r.output;
    r = triseg("search -r " + run + " --cluster grid");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "auto, local, mpi")) << r.output;
}

// The trajectory depends on neither the rank count, nor the thread counts (OpenMP, BLAS,
// LibTorch), nor the CPU affinity or the launcher (docs/search.md, Determinism). The PPO
// update records are in the history, and 16 episodes of 13 layers give 4 updates.
TEST(CliSearch, SameHistoryAndResultOnOneTwoAndFourRanks) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg(search_args(run, dir.file("np1")));
    ASSERT_EQ(r.code, 0) << r.output;
    // Rank 0's time by part (docs/search.md, "Where the time goes"), also with -q.
    EXPECT_TRUE(contains(r.output, "search loop: 16 episodes in ")) << r.output;
    EXPECT_TRUE(contains(r.output, "ms per episode: evaluate ")) << r.output;
    // One BLAS and OpenMP thread (as mpirun's per-core binding gives), 2 LibTorch and
    // evaluator threads.
    r = shell("OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 " + binary() + " " +
              search_args(run, dir.file("threads")) + " --set runtime.threads=2");
    ASSERT_EQ(r.code, 0) << r.output;
    r = shell("mpirun -np 2 " + binary() + " " + search_args(run, dir.file("np2")));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(count(r.output, "search loop: 16 episodes in "), 1) << r.output; // rank 0 only
    r = shell("mpirun -np 4 --oversubscribe " + binary() + " " + search_args(run, dir.file("np4")));
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string h1 = io::read_file(dir.file("np1/history.jsonl"));
    EXPECT_GT(h1.size(), 1000u);
    EXPECT_TRUE(contains(h1, "\"type\":\"update\"")) << h1;
    EXPECT_EQ(h1, io::read_file(dir.file("threads/history.jsonl")));
    EXPECT_EQ(h1, io::read_file(dir.file("np2/history.jsonl")));
    EXPECT_EQ(h1, io::read_file(dir.file("np4/history.jsonl")));
    const auto res1 = result_without_run_facts(dir.file("np1/result.json"));
    EXPECT_EQ(res1, result_without_run_facts(dir.file("threads/result.json")));
    EXPECT_EQ(res1, result_without_run_facts(dir.file("np2/result.json")));
    EXPECT_EQ(res1, result_without_run_facts(dir.file("np4/result.json")));
    EXPECT_EQ(json::parse(io::read_file(dir.file("np4/result.json"))).at("ranks"), 4);
    EXPECT_EQ(res1.at("evaluations"), 16);
    // Random search goes through the same machinery.
    r = shell("mpirun -np 2 " + binary() + " " + search_args(run, dir.file("rnd")) +
              " --method random");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(json::parse(io::read_file(dir.file("rnd/result.json"))).at("method"), "random");
}

/// The test hook of search/driver/search_driver.cpp (docs/development.md): a real SIGTERM raised by
/// the driver itself after this many generations, so the interruption point is known.
const std::string kSignalHook = "TRISEG_TEST_SIGNAL_AFTER_GENERATIONS";
/// Generations before the hook's SIGTERM, of the 20 of a 60-episode search.
constexpr int kSignalAfter = 5;

/// Lines of `text` that hold an episode record.
TEST(CliSearch, SigtermThenAPlainRestartEqualsAnUninterruptedRun) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    ASSERT_EQ(triseg(search_args(run, dir.file("whole"), 60)).code, 0);
    // SIGTERM after generation 5 (of 20): a checkpoint and exit code 130, every time.
    const std::string hook = kSignalHook + "=" + std::to_string(kSignalAfter) + " ";
    const auto r = shell(hook + binary() + " " + search_args(run, dir.file("cut"), 60));
    ASSERT_EQ(r.code, kInterrupted) << r.output;
    EXPECT_TRUE(contains(r.output, "SIGTERM")) << r.output;
    EXPECT_TRUE(std::filesystem::exists(dir.file("cut/checkpoint.h5")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("cut/result.json")));
    const std::string hist = dir.file("cut/history.jsonl");
    EXPECT_EQ(episode_lines(io::read_file(hist)), 3 * kSignalAfter);
    const auto again = triseg(search_args(run, dir.file("cut"), 60));
    ASSERT_EQ(again.code, 0) << again.output;
    // The timing covers this call's generations only.
    EXPECT_TRUE(contains(again.output, "search loop: 45 episodes in ")) << again.output;
    EXPECT_EQ(io::read_file(dir.file("whole/history.jsonl")), io::read_file(hist));
    EXPECT_EQ(result_without_run_facts(dir.file("whole/result.json")),
              result_without_run_facts(dir.file("cut/result.json")));
    // A changed config is refused; --force starts over.
    auto changed = triseg(search_args(run, dir.file("cut"), 60) + " --set ppo.lr=0.01");
    EXPECT_EQ(changed.code, kUsage) << changed.output;
    EXPECT_TRUE(contains(changed.output, "another config")) << changed.output;
    changed = triseg(search_args(run, dir.file("cut"), 60) + " --set ppo.lr=0.01 --force");
    EXPECT_EQ(changed.code, 0) << changed.output;
}

// The same under mpirun -np 2: rank 0 gets the signal, checkpoints and stops the other rank;
// both exit 130, and a plain mpirun restart ends with the uninterrupted run's files. (Random
// search: its trajectory has no float arithmetic, so the plain run is the reference here.)
TEST(CliSearch, SigtermUnderMpirunThenARestartEqualsAnUninterruptedRun) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string random = " --method random";
    ASSERT_EQ(triseg(search_args(run, dir.file("whole"), 60) + random).code, 0);
    const auto r = shell("mpirun -np 2 -x " + kSignalHook + "=" + std::to_string(kSignalAfter) +
                         " " + binary() + " " + search_args(run, dir.file("cut"), 60) + random);
    ASSERT_EQ(r.code, kInterrupted) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("cut/result.json")));
    EXPECT_EQ(episode_lines(io::read_file(dir.file("cut/history.jsonl"))), 3 * kSignalAfter);
    const auto again =
        shell("mpirun -np 2 " + binary() + " " + search_args(run, dir.file("cut"), 60) + random);
    ASSERT_EQ(again.code, 0) << again.output;
    EXPECT_EQ(io::read_file(dir.file("whole/history.jsonl")),
              io::read_file(dir.file("cut/history.jsonl")));
    EXPECT_EQ(result_without_run_facts(dir.file("whole/result.json")),
              result_without_run_facts(dir.file("cut/result.json")));
}

// A time budget too short to score anything (1e-6 s, spent before the first generation) still
// scores one generation and writes its result; search --help says so.
TEST(CliSearch, ATimeBudgetTooShortForAnythingGivesTheFirstGenerationsResult) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string out = dir.file("tiny-budget");
    const auto r = triseg(search_args(run, out, 0) + " --set search.max_seconds=1e-6");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(episode_lines(io::read_file(out + "/history.jsonl")), 3); // one generation
    const auto result = json::parse(io::read_file(out + "/result.json"));
    EXPECT_EQ(result.at("episodes"), 3) << result.dump();
    EXPECT_TRUE(contains(triseg("search --help").output, "search.max_seconds too short"));
}

TEST(CliSearch, ABadSignalHookValueIsAConfigError) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const auto r =
        shell(kSignalHook + "=soon " + binary() + " " + search_args(run, dir.file("out"), 6));
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, kSignalHook)) << r.output;
    EXPECT_TRUE(contains(r.output, "'soon'")) << r.output;
}

/// The start-up hook of cli/cmd_search.cpp: every rank raises the signal after loading the
/// model, data and teacher logits, before the search loop polls (docs/development.md).
const std::string kStartupHook = "TRISEG_TEST_SIGNAL_DURING_STARTUP";

// SLURM's USR1 or SIGTERM may arrive while a search is still starting. Before, the default
// action killed it (exit 143, job FAILED, no requeue); now it is a clean exit 130 and the same
// command then runs the whole search.
TEST(CliSearch, ASignalDuringStartUpIsACleanExit130) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    for (const std::string sig : {"TERM", "USR1"}) {
        const auto r = shell(kStartupHook + "=" + sig + " " + binary() + " " +
                             search_args(run, dir.file("early"), 6));
        EXPECT_EQ(r.code, kInterrupted) << sig << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "interrupted by SIG" + sig)) << r.output;
        EXPECT_FALSE(std::filesystem::exists(dir.file("early/result.json")));
    }
    // Under mpirun -np 2 every rank gets it (as srun delivers a signal to every task).
    const auto r = shell("mpirun -np 2 -x " + kStartupHook + "=USR1 " + binary() + " " +
                         search_args(run, dir.file("early"), 6));
    EXPECT_NE(r.code, 0) << r.output; // mpirun's own code; the ranks' is 130
    EXPECT_TRUE(contains(r.output, "interrupted by SIGUSR1")) << r.output;
    EXPECT_FALSE(contains(r.output, "Segmentation")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("early/result.json")));
    const auto again = triseg(search_args(run, dir.file("early"), 6));
    ASSERT_EQ(again.code, 0) << again.output;
    ASSERT_EQ(triseg(search_args(run, dir.file("whole"), 6)).code, 0);
    EXPECT_EQ(io::read_file(dir.file("whole/history.jsonl")),
              io::read_file(dir.file("early/history.jsonl")));
    const auto bad =
        shell(kStartupHook + "=KILL " + binary() + " " + search_args(run, dir.file("bad"), 6));
    EXPECT_EQ(bad.code, kUsage) << bad.output;
    EXPECT_TRUE(contains(bad.output, kStartupHook)) << bad.output;
}

// eval-codes of a search's result.json writes eval_<split>.json into that search's folder by
// default: the seeds of a sweep no longer overwrite one codes/eval_result.json, and report's
// test column finds each one.
TEST(CliSearch, EvalCodesOfASearchResultWritesIntoItsOwnFolder) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    for (const int seed : {1, 2}) {
        const auto r = triseg("search -r " + run + " -q --method random --episodes 6" +
                              " --set search.reward_images=40 --set search.eval_images=40" +
                              " --set runtime.seed=" + std::to_string(seed));
        ASSERT_EQ(r.code, 0) << r.output;
        const std::string folder = run + "/search/random-seed" + std::to_string(seed);
        const auto e = triseg("eval-codes -r " + run + " --codes " + folder + "/result.json");
        ASSERT_EQ(e.code, 0) << e.output;
        const auto j = json::parse(io::read_file(folder + "/eval_test.json"));
        EXPECT_EQ(j.at("codes_source"), folder + "/result.json");
    }
    EXPECT_FALSE(std::filesystem::exists(run + "/codes/eval_result.json"));
    EXPECT_NE(io::read_file(run + "/search/random-seed1/eval_test.json"),
              io::read_file(run + "/search/random-seed2/eval_test.json"));
    const auto r = triseg("report " + run + " --json " + dir.file("report.json"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(
        json::parse(io::read_file(dir.file("report.json"))).at("methods")[0].at("test_drop").size(),
        2u);
    // Other codes files keep <run-dir>/codes/eval_<name>.json.
    const std::string folder = run + "/search/random-seed1";
    const auto e =
        triseg("eval-codes -r " + run + " --codes " + folder + "/result_unconstrained.json");
    ASSERT_EQ(e.code, 0) << e.output;
    EXPECT_TRUE(std::filesystem::exists(run + "/codes/eval_result_unconstrained.json"));
}

// eval-codes --all-points measures every point of a front in one run (the teacher once); each
// point's numbers are exactly those `--point N` writes for it.
TEST(CliSearch, EvalCodesAllPointsGivesEachPointExactlyAsPointNDoes) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const auto names = layer_names(random_int8_model(0.125, 3)); // make_search_run's model
    const std::string folder = run + "/search/lloyd-seed5";
    io::ensure_directory(folder);
    json points = json::array();
    for (const int tmax : {16, 40, 96}) {
        io::ResultFile r;
        r.layer_names = names;
        for (size_t l = 0; l < names.size(); ++l) { // a different tmax in every other layer
            r.codes.layers.push_back(engine::evenly_spaced_codes(l % 2 == 0 ? tmax : tmax + 8));
        }
        points.push_back({{"point", points.size()},
                          {"layers", json::parse(io::result_json(r)).at("layers")},
                          {"covered", 0.5}});
    }
    const std::string front = folder + "/front.json";
    io::write_file_atomic(
        front,
        json{{"method", "lloyd"}, {"seed", 5}, {"space", "allocation"}, {"points", points}}.dump(
            2));
    auto r = triseg("eval-codes -r " + run + " --codes " + front + " --all-points");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "[3/3] point 2  tmax 96-104  covered ")) << r.output;
    const auto all = json::parse(io::read_file(folder + "/eval_front_test.json"));
    EXPECT_EQ(all.at("codes_source"), front);
    EXPECT_EQ(all.at("model"), run + "/int8/model.h5");
    EXPECT_EQ(all.at("method"), "lloyd");
    EXPECT_EQ(all.at("seed"), 5);
    EXPECT_EQ(all.at("space"), "allocation");
    EXPECT_EQ(all.at("images"), 500);
    ASSERT_EQ(all.at("points").size(), 3u);
    double last_covered = 0.0;
    for (int i = 0; i < 3; ++i) {
        const std::string one = dir.file("point" + std::to_string(i) + ".json");
        r = triseg("eval-codes -r " + run + " --codes " + front + " --point " + std::to_string(i) +
                   " -o " + one);
        ASSERT_EQ(r.code, 0) << r.output;
        const auto alone = json::parse(io::read_file(one));
        const auto& p = all.at("points")[static_cast<size_t>(i)];
        EXPECT_EQ(p.at("point"), i);
        EXPECT_EQ(all.at("split"), alone.at("split"));
        EXPECT_EQ(all.at("acc_teacher"), alone.at("acc_teacher")) << i;
        for (const char* key :
             {"covered", "coverage", "acc_student", "acc_drop", "kd_loss", "agreement"}) {
            EXPECT_EQ(p.at(key), alone.at(key)) << i << " " << key; // exactly
        }
        ASSERT_EQ(p.at("tmax").size(), names.size());
        EXPECT_EQ(p.at("tmax")[1], alone.at("layers").at(names[1]).at("tmax_code"));
        EXPECT_GT(p.at("covered").get<double>(), last_covered) << i; // a larger tmax covers more
        last_covered = p.at("covered").get<double>();
    }
    // --out, and the errors: with --point, on a result.json, a front without points or with a
    // point without layers.
    r = triseg("eval-codes -r " + run + " --codes " + front + " --all-points -o " +
               dir.file("mine.json"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(json::parse(io::read_file(dir.file("mine.json"))).at("points"), all.at("points"));
    r = triseg("eval-codes -r " + run + " --codes " + front + " --all-points --point 1");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "--all-points and --point exclude each other")) << r.output;
    r = triseg("eval-codes -r " + run + " --evenly-spaced --all-points");
    EXPECT_EQ(r.code, kUsage) << r.output;
    const std::string result = folder + "/result.json";
    io::ResultFile one;
    one.layer_names = names;
    one.codes.layers.assign(names.size(), engine::evenly_spaced_codes(32));
    io::write_result_file(one, result);
    r = triseg("eval-codes -r " + run + " --codes " + result + " --all-points");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "'" + result + "'") &&
                contains(r.output, "evaluate it without --all-points"))
        << r.output;
    const std::string empty = dir.file("empty/front.json");
    io::ensure_directory(dir.file("empty"));
    io::write_file_atomic(empty, R"({"method": "nsga2", "points": []})");
    r = triseg("eval-codes -r " + run + " --codes " + empty + " --all-points");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "'" + empty + "' is a front without points")) << r.output;
    points[1].erase("layers");
    io::write_file_atomic(empty, json{{"points", points}}.dump());
    r = triseg("eval-codes -r " + run + " --codes " + empty + " --all-points");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "'" + empty + "' point '1' has no \"layers\" object"))
        << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("empty/eval_front_test.json")));
}

TEST(CliSearch, ReportListsEverySearchAndTheSpreadOverSeeds) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    for (int seed : {1, 2}) {
        const auto r = triseg("search -r " + run + " -q --method random --episodes 6" +
                              " --set search.reward_images=40 --set search.eval_images=40" +
                              " --set runtime.seed=" + std::to_string(seed));
        ASSERT_EQ(r.code, 0) << r.output;
    }
    const auto r = triseg("report " + run + " --json " + dir.file("report.json"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "random-seed1")) << r.output;
    EXPECT_TRUE(contains(r.output, "random-seed2")) << r.output;
    EXPECT_TRUE(contains(r.output, "random             2 ")) << r.output; // method, seeds
    const auto j = json::parse(io::read_file(dir.file("report.json")));
    EXPECT_EQ(j.at("searches").size(), 2u);
    EXPECT_EQ(j.at("runs").size(), 1u);
    ASSERT_EQ(j.at("methods").size(), 1u);
    EXPECT_EQ(j.at("methods")[0].at("method"), "random");
    EXPECT_EQ(j.at("methods")[0].at("holdout_drop").size(), 2u);
    EXPECT_TRUE(j.at("methods")[0].at("test_drop").empty()); // no eval_test.json yet
}

// scripts/compare-methods: methods x seeds on one run, each result measured on the test set,
// one table; a second call finds everything done and only prints the table again.
TEST(CliSearch, CompareMethodsRunsEveryMethodAndSeedAndMeasuresItOnTheTestSet) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string cmd = "TRISEG_BIN=" + binary() + " scripts/compare-methods " + run +
                            " --methods random,ppo --seeds 1-2 --np 2" +
                            " --set search.episodes=8 --set search.reward_images=40" +
                            " --set search.eval_images=40 --set search.eval_every=4";
    const auto r = shell(cmd);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "[4/4] ppo seed 2")) << r.output;
    const auto j = json::parse(io::read_file(run + "/compare.json"));
    ASSERT_EQ(j.at("methods").size(), 2u);
    for (const auto& m : j.at("methods")) {
        EXPECT_EQ(m.at("searches"), 2) << m.dump();
        EXPECT_EQ(m.at("test_drop").size(), 2u) << m.dump();
        EXPECT_EQ(m.at("test_kd_loss").size(), 2u) << m.dump();
    }
    for (const std::string name : {"random-seed1", "random-seed2", "ppo-seed1", "ppo-seed2"}) {
        const auto test = json::parse(io::read_file(run + "/search/" + name + "/eval_test.json"));
        EXPECT_EQ(test.at("images"), 500) << name; // the whole test split of the tiny run
    }
    EXPECT_TRUE(std::filesystem::exists(run + "/codes/eval_evenly-spaced.json"));
    EXPECT_TRUE(contains(r.output, "= evenly-spaced")) << r.output; // the reference line
    const auto again = shell(cmd);
    ASSERT_EQ(again.code, 0) << again.output;
    EXPECT_FALSE(contains(again.output, " search --run-dir")) << again.output;
    const auto bad =
        shell("TRISEG_BIN=" + binary() + " scripts/compare-methods " + run + " --methods nosuch");
    EXPECT_EQ(bad.code, 2) << bad.output;
    EXPECT_TRUE(contains(bad.output, "unknown method 'nosuch'")) << bad.output;
}

// scripts/ppo-ablation: PPO variants x seeds on one run, each result measured on the test set,
// the curriculum's ranking from Lloyd-Max codes on train images, one table; a second call finds
// everything done and only prints the table again.
TEST(CliSearch, PpoAblationRunsEveryVariantAndSeedAndPrintsTheTable) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string cmd = "TRISEG_BIN=" + binary() + " scripts/ppo-ablation " + run +
                            " --variants baseline,curriculum,every --seeds 1-2 --episodes 12" +
                            " --np 2 --set search.reward_images=40 --set search.eval_images=40" +
                            " --set search.eval_every=4";
    const auto r = shell(cmd);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "[6/6] every seed 2")) << r.output;
    EXPECT_TRUE(contains(r.output, "--set ppo.curriculum_episodes=2")) << r.output; // a fifth
    const std::string dir_out = run + "/ppo-ablation";
    const auto ranking = json::parse(io::read_file(dir_out + "/sensitivity.json"));
    EXPECT_EQ(ranking.at("mode"), "leave-one-out");
    EXPECT_EQ(ranking.at("images"), 2000); // train images, never the test split
    for (const std::string v : {"baseline", "curriculum", "every"}) {
        for (const std::string seed : {"1", "2"}) {
            const std::string out = dir_out + "/" + v + "-seed" + seed;
            const auto test = json::parse(io::read_file(out + "/eval_test.json"));
            EXPECT_EQ(test.at("images"), 500) << out; // the whole test split of the tiny run
            EXPECT_EQ(json::parse(io::read_file(out + "/result.json")).at("episodes"), 12) << out;
        }
    }
    const auto table = json::parse(io::read_file(dir_out + "/table.json"));
    ASSERT_EQ(table.size(), 3u);
    EXPECT_EQ(table[0].at("variant"), "baseline");
    EXPECT_EQ(table[1].at("variant"), "curriculum");
    EXPECT_EQ(table[2].at("variant"), "every");
    EXPECT_EQ(table[2].at("seeds"), json::array({1, 2}));
    EXPECT_TRUE(contains(r.output, "| curriculum | ")) << r.output;
    // every: all options at once, the curriculum's among them.
    EXPECT_TRUE(contains(r.output, "--set ppo.policy=gru --set ppo.layer_reward=1 --set "
                                   "ppo.align=1"))
        << r.output;
    const auto again = shell(cmd);
    ASSERT_EQ(again.code, 0) << again.output;
    EXPECT_FALSE(contains(again.output, " search --run-dir")) << again.output;
    EXPECT_TRUE(contains(again.output, "| every | ")) << again.output;
    const auto bad =
        shell("TRISEG_BIN=" + binary() + " scripts/ppo-ablation " + run + " --variants nosuch");
    EXPECT_EQ(bad.code, 2) << bad.output;
    EXPECT_TRUE(contains(bad.output, "unknown variant 'nosuch'")) << bad.output;
}

// scripts/ste-sweep: train-ste at each ste.alpha and seed in its own folder (a finished one
// skipped), then the report; bad values are usage errors. A dry run.
TEST(CliSearch, SteSweepRunsEachAlphaAndSeedInItsOwnFolder) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string script = "TRISEG_BIN=" + binary() + " scripts/ste-sweep " + run;
    auto bad = shell(script + " --dry-run");
    EXPECT_EQ(bad.code, 2) << bad.output;
    EXPECT_TRUE(contains(bad.output, "qat/model.pt' not found")) << bad.output;
    io::ensure_directory(run + "/qat");
    io::write_file_atomic(run + "/qat/model.pt", "not read by a dry run\n");
    const std::string done = run + "/ste/original-alpha0.2-tmax32-seed1";
    io::ensure_directory(done);
    io::write_file_atomic(done + "/result.json", "{}\n");
    const auto r =
        shell(script + " --alpha 0.01,0.2 --seeds 0-1 --tmax 32 --set ste.epochs=1" + " --dry-run");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "== [4/4] ste original alpha 0.2 seed 1 -> " + done))
        << r.output;
    for (const std::string a : {"0.01", "0.2"}) {
        for (const std::string seed : {"0", "1"}) {
            const std::string out = run + "/ste/original-alpha" + a + "-tmax32-seed" + seed;
            EXPECT_EQ(
                contains(r.output, " train-ste --run-dir " + run +
                                       " --variant original --quiet --set runtime.seed=" + seed +
                                       " --set ste.alpha=" + a +
                                       " --set ste.tmax=32 --set ste.epochs=1 --out " + out + "\n"),
                out != done)
                << out << "\n"
                << r.output;
        }
    }
    EXPECT_TRUE(contains(r.output, " report " + run + "\n")) << r.output;
    for (const std::string args :
         {" --alpha -1", " --alpha 0.1,x", " --variant soft", " --tmax 0"}) {
        bad = shell(script + args + " --dry-run");
        EXPECT_EQ(bad.code, 2) << args << "\n" << bad.output;
    }
}

// compare-methods --tmax: every method and seed at each approx.tmax, in its own folder; a folder
// holding a front.json also gets every point measured (eval-codes --all-points). A dry run.
TEST(CliSearch, CompareMethodsTmaxSweepRunsEachValueInItsOwnFolder) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    // nsga2 at tmax 40, seed 1 has run already: its search is skipped, its front measured.
    const std::string done = run + "/search/nsga2-tmax40-seed1";
    io::ensure_directory(done);
    io::write_file_atomic(done + "/result.json", "{}\n");
    io::write_file_atomic(done + "/front.json", "{\"points\": []}\n");
    const std::string script = "TRISEG_BIN=" + binary() + " scripts/compare-methods " + run;
    const auto r = shell(script + " --methods random,nsga2 --seeds 1-2 --tmax 32,40 --np 2" +
                         " --set search.episodes=8 --dry-run");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output,
                         "== [8/8] nsga2 tmax 40 seed 2 -> " + run + "/search/nsga2-tmax40-seed2"))
        << r.output;
    for (const std::string m : {"random", "nsga2"}) {
        for (const std::string t : {"32", "40"}) {
            for (const std::string seed : {"1", "2"}) {
                const std::string out = run + "/search/" + m + "-tmax" + t + "-seed" + seed;
                const bool skipped = out == done;
                EXPECT_EQ(contains(r.output, " search --run-dir " + run + " --method " + m +
                                                 " --quiet --set runtime.threads=1 --set "
                                                 "runtime.seed=" +
                                                 seed +
                                                 " --set search.episodes=8 --set approx.tmax=" + t +
                                                 " --out " + out + "\n"),
                          !skipped)
                    << out << "\n"
                    << r.output;
                EXPECT_TRUE(contains(r.output, " eval-codes --run-dir " + run + " --codes " + out +
                                                   "/result.json --out " + out +
                                                   "/eval_test.json\n"))
                    << out << "\n"
                    << r.output;
            }
        }
    }
    EXPECT_EQ(count(r.output, " --all-points"), 1) << r.output;
    EXPECT_TRUE(contains(r.output, " eval-codes --run-dir " + run + " --codes " + done +
                                       "/front.json --all-points --out " + done +
                                       "/eval_front_test.json\n"))
        << r.output;
    EXPECT_FALSE(std::filesystem::exists(run + "/search/random-tmax32-seed1")); // a dry run
    // Without --tmax the folders are <method>-seed<S>, at the config's approx.tmax.
    const auto plain = shell(script + " --methods random --seeds 3 --np 2 --dry-run");
    ASSERT_EQ(plain.code, 0) << plain.output;
    EXPECT_TRUE(contains(plain.output, "--out " + run + "/search/random-seed3\n")) << plain.output;
    EXPECT_FALSE(contains(plain.output, "approx.tmax")) << plain.output;
    for (const std::string bad : {"0,40", "40,abc", "256", ","}) {
        const auto b = shell(script + " --methods random --tmax '" + bad + "' --dry-run");
        EXPECT_EQ(b.code, 2) << bad << "\n" << b.output;
        EXPECT_TRUE(contains(b.output, "--tmax must be a comma-separated list of codes in "
                                       "[1, 255]"))
            << bad << "\n"
            << b.output;
    }
}

TEST(CliSearch, AFailureOnOneRankEndsEveryRankWithItsMessage) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    // Rank 1 is given a model file that does not exist; rank 0 a good one.
    const std::string args = search_args(run, dir.file("out"));
    const auto r = shell("mpirun -np 2 sh -c 'if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then exec " +
                         binary() + " " + args + " --model " + dir.file("missing.h5") +
                         "; else exec " + binary() + " " + args + "; fi'");
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "rank 1 of 2 failed")) << r.output;
    EXPECT_TRUE(contains(r.output, "missing.h5")) << r.output;
}

} // namespace
} // namespace triseg::test
