// Searches on graph models (a residual and a depthwise network): the same history on 1, 2 and
// 4 ranks (PPO also with its options on), the prefix cache changing only the MACs, a VGG codes
// file applied to a ResNet is an input error naming the layers, a PPO policy moves between
// models only with the enhanced state and of the same ppo.policy, and a recurrent PPO resumes
// exactly; PPO's layer curriculum is the same on any rank count and refuses a ranking of
// another model or changed content on resume.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "cli/config/config.h"
#include "io/atomic_file.h"
#include "io/h5_int8_model.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/search_run.h"
#include "tests/engine/int8/graph_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

/// `dir`/run with config.yaml (Fashion-MNIST at 28x28, 2000 train / 500 test images, 1
/// thread) and int8/model.h5 = `graph`.
std::string make_graph_run(const TempDir& dir, const models::Int8Graph& graph) {
    const std::string run = dir.file("run");
    cli::RunConfig cfg;
    cfg.model = graph.model;
    cfg.data.image_size = graph.model.image_size;
    cfg.data.train_limit = 2000;
    cfg.data.test_limit = 500;
    cfg.runtime.threads = 1;
    io::ensure_directory(run + "/int8");
    io::write_file_atomic(run + "/config.yaml", cli::to_yaml(cfg));
    io::write_int8_graph(graph, run + "/int8/model.h5");
    return run;
}

/// Small budgets and scoring sets for the searches of these tests.
constexpr const char* kSmall = " --set search.reward_images=48 --set search.eval_images=48"
                               " --set search.shard_images=16";

/// Searches `run` (in `dir`) with `method` and `options` on 1, 2 and 4 ranks and expects the
/// same history and result.
void expect_same_history_in_run(const TempDir& dir,
                                const std::string& run,
                                const std::string& method,
                                const std::string& options) {
    const std::string args = " search --run-dir '" + run + "' --method " + method +
                             " --set search.episodes=12" + kSmall + options;
    std::vector<std::vector<nlohmann::json>> histories;
    for (int ranks : {1, 2, 4}) {
        const std::string out = dir.file("s" + std::to_string(ranks));
        const std::string launch =
            ranks == 1 ? binary()
                       : "mpirun -np " + std::to_string(ranks) + " --oversubscribe " + binary();
        const Result r = shell(launch + args + " --out '" + out + "'");
        ASSERT_EQ(r.code, 0) << r.output;
        histories.push_back(history_lines(out + "/history.jsonl", "episode"));
        EXPECT_EQ(result_without_run_facts(out + "/result.json"),
                  result_without_run_facts(dir.file("s1/result.json")))
            << ranks << " ranks";
    }
    ASSERT_EQ(histories[0].size(), 12u);
    for (auto& h : histories) {
        for (auto& e : h) {
            e.erase("seconds");
        }
    }
    EXPECT_EQ(histories[1], histories[0]) << "2 ranks";
    EXPECT_EQ(histories[2], histories[0]) << "4 ranks";
}

void expect_same_history_on_1_2_4_ranks(const models::Int8Graph& graph,
                                        const std::string& method,
                                        const std::string& options = "") {
    TempDir dir;
    expect_same_history_in_run(dir, make_graph_run(dir, graph), method, options);
}

TEST(CliGraphSearch, ResNetPpoIsTheSameOnOneTwoAndFourRanks) {
    expect_same_history_on_1_2_4_ranks(random_resnet_graph(5, 1, 28), "ppo");
}

TEST(CliGraphSearch, ResNetPpoWithEveryOptionIsTheSameOnOneTwoAndFourRanks) {
    // The enhanced state reads the adds' points (no weights) and the convs' weights; the GRU
    // runs over them (its updates wait for whole episodes); the feature distances are sums
    // over each rank's shards.
    expect_same_history_on_1_2_4_ranks(random_resnet_graph(5, 1, 28), "ppo",
                                       " --set ppo.state=enhanced --set ppo.encoding=relative"
                                       " --set ppo.reward=ranked --set ppo.update_transitions=20"
                                       " --set ppo.policy=gru --set ppo.layer_reward=2"
                                       " --set ppo.align=0.5"
                                       " --set ppo.align_points=layer1.0.out,conv1"
                                       " --set ppo.temperatures=[4,2,1]"
                                       " --set ppo.temperature_episodes=4");
}

