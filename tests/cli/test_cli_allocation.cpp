// search.space=allocation, --target-drop and search.init=<result file> end to end on a small
// random integer model: lloyd's sweep as a front, the highest coverage within the target drop,
// nsga2 identical on 1 and 2 ranks, a result file as the exact start, and the errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

std::string args(const std::string& run, const std::string& out, int episodes = 80) {
    return "search -r " + run + " -o " + out + " -q --episodes " + std::to_string(episodes) +
           " --set search.episodes_per_generation=4 --set search.reward_images=70"
           " --set search.eval_images=100 --set search.eval_every=40 --set search.shard_images=16"
           " --set search.space=allocation --set search.tmax_min=16 --set search.tmax_max=40";
}

TEST(CliAllocation, LloydSweepsTmaxAndTargetDropPicksTheMostCoverageWithinIt) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    constexpr double kTarget = 3.0;
    auto r = triseg(args(run, dir.file("lloyd")) + " --method lloyd --target-drop 3");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto front = json::parse(io::read_file(dir.file("lloyd/front.json")));
    EXPECT_EQ(front.at("space"), "allocation");
    const auto& points = front.at("points");
    ASSERT_GE(points.size(), 2u);
    // The 25 uniform points (tmax 16..40) and the quantile points were scored once each.
    const auto episodes = history_lines(dir.file("lloyd/history.jsonl"), "episode");
    EXPECT_GE(episodes.size(), 25u);
    EXPECT_LE(episodes.size(), 40u);
    for (int t = 16; t <= 40; ++t) {
        for (const auto& l : episodes[static_cast<size_t>(t - 16)].at("codes")) {
            EXPECT_EQ(l.at(4), t);
        }
    }
    // result.json: of the front's points within the target (held-out drop), the most coverage.
    const auto result = json::parse(io::read_file(dir.file("lloyd/result.json")));
    EXPECT_EQ(result.at("space"), "allocation");
    EXPECT_EQ(result.at("target_drop"), kTarget);
    const double drop = result.at("holdout").at("acc_drop");
    const double covered = result.at("holdout").at("covered");
    if (result.at("constraint_met").get<bool>()) {
        EXPECT_LE(drop, kTarget + 1e-9);
        EXPECT_TRUE(contains(result.at("selection").get<std::string>(), "highest-coverage"));
    }
    bool feasible = false;
    for (const auto& p : points) {
        if (p.at("holdout_acc_drop").get<double>() <= kTarget + 1e-9) {
            feasible = true;
            EXPECT_LE(p.at("holdout").at("covered").get<double>(), covered);
        }
    }
    // A front point within the target means the selection met it (the low-tmax end of the
    // sweep changes few codes, so on this model it does).
    EXPECT_TRUE(feasible);
    EXPECT_EQ(result.at("constraint_met").get<bool>(), feasible);
    // Each front point is in the history as a held-out "front" line.
    size_t front_lines = 0;
    for (const auto& e : history_lines(dir.file("lloyd/history.jsonl"), "eval")) {
        front_lines += e.at("source") == "front";
    }
    EXPECT_GE(front_lines, 1u);
    EXPECT_LE(front_lines, points.size());
}

TEST(CliAllocation, Nsga2IsIdenticalOnOneAndTwoRanks) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg(args(run, dir.file("np1"), 48) + " --method nsga2");
    ASSERT_EQ(r.code, 0) << r.output;
    r = shell("mpirun -np 2 " + binary() + " " + args(run, dir.file("np2"), 48) +
              " --method nsga2 --set runtime.threads=1");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(io::read_file(dir.file("np1/history.jsonl")),
              io::read_file(dir.file("np2/history.jsonl")));
    EXPECT_EQ(result_without_run_facts(dir.file("np1/result.json")),
              result_without_run_facts(dir.file("np2/result.json")));
    EXPECT_EQ(io::read_file(dir.file("np1/front.json")), io::read_file(dir.file("np2/front.json")));
    // The first population starts with the uniform points at 7 tmax values spread over 16..40.
    const auto episodes = history_lines(dir.file("np1/history.jsonl"), "episode");
    const std::vector<int> spread = {16, 20, 24, 28, 32, 36, 40};
    for (size_t i = 0; i < spread.size(); ++i) {
        for (const auto& l : episodes.at(i + 1).at("codes")) { // individual 0: search.init
            EXPECT_EQ(l.at(4), spread[i]) << "individual " << i + 1;
        }
    }
}

TEST(CliAllocation, AResultFileAsInitIsTheExactStart) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    // A result file whose codes lie in the codes space at tmax 32 (the evenly spaced ones,
    // moved by one code in one layer so they are not any built-in start).
    auto r = triseg("search -r " + run + " -o " + dir.file("lloyd") +
                    " -q --method lloyd --episodes 1 --set search.reward_images=70"
                    " --set search.eval_images=50");
    ASSERT_EQ(r.code, 0) << r.output;
    auto file = json::parse(io::read_file(dir.file("lloyd/result.json")));
    auto& first = file.at("layers").begin().value();
    first["v2_code"] = first.at("v2_code").get<int>() - 1;
    io::write_file_atomic(dir.file("start.json"), file.dump(2));
    const std::string base = "search -r " + run +
                             " -q --method sga"
                             " --set search.reward_images=70 --set search.eval_images=50"
                             " --set search.init=" +
                             dir.file("start.json");
    r = triseg(base + " -o " + dir.file("sga") + " --episodes 8");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto episodes = history_lines(dir.file("sga/history.jsonl"), "episode");
    ASSERT_FALSE(episodes.empty());
    const auto& codes = episodes[0].at("codes");
    size_t l = 0;
    for (const auto& [name, c] : file.at("layers").items()) {
        EXPECT_EQ(codes.at(l), json({c.at("t1_code"), c.at("v1_code"), c.at("t2_code"),
                                     c.at("v2_code"), c.at("tmax_code")}))
            << name;
        ++l;
    }
    // A changed start file is not resumed silently.
    first["v2_code"] = first.at("v2_code").get<int>() - 1;
    io::write_file_atomic(dir.file("start.json"), file.dump(2));
    r = triseg(base + " -o " + dir.file("sga") + " --episodes 16");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "another config")) << r.output;
}

TEST(CliAllocation, BadCombinationsAreRefusedWithTheFix) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg(args(run, dir.file("random")) + " --method random");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "search.space=codes")) << r.output;
    r = triseg(args(run, dir.file("range")) + " --method nsga2 --set search.tmax_max=12");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "search.tmax_max")) << r.output;
    r = triseg(args(run, dir.file("drop")) + " --method lloyd --target-drop -1");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "target-drop")) << r.output;
    r = triseg(args(run, dir.file("init")) +
               " --method sga --set search.init=" + dir.file("missing.json"));
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "missing.json")) << r.output;
}

} // namespace
} // namespace triseg::test
