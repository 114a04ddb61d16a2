// search.racing_eta end to end on a small random integer model: gaco and PPO raced over the
// reward set's shards give identical histories and results on 1, 2 and 4 ranks; dropped
// candidates carry the images they were scored on and never become the result; a candidate
// costs the images it was scored on; bad values are refused.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/search_run.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

using json = nlohmann::json;

constexpr int kUsage = 2;
constexpr int64_t kRewardImages = 70; // 5 shards of 16: rungs of 1, 2, 4 and 5 shards

std::string args(const std::string& run, const std::string& out, const std::string& method) {
    return "search -r " + run + " -o " + out + " -q --method " + method +
           " --episodes 48 --set search.episodes_per_generation=8"
           " --set search.reward_images=70 --set search.eval_images=100"
           " --set search.eval_every=24 --set search.shard_images=16"
           " --set search.racing_eta=2 --set search.racing_images=16";
}

void expect_identical_on_1_2_and_4_ranks(const std::string& method) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg(args(run, dir.file("np1"), method));
    ASSERT_EQ(r.code, 0) << r.output;
    for (int np : {2, 4}) {
        const std::string out = dir.file("np" + std::to_string(np));
        r = shell("mpirun -np " + std::to_string(np) + " --oversubscribe " + binary() + " " +
                  args(run, out, method) + " --set runtime.threads=1");
        ASSERT_EQ(r.code, 0) << r.output;
        EXPECT_EQ(io::read_file(dir.file("np1/history.jsonl")),
                  io::read_file(out + "/history.jsonl"))
            << method << " on " << np << " ranks";
        EXPECT_EQ(result_without_run_facts(dir.file("np1/result.json")),
                  result_without_run_facts(out + "/result.json"))
            << method << " on " << np << " ranks";
    }
    // Each generation of n candidates: all n on the first 16 images, then ceil(n/2) of them on
    // 32, ceil(n/4) on 64, ceil(n/8) on all 70 (the images a dropped candidate was scored on).
    const auto episodes = history_lines(dir.file("np1/history.jsonl"), "episode");
    ASSERT_EQ(episodes.size(), 48u);
    std::map<int64_t, std::vector<int64_t>> by_generation;
    for (const auto& e : episodes) {
        by_generation[e.at("generation").get<int64_t>()].push_back(e.at("images").get<int64_t>());
    }
    for (const auto& [g, images] : by_generation) {
        std::map<int64_t, int64_t> got;
        for (int64_t i : images) {
            ++got[i];
        }
        std::map<int64_t, int64_t> want;
        int64_t alive = static_cast<int64_t>(images.size());
        for (int64_t rung : {16, 32, 64}) {
            const int64_t kept = (alive + 1) / 2;
            if (alive - kept > 0) {
                want[rung] = alive - kept;
            }
            alive = kept;
        }
        want[kRewardImages] = alive;
        EXPECT_EQ(got, want) << method << " generation " << g;
    }
    // The result is a candidate scored on every reward image.
    const auto result = json::parse(io::read_file(dir.file("np1/result.json")));
    EXPECT_EQ(result.at("reward").at("images"), kRewardImages) << result.dump();
}

TEST(CliRacing, GacoIsIdenticalOnOneTwoAndFourRanks) {
    expect_identical_on_1_2_and_4_ranks("gaco");
}

TEST(CliRacing, PpoIsIdenticalOnOneTwoAndFourRanks) {
    expect_identical_on_1_2_and_4_ranks("ppo");
}

// Without the prefix cache every candidate costs a full forward per image it is scored on, so
// each episode's MACs are its images times one image's forward.
TEST(CliRacing, ACandidateCostsTheImagesItWasScoredOn) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string no_cache = " --set search.prefix_cache_mb=0";
    // PPO: every generation is search.episodes_per_generation = 8 candidates.
    auto r = triseg(args(run, dir.file("raced"), "ppo") + no_cache);
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg(args(run, dir.file("full"), "ppo") + no_cache + " --set search.racing_eta=0");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto raced = history_lines(dir.file("raced/history.jsonl"), "episode");
    const auto full = history_lines(dir.file("full/history.jsonl"), "episode");
    ASSERT_EQ(raced.size(), full.size());
    EXPECT_FALSE(full.front().contains("images")); // the line is unchanged without racing
    const int64_t per_image = full.front().at("macs").get<int64_t>() / kRewardImages;
    ASSERT_GT(per_image, 0);
    int64_t raced_macs = 0;
    int64_t full_macs = 0;
    for (size_t i = 0; i < raced.size(); ++i) {
        EXPECT_EQ(full[i].at("macs").get<int64_t>(), kRewardImages * per_image);
        EXPECT_EQ(raced[i].at("macs").get<int64_t>(),
                  raced[i].at("images").get<int64_t>() * per_image)
            << raced[i].dump();
        raced_macs += raced[i].at("macs").get<int64_t>();
        full_macs += full[i].at("macs").get<int64_t>();
    }
    // A generation of 8 costs 8*16 + 4*16 + 2*32 + 1*6 = 262 image forwards instead of 560.
    EXPECT_EQ(raced_macs * 560, full_macs * 262) << raced_macs << " vs " << full_macs;
}

TEST(CliRacing, BadValuesAreRefusedNamingTheKey) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg(args(run, dir.file("a"), "sga") + " --set search.racing_eta=1");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "search.racing_eta")) << r.output;
    r = triseg(args(run, dir.file("b"), "sga") + " --set search.racing_images=0");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "search.racing_images")) << r.output;
}

} // namespace
} // namespace triseg::test