TEST(CliGraphSearch, ResNetPpoLayerCurriculumIsTheSameOnOneTwoAndFourRanks) {
    TempDir dir;
    const std::string run = make_graph_run(dir, random_resnet_graph(5, 1, 28));
    const std::string ranking = dir.file("sensitivity.json");
    const Result r = triseg("analyze-sensitivity --run-dir '" + run +
                            "' --heuristic --images 40 --out '" + ranking + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    // Stages of 4 episodes: 2, then 4 of the 5 layers, then all; with a GRU over every layer.
    expect_same_history_in_run(dir, run, "ppo",
                               " --set ppo.curriculum='" + ranking +
                                   "' --set ppo.curriculum_layers=[2,4]"
                                   " --set ppo.curriculum_episodes=4 --set ppo.policy=gru"
                                   " --set ppo.update_transitions=20");
    // Every result approximates every layer.
    const auto result = nlohmann::json::parse(io::read_file(dir.file("s1/result.json")));
    for (const auto& [name, codes] : result.at("layers").items()) {
        EXPECT_GT(codes.at("tmax_code").get<int>(), 0) << name;
    }
}

TEST(CliGraphSearch, ALayerCurriculumOfAnotherModelOrChangedFileIsRefused) {
    TempDir dir;
    TempDir vgg_dir;
    const std::string resnet = make_graph_run(dir, random_resnet_graph(5, 1, 28));
    const std::string vgg = make_search_run(vgg_dir);
    const std::string ranking = dir.file("sensitivity.json");
    Result r = triseg("analyze-sensitivity --run-dir '" + resnet +
                      "' --heuristic --images 40 --out '" + ranking + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    auto search = [&](const std::string& run, const std::string& out, const std::string& file,
                      const std::string& more) {
        return triseg("search --run-dir '" + run + "' --method ppo --set search.episodes=8" +
                      kSmall + " --out '" + out + "' --set ppo.curriculum='" + file +
                      "' --set ppo.curriculum_layers=[2] --set ppo.curriculum_episodes=4" + more);
    };
    // The ResNet's ranking on the VGG: every name missing and unknown.
    r = search(vgg, vgg_dir.file("a"), ranking, "");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "missing: conv1_1")) << r.output;
    EXPECT_TRUE(contains(r.output, "unknown: ")) << r.output;
    EXPECT_TRUE(contains(r.output, ranking)) << r.output;
    r = search(resnet, dir.file("b"), dir.file("none.json"), "");
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "`ppo.curriculum`")) << r.output;
    r = triseg("search --run-dir '" + resnet + "' --method ppo --out '" + dir.file("e") + "'" +
               kSmall + " --set ppo.curriculum='" + ranking + "'");
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "`ppo.curriculum_layers` is empty")) << r.output;
    // A curriculum that outlasts the budget.
    r = search(resnet, dir.file("f"), ranking, " --set ppo.curriculum_episodes=8");
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "no episode would approximate every layer")) << r.output;
    io::write_file_atomic(dir.file("bad.json"), "{\"mode\": \"leave-one-out\"}\n");
    r = search(resnet, dir.file("c"), dir.file("bad.json"), "");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "no \"ranking\" list")) << r.output;

    // The ranking's SHA-256 is part of the resume key: other content under the same name is
    // not resumed.
    const std::string copy = dir.file("copy.json");
    io::write_file_atomic(copy, io::read_file(ranking));
    r = search(resnet, dir.file("d"), copy, " --stop-after 1");
    ASSERT_EQ(r.code, 0) << r.output;
    r = search(resnet, dir.file("d"), copy, " --stop-after 1"); // resumes
    ASSERT_EQ(r.code, 0) << r.output;
    auto j = nlohmann::json::parse(io::read_file(copy));
    std::swap(j["ranking"][0], j["ranking"][1]);
    io::write_file_atomic(copy, j.dump(2) + "\n");
    r = search(resnet, dir.file("d"), copy, "");
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "ppo.curriculum file sha256")) << r.output;
}

