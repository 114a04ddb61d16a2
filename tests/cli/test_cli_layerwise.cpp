// `triseg search --method layerwise` end to end: the same history (MACs included) on 1, 2 and
// 4 ranks, a MAC budget, suffix replay's saving, and SIGTERM + restart.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/search_run.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

using json = nlohmann::json;

constexpr int kInterrupted = 130;

/// A layer-wise search of 5 candidates per layer step on 70 reward images, stopped by a MAC
/// budget (search.episodes = 0) of `full_forwards` full forwards of the reward set.
std::string layerwise_args(const std::string& run, const std::string& out, int64_t macs_budget) {
    return "search -r " + run + " -o " + out + " -q --method layerwise --episodes 0" +
           " --set search.max_macs=" + std::to_string(macs_budget) +
           " --set layerwise.candidates=5"
           " --set search.reward_images=70 --set search.eval_images=50"
           " --set search.eval_every=20 --set search.checkpoint_every=2"
           " --set search.shard_images=16";
}

std::vector<json> records(const std::string& path, const std::string& type) {
    std::vector<json> out;
    std::istringstream in(io::read_file(path));
    for (std::string line; std::getline(in, line);) {
        auto j = json::parse(line);
        if (j.at("type") == type) {
            out.push_back(j);
        }
    }
    return out;
}

/// MACs of one full forward of the reward set, from a one-generation run's first episode
/// (the anchor's fill is charged before it: total - macs of episode 0).
int64_t full_forward_macs(const std::string& history) {
    const auto ep = records(history, "episode");
    return ep.at(0).at("total_macs").get<int64_t>() - ep.at(0).at("macs").get<int64_t>();
}

TEST(CliLayerwise, SameHistoryWithMacsOnOneTwoAndFourRanksWithinAMacBudget) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    // Probe: one generation tells the full-forward MACs (the anchor fill is one).
    auto r = triseg(layerwise_args(run, dir.file("probe"), 1));
    ASSERT_EQ(r.code, 0) << r.output;
    const int64_t full = full_forward_macs(dir.file("probe/history.jsonl"));
    ASSERT_GT(full, 0);
    EXPECT_EQ(records(dir.file("probe/history.jsonl"), "episode").size(), 6u); // start + 5
    const int64_t budget = 30 * full;
    r = triseg(layerwise_args(run, dir.file("np1"), budget));
    ASSERT_EQ(r.code, 0) << r.output;
    r = shell("mpirun -np 2 " + binary() + " " + layerwise_args(run, dir.file("np2"), budget));
    ASSERT_EQ(r.code, 0) << r.output;
    r = shell("mpirun -np 4 --oversubscribe " + binary() + " " +
              layerwise_args(run, dir.file("np4"), budget));
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string h1 = io::read_file(dir.file("np1/history.jsonl"));
    EXPECT_EQ(h1, io::read_file(dir.file("np2/history.jsonl")));
    EXPECT_EQ(h1, io::read_file(dir.file("np4/history.jsonl")));
    const auto res1 = result_without_run_facts(dir.file("np1/result.json"));
    EXPECT_EQ(res1, result_without_run_facts(dir.file("np2/result.json")));
    EXPECT_EQ(res1, result_without_run_facts(dir.file("np4/result.json")));

    // The MAC budget: the search stopped at the first generation that reached it.
    const auto ep = records(dir.file("np1/history.jsonl"), "episode");
    const auto steps = records(dir.file("np1/history.jsonl"), "layer_step");
    ASSERT_GT(steps.size(), 3u);
    int64_t total = 0;
    int64_t previous_total = 0;
    for (const auto& e : ep) {
        const int64_t m = e.at("macs").get<int64_t>();
        EXPECT_GT(m, 0);
        EXPECT_LE(m, full);
        total = e.at("total_macs").get<int64_t>();
        EXPECT_GE(total - previous_total, m); // plus an anchor fill where the best moved
        previous_total = total;
    }
    EXPECT_EQ(res1.at("macs").get<int64_t>(), total);
    EXPECT_GE(total, budget);
    EXPECT_LT(total - 6 * full, budget); // one generation (of at most 6 full forwards) over
    // Suffix replay: well under a full forward per evaluation.
    const auto evaluations = res1.at("evaluations").get<int64_t>();
    EXPECT_EQ(evaluations, static_cast<int64_t>(ep.size()));
    EXPECT_LT(total, evaluations * full * 3 / 4);
    EXPECT_TRUE(contains(io::read_file(dir.file("np1/config.yaml")), "layerwise:"));
}

TEST(CliLayerwise, SigtermThenAPlainRestartEqualsAnUninterruptedRun) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg(layerwise_args(run, dir.file("probe"), 1));
    ASSERT_EQ(r.code, 0) << r.output;
    const int64_t budget = 25 * full_forward_macs(dir.file("probe/history.jsonl"));
    ASSERT_EQ(triseg(layerwise_args(run, dir.file("whole"), budget)).code, 0);
    r = shell("TRISEG_TEST_SIGNAL_AFTER_GENERATIONS=5 " + binary() + " " +
              layerwise_args(run, dir.file("cut"), budget));
    ASSERT_EQ(r.code, kInterrupted) << r.output;
    r = triseg(layerwise_args(run, dir.file("cut"), budget));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(io::read_file(dir.file("whole/history.jsonl")),
              io::read_file(dir.file("cut/history.jsonl")));
    EXPECT_EQ(result_without_run_facts(dir.file("whole/result.json")),
              result_without_run_facts(dir.file("cut/result.json")));
}

} // namespace
} // namespace triseg::test
