// `triseg search --method lloyd` and `search.init` end to end on a small random integer model:
// one evaluation, a valid result, the same files on 1 and 2 ranks, "already finished" on a
// rerun; PPO warm-started on search.init codes samples around them.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/code_set.h"
#include "io/atomic_file.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/search_run.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

using json = nlohmann::json;

constexpr int kUsage = 2;

std::string args(const std::string& run, const std::string& out, int episodes = 16) {
    return "search -r " + run + " -o " + out + " -q --episodes " + std::to_string(episodes) +
           " --set search.episodes_per_generation=3 --set search.reward_images=70"
           " --set search.eval_images=50 --set search.eval_every=6 --set search.shard_images=16";
}

TEST(CliLloyd, OneEvaluationGivesAValidResultOnOneAndTwoRanks) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg(args(run, dir.file("np1")) + " --method lloyd");
    ASSERT_EQ(r.code, 0) << r.output;
    r = shell("mpirun -np 2 " + binary() + " " + args(run, dir.file("np2")) +
              " --method lloyd --set runtime.threads=2");
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string history = dir.file("np1/history.jsonl");
    EXPECT_EQ(io::read_file(history), io::read_file(dir.file("np2/history.jsonl")));
    const auto result = result_without_run_facts(dir.file("np1/result.json"));
    EXPECT_EQ(result, result_without_run_facts(dir.file("np2/result.json")));
    EXPECT_EQ(result_without_run_facts(dir.file("np1/result_unconstrained.json")).at("layers"),
              result.at("layers"));
    EXPECT_EQ(result.at("method"), "lloyd");
    EXPECT_EQ(result.at("evaluations"), 1); // the one code set, scored once on the reward set
    const auto episodes = history_lines(history, "episode");
    ASSERT_EQ(episodes.size(), 1u);
    const auto evals = history_lines(history, "eval");
    ASSERT_EQ(evals.size(), 1u); // the final held-out round: the one code set
    EXPECT_EQ(evals[0].at("codes"), episodes[0].at("codes"));
    ASSERT_EQ(result.at("layers").size(), 8u); // VGG-11
    for (const auto& [name, l] : result.at("layers").items()) {
        const engine::LayerCodes c{l.at("t1_code"), l.at("v1_code"), l.at("t2_code"),
                                   l.at("v2_code"), l.at("tmax_code")};
        EXPECT_TRUE(engine::codes_valid(c)) << name;
        EXPECT_EQ(c.tmax, 32);
        EXPECT_LE(c.t1, 10) << name; // the search space, not only a valid map
        EXPECT_GE(c.t2, c.t1 + 4) << name;
        EXPECT_LE(c.t2, 28) << name;
    }
    // The method finished: a rerun, even with a larger budget, changes nothing.
    r = triseg(args(run, dir.file("np1"), 40) + " --method lloyd");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "already finished")) << r.output;
    EXPECT_EQ(history_lines(history, "episode").size(), 1u);
}

TEST(CliLloyd, PpoWarmStartsOnTheInitCodes) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg(args(run, dir.file("even"), 6) + " --set search.init=evenly-spaced");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto inits = history_lines(dir.file("even/history.jsonl"), "init");
    ASSERT_EQ(inits.size(), 1u);
    EXPECT_GE(inits[0].at("min_prob").get<double>(), 0.5);
    // The first generation's picks are mostly the evenly spaced codes (t1 4, v1 10, t2 16,
    // v2 24): each head gives them probability >= 0.5; a uniform pick would hit < 1 in 9.
    const auto even = engine::evenly_spaced_codes(32);
    int hits = 0;
    int picks = 0;
    for (const auto& e : history_lines(dir.file("even/history.jsonl"), "episode")) {
        for (const auto& l : e.at("codes")) {
            hits += (l.at(0) == even.t1) + (l.at(1) == even.v1) + (l.at(2) == even.t2) +
                    (l.at(3) == even.v2);
            picks += 4;
        }
    }
    ASSERT_EQ(picks, 6 * 8 * 4);
    EXPECT_GT(hits * 2, picks) << hits << " of " << picks;
    // Lloyd init runs too; and a checkpoint made with another init is refused on resume.
    r = triseg(args(run, dir.file("lloyd"), 6) + " --set search.init=lloyd");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(history_lines(dir.file("lloyd/history.jsonl"), "init").size(), 1u);
    r = triseg(args(run, dir.file("lloyd"), 9) + " --set search.init=random");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "another config")) << r.output;
    // lloyd is the default; random is the old start, with no pre-fit.
    r = triseg(args(run, dir.file("default"), 6));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(history_lines(dir.file("default/history.jsonl"), "init").size(), 1u);
    EXPECT_EQ(io::read_file(dir.file("default/history.jsonl")),
              io::read_file(dir.file("lloyd/history.jsonl")));
    r = triseg(args(run, dir.file("random"), 6) + " --set search.init=random");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(history_lines(dir.file("random/history.jsonl"), "init").empty());
    r = triseg(args(run, dir.file("bad"), 6) + " --set search.init=kmeans");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "search.init")) << r.output;
    EXPECT_TRUE(contains(r.output, "evenly-spaced")) << r.output;
}

} // namespace
} // namespace triseg::test