TEST(CliGraphSearch, PpoInitPolicyTransfersOnlyEnhancedPoliciesBetweenModels) {
    TempDir dir;
    TempDir vgg_dir;
    const std::string resnet = make_graph_run(dir, random_resnet_graph(5, 1, 28));
    const std::string vgg = make_search_run(vgg_dir);
    const std::string enhanced = " --set ppo.state=enhanced --set ppo.update_transitions=20";
    auto search = [&](const std::string& run, const std::string& out, const std::string& more) {
        return triseg("search --run-dir '" + run + "' --method ppo --set search.episodes=8" +
                      kSmall + " --out '" + out + "'" + more);
    };
    Result r = search(resnet, dir.file("embedding"), "");
    ASSERT_EQ(r.code, 0) << r.output;
    r = search(resnet, dir.file("enhanced"), enhanced);
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string embedding_policy = dir.file("embedding/checkpoint.h5");
    const std::string enhanced_policy = dir.file("enhanced/checkpoint.h5");

    r = search(vgg, vgg_dir.file("a"), " --init-policy '" + embedding_policy + "'");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, embedding_policy)) << r.output;
    EXPECT_TRUE(contains(r.output, "only ppo.state: enhanced policies transfer between models"))
        << r.output;
    r = search(vgg, vgg_dir.file("b"), enhanced + " --init-policy '" + embedding_policy + "'");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "ppo.state embedding")) << r.output;
    r = search(vgg, vgg_dir.file("c"),
               " --set ppo.embedding_dim=16 --init-policy '" + enhanced_policy + "'" + enhanced);
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "ppo.embedding_dim 64")) << r.output;
    r = search(vgg, vgg_dir.file("g"),
               enhanced + " --set ppo.policy=gru --init-policy '" + enhanced_policy + "'");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "ppo.policy mlp; this search has ppo.policy gru")) << r.output;
    r = search(vgg, vgg_dir.file("d"), " --init-policy '" + resnet + "/int8/model.h5'");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, resnet + "/int8/model.h5")) << r.output;
    r = search(vgg, vgg_dir.file("e"), " --init-policy '" + dir.file("none.h5") + "'");
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "`ppo.init_policy`")) << r.output;

    // The enhanced policy starts a search on the VGG; its SHA-256 is part of the resume key,
    // so the same path with other content is not resumed.
    const std::string policy = vgg_dir.file("policy.h5");
    io::write_file_atomic(policy, io::read_file(enhanced_policy));
    const std::string cut = enhanced + " --init-policy '" + policy + "' --stop-after 1";
    r = search(vgg, vgg_dir.file("f"), cut);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(history_lines(vgg_dir.file("f/history.jsonl"), "init_policy").size(), 1u);
    r = search(vgg, vgg_dir.file("f"), cut); // resumes
    ASSERT_EQ(r.code, 0) << r.output;
    io::write_file_atomic(policy, io::read_file(vgg_dir.file("f/checkpoint.h5")));
    r = search(vgg, vgg_dir.file("f"), cut);
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "ppo.init_policy file sha256")) << r.output;
}

/// The lines of `kind` in `history` without their timings.
std::vector<nlohmann::json> untimed(const std::string& history, const std::string& kind) {
    auto lines = history_lines(history, kind);
    for (auto& l : lines) {
        l.erase("seconds");
    }
    return lines;
}

TEST(CliGraphSearch, GruPpoStoppedTwiceEqualsAnUninterruptedRunAndKeepsItsPolicy) {
    TempDir dir;
    const std::string run = make_graph_run(dir, random_resnet_graph(5, 1, 28));
    const std::string gru =
        " --set ppo.policy=gru --set ppo.state=enhanced --set ppo.update_transitions=20";
    auto search = [&](const std::string& out, const std::string& more) {
        return triseg("search --run-dir '" + run + "' --method ppo --set search.episodes=12" +
                      kSmall + " --out '" + dir.file(out) + "'" + more);
    };
    Result r = search("whole", gru);
    ASSERT_EQ(r.code, 0) << r.output;
    for (int i = 0; i < 2; ++i) {
        r = search("cut", gru + " --stop-after 1");
        ASSERT_EQ(r.code, 0) << r.output;
    }
    r = search("cut", gru);
    ASSERT_EQ(r.code, 0) << r.output;
    for (const char* kind : {"episode", "update"}) {
        SCOPED_TRACE(kind);
        const auto whole = untimed(dir.file("whole/history.jsonl"), kind);
        EXPECT_FALSE(whole.empty());
        EXPECT_EQ(untimed(dir.file("cut/history.jsonl"), kind), whole);
    }
    EXPECT_EQ(result_without_run_facts(dir.file("whole/result.json")),
              result_without_run_facts(dir.file("cut/result.json")));
    // ppo.policy is part of the resume key: the MLP does not continue a GRU's search.
    r = search("other", gru + " --stop-after 1");
    ASSERT_EQ(r.code, 0) << r.output;
    r = search("other", " --set ppo.state=enhanced --set ppo.update_transitions=20");
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "policy: gru")) << r.output;
}

TEST(CliGraphSearch, MobileNetDeIsTheSameOnOneTwoAndFourRanks) {
    expect_same_history_on_1_2_4_ranks(random_mobilenet_graph(6, 1, 28), "de");
}

/// The episode lines of `history` without what the prefix cache changes (MACs) and timings.
std::vector<nlohmann::json> without_macs(const std::string& history) {
    auto lines = history_lines(history, "episode");
    for (auto& e : lines) {
        e.erase("macs");
        e.erase("total_macs");
        e.erase("seconds");
    }
    return lines;
}

/// Sum of the episodes' MACs in `history`.
int64_t episode_macs(const std::string& history) {
    int64_t total = 0;
    for (const auto& e : history_lines(history, "episode")) {
        total += e.at("macs").get<int64_t>();
    }
    return total;
}

// The layer-wise search names an anchor, so the prefix cache replays each candidate from the
// live set of its first changed layer, points a skip crosses included: the same history (MACs
// included) on 1, 2 and 4 ranks, and the same as without the cache but for fewer MACs.
void expect_layerwise_cache_changes_only_the_macs(const models::Int8Graph& graph) {
    TempDir dir;
    const std::string run = make_graph_run(dir, graph);
    const std::string args = " search --run-dir '" + run +
                             "' -q --method layerwise --episodes 24"
                             " --set layerwise.candidates=4 --set search.reward_images=48"
                             " --set search.eval_images=48 --set search.shard_images=16";
    for (int ranks : {1, 2, 4}) {
        const std::string launch =
            ranks == 1 ? binary()
                       : "mpirun -np " + std::to_string(ranks) + " --oversubscribe " + binary();
        const Result r =
            shell(launch + args + " --out '" + dir.file("s" + std::to_string(ranks)) + "'");
        ASSERT_EQ(r.code, 0) << r.output;
    }
    const Result r =
        triseg(args + " --set search.prefix_cache_mb=0 --out '" + dir.file("off") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    for (int ranks : {2, 4}) {
        auto lines =
            history_lines(dir.file("s" + std::to_string(ranks) + "/history.jsonl"), "episode");
        auto want = history_lines(dir.file("s1/history.jsonl"), "episode");
        ASSERT_EQ(lines.size(), want.size());
        for (size_t i = 0; i < lines.size(); ++i) {
            lines[i].erase("seconds");
            want[i].erase("seconds");
            EXPECT_EQ(lines[i], want[i]) << ranks << " ranks, episode " << i;
        }
    }
    const auto cached = without_macs(dir.file("s1/history.jsonl"));
    ASSERT_EQ(cached.size(), 24u);
    EXPECT_EQ(cached, without_macs(dir.file("off/history.jsonl")));
    EXPECT_LT(episode_macs(dir.file("s1/history.jsonl")),
              episode_macs(dir.file("off/history.jsonl")));
}

TEST(CliGraphSearch, ResNetLayerwisePrefixCacheChangesOnlyTheMacsOnAnyRankCount) {
    expect_layerwise_cache_changes_only_the_macs(random_resnet_graph(5, 1, 28));
}

TEST(CliGraphSearch, MobileNetLayerwisePrefixCacheChangesOnlyTheMacsOnAnyRankCount) {
    expect_layerwise_cache_changes_only_the_macs(random_mobilenet_graph(6, 1, 28));
}

TEST(CliGraphSearch, VggCodesOnAResNetNameTheMissingAndUnknownLayers) {
    TempDir dir;
    TempDir vgg_dir;
    const std::string run = make_graph_run(dir, random_resnet_graph(5, 1, 28));
    const std::string vgg = make_search_run(vgg_dir);
    Result r = triseg("eval-codes --run-dir '" + vgg + "' --evenly-spaced");
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg("eval-codes --run-dir '" + run + "' --codes '" + vgg + "/codes/evenly-spaced.json'");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "names layers the model does not have: conv1_1")) << r.output;
    EXPECT_TRUE(contains(r.output, "has no codes for its layers conv1, layer1.0.conv1"))
        << r.output;
    EXPECT_FALSE(io::file_exists(run + "/codes/eval_evenly-spaced.json"));
}

TEST(CliGraphSearch, AnAlignPointTheModelLacksIsAConfigErrorNamingIt) {
    TempDir dir;
    const std::string run = make_graph_run(dir, random_resnet_graph(5, 1, 28));
    const Result r =
        triseg("search --run-dir '" + run + "' --method ppo --set search.episodes=4" + kSmall +
               " --set ppo.align=1 --set ppo.align_points=conv1,layer9.0.out" + " --out '" +
               dir.file("s") + "'");
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "'layer9.0.out', which is not a point")) << r.output;
    EXPECT_FALSE(io::file_exists(dir.file("s/result.json")));
}

} // namespace
} // namespace triseg::test
