// SearchDriver on a toy objective (no CNN): budgets, selection, history, checkpoints, resume.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "io/atomic_file.h"
#include "search/driver/search_driver.h"
#include "search/ppo_search.h"
#include "search/random_search.h"
#include "search/toy_objectives.h"
#include "tests/io/temp_dir.h"

namespace triseg::search {
namespace {

using json = nlohmann::json;
using engine::ScoringRole;
using test::expect_error;
using test::TempDir;
const search::CodeSpace kSpace{3, 32};

/// Scores with the toy objective on both roles; can raise a signal after some calls.
class ToyEvaluator final : public Evaluator {
public:
    explicit ToyEvaluator(uint64_t seed) : f_(kSpace, seed) {}
    std::vector<Fitness> evaluate(const std::vector<CodeSet>& c, ScoringRole role) override {
        if (role == ScoringRole::Reward && ++calls_ == raise_at_) {
            std::raise(SIGUSR1);
        }
        auto out = f_(c);
        if (role == ScoringRole::Holdout) {
            for (auto& s : out) { // a slightly different "held-out" accuracy
                s.acc_student -= 0.25;
            }
        }
        return out;
    }
    int64_t images(ScoringRole) const override { return 1; }
    int64_t raise_at_ = -1;

private:
    search::SensitivityObjective f_;
    int64_t calls_ = 0;
};

DriverSettings settings(const std::string& out, int64_t episodes) {
    DriverSettings s;
    s.search.episodes = episodes;
    s.search.episodes_per_generation = 3;
    s.search.eval_every = 7;
    s.search.checkpoint_every = 2;
    s.max_acc_drop = 30.0;
    s.out_dir = out;
    s.resume_key = "key: 1\n";
    s.layer_names = {"conv1", "conv2", "conv3"};
    s.info.method = "ppo";
    s.progress = false;
    s.verbose = false;
    return s;
}

std::string read(const std::string& path) {
    return io::read_file(path);
}

/// result.json without the wall time, which differs between runs.
json result_without_time(const std::string& path) {
    auto j = json::parse(read(path));
    j.erase("wall_seconds");
    return j;
}

SearchSummary run_ppo(const DriverSettings& s, Evaluator& eval) {
    search::PpoSearch ppo(kSpace, 3, s.search.episodes_per_generation, {});
    return SearchDriver(ppo, eval, s).run();
}

TEST(SearchDriver, WritesBothResultsHistoryAndCheckpoint) {
    TempDir dir;
    ToyEvaluator eval(1);
    const auto s = run_ppo(settings(dir.file("out"), 20), eval);
    EXPECT_EQ(s.status, SearchStatus::Finished);
    EXPECT_EQ(s.episodes, 20);
    EXPECT_EQ(s.evaluations, 20);
    ASSERT_TRUE(s.constrained && s.unconstrained);
    EXPECT_TRUE(s.constraint_met);
    const auto r = json::parse(read(dir.file("out/result.json")));
    EXPECT_EQ(r.at("selection"), "constrained-best (<= 30.00% drop)");
    EXPECT_EQ(r.at("layers").size(), 3u);
    EXPECT_EQ(r.at("method"), "ppo");
    EXPECT_EQ(r.at("episodes"), 20);
    EXPECT_TRUE(r.at("constraint_met").get<bool>());
    EXPECT_LE(r.at("metrics").at("acc_drop").get<double>(), 30.0);
    const auto u = json::parse(read(dir.file("out/result_unconstrained.json")));
    EXPECT_EQ(u.at("kind"), "unconstrained");
    EXPECT_EQ(u.at("reward").at("kd_loss").get<double>(), s.unconstrained->reward.kd_loss);
    // history: 20 episodes, 20*3/50 = 1 update, and held-out rounds at 7, 14 and the end.
    std::istringstream lines(read(dir.file("out/history.jsonl")));
    std::string line;
    int episodes = 0;
    int updates = 0;
    int evals = 0;
    double lowest_kd = 1e300;
    while (std::getline(lines, line)) {
        const auto j = json::parse(line);
        if (j.at("type") == "episode") {
            lowest_kd = std::min(lowest_kd, j.at("kd_loss").get<double>());
        }
        episodes += j.at("type") == "episode";
        updates += j.at("type") == "update";
        evals += j.at("type") == "eval";
    }
    EXPECT_EQ(episodes, 20);
    EXPECT_EQ(updates, 1);
    EXPECT_GE(evals, 3);
    EXPECT_TRUE(io::file_exists(dir.file("out/checkpoint.h5")));
    // The unconstrained best has the lowest KD of all episodes.
    EXPECT_EQ(s.unconstrained->reward.kd_loss, lowest_kd);
}

TEST(SearchDriver, CodesThatLeaveALayerExactAreNeverTheBestOrTheResult) {
    // PPO's layer curriculum: 9 episodes approximate one layer, the next 9 two, then all three.
    TempDir dir;
    ToyEvaluator eval(1);
    PpoOptions o;
    o.curriculum = "ranking.json";
    o.curriculum_layers = {1, 2};
    o.curriculum_episodes = 9;
    PpoInputs in;
    in.curriculum_order = {2, 0, 1};
    auto run = [&](const std::string& out, int64_t episodes) {
        search::PpoSearch ppo(kSpace, 3, 3, o, std::nullopt, nullptr, in);
        return SearchDriver(ppo, eval, settings(dir.file(out), episodes)).run();
    };
    auto all_layers = [](const CodeSet& c) {
        return std::none_of(c.layers.begin(), c.layers.end(),
                            [](const LayerCodes& l) { return l == LayerCodes{}; });
    };
    const auto whole = run("whole", 24);
    ASSERT_TRUE(whole.constrained && whole.unconstrained);
    EXPECT_TRUE(all_layers(whole.constrained->codes));
    EXPECT_TRUE(all_layers(whole.unconstrained->codes));
    EXPECT_GE(whole.unconstrained->episode, 18);
    // Stopped while every episode left a layer exact, the greedy proposal (every layer) is the
    // best so far.
    const auto early = run("early", 6);
    ASSERT_TRUE(early.constrained && early.unconstrained);
    EXPECT_TRUE(all_layers(early.unconstrained->codes));
    EXPECT_EQ(early.unconstrained->episode, -1);
}

TEST(SearchDriver, StopAndResumeWritesTheFilesOfAnUninterruptedRun) {
    TempDir dir;
    ToyEvaluator e1(1);
    run_ppo(settings(dir.file("whole"), 25), e1);

    auto s = settings(dir.file("parts"), 25);
    s.stop_after = 3; // 9 episodes; the checkpoint falls between held-out rounds
    ToyEvaluator e2(1);
    EXPECT_EQ(run_ppo(s, e2).status, SearchStatus::Stopped);
    EXPECT_FALSE(io::file_exists(dir.file("parts/result.json")));
    {
        std::ofstream junk(dir.file("parts/history.jsonl"), std::ios::app);
        junk << "{\"type\": \"written after the checkpoint\"}\n";
    }
    s.stop_after = 2;
    ToyEvaluator e3(1);
    EXPECT_EQ(run_ppo(s, e3).status, SearchStatus::Stopped);
    s.stop_after = 0;
    ToyEvaluator e4(1);
    EXPECT_EQ(run_ppo(s, e4).status, SearchStatus::Finished);
    EXPECT_EQ(read(dir.file("whole/history.jsonl")), read(dir.file("parts/history.jsonl")));
    EXPECT_EQ(result_without_time(dir.file("whole/result.json")),
              result_without_time(dir.file("parts/result.json")));
    EXPECT_EQ(result_without_time(dir.file("whole/result_unconstrained.json")),
              result_without_time(dir.file("parts/result_unconstrained.json")));
}

TEST(SearchDriver, ASignalCheckpointsAndTheNextRunContinuesExactly) {
    TempDir dir;
    ToyEvaluator e1(2);
    run_ppo(settings(dir.file("whole"), 24), e1);
    ToyEvaluator e2(2);
    e2.raise_at_ = 3; // SIGUSR1 in the 3rd reward evaluation: that generation ends, then stop
    const auto first = run_ppo(settings(dir.file("cut"), 24), e2);
    EXPECT_EQ(first.status, SearchStatus::Interrupted);
    EXPECT_EQ(first.signal, SIGUSR1);
    EXPECT_EQ(first.episodes, 9);
    ToyEvaluator e3(2);
    EXPECT_EQ(run_ppo(settings(dir.file("cut"), 24), e3).status, SearchStatus::Finished);
    EXPECT_EQ(read(dir.file("whole/history.jsonl")), read(dir.file("cut/history.jsonl")));
    EXPECT_EQ(result_without_time(dir.file("whole/result.json")),
              result_without_time(dir.file("cut/result.json")));
}

TEST(SearchDriver, AFinishedRunIsNotRepeatedButALargerBudgetContinuesIt) {
    TempDir dir;
    ToyEvaluator e(1);
    run_ppo(settings(dir.file("out"), 12), e);
    ToyEvaluator again(1);
    EXPECT_EQ(run_ppo(settings(dir.file("out"), 12), again).status, SearchStatus::AlreadyFinished);
    ToyEvaluator more(1);
    const auto s = run_ppo(settings(dir.file("out"), 18), more);
    EXPECT_EQ(s.status, SearchStatus::Finished);
    EXPECT_EQ(s.episodes, 18);
    EXPECT_EQ(json::parse(read(dir.file("out/result.json"))).at("episodes"), 18);
}

TEST(SearchDriver, ACheckpointOfAnotherConfigOrMethodIsRefused) {
    TempDir dir;
    ToyEvaluator e(1);
    auto s = settings(dir.file("out"), 6);
    s.stop_after = 1;
    run_ppo(s, e);
    s.resume_key = "key: 2\n";
    ToyEvaluator e2(1);
    expect_error<ConfigError>([&] { run_ppo(s, e2); },
                              {"another config", "'key: 1'", "'key: 2'", "--force"});
    s.resume_key = "key: 1\n";
    s.info.method = "random";
    search::RandomSearch random(kSpace, 3, 3);
    ToyEvaluator e3(1);
    expect_error<ConfigError>([&] { SearchDriver(random, e3, s).run(); },
                              {"holds a ppo search, not random"});
}

TEST(SearchDriver, WhenNoCandidateMeetsTheLimitTheResultSaysSoAndStillHoldsTheClosest) {
    TempDir dir;
    auto s = settings(dir.file("out"), 9);
    s.max_acc_drop = 0.0; // the toy's held-out accuracy is always 0.25 below the teacher's
    ToyEvaluator e(1);
    search::RandomSearch random(kSpace, 3, 3);
    s.info.method = "random";
    const auto summary = SearchDriver(random, e, s).run();
    EXPECT_FALSE(summary.constraint_met);
    const auto r = json::parse(read(dir.file("out/result.json")));
    EXPECT_FALSE(r.at("constraint_met").get<bool>());
    EXPECT_EQ(r.at("selection").get<std::string>().rfind("NO candidate met the limit", 0), 0u)
        << r.at("selection");
    EXPECT_EQ(r.at("layers").size(), 3u);
    EXPECT_TRUE(io::file_exists(dir.file("out/result_unconstrained.json")));
}

TEST(SearchDriver, EvaluationAndTimeBudgetsStopTheSearch) {
    TempDir dir;
    auto s = settings(dir.file("evals"), 0);
    s.search.max_evaluations = 10; // not a multiple of the generation (3)
    ToyEvaluator e(1);
    EXPECT_EQ(run_ppo(s, e).evaluations, 10);
    auto t = settings(dir.file("time"), 0);
    t.search.max_seconds = 0.2;
    ToyEvaluator e2(1);
    const auto summary = run_ppo(t, e2);
    EXPECT_EQ(summary.status, SearchStatus::Finished);
    EXPECT_GE(summary.wall_seconds, 0.2);
    EXPECT_GT(summary.episodes, 0);
}

/// The toy evaluator that also takes `ms_per_candidate` milliseconds per reward candidate.
class SlowEvaluator final : public Evaluator {
public:
    explicit SlowEvaluator(int ms_per_candidate) : toy_(1), ms_(ms_per_candidate) {}
    std::vector<Fitness> evaluate(const std::vector<CodeSet>& c, ScoringRole role) override {
        if (role == ScoringRole::Reward) {
            std::this_thread::sleep_for(std::chrono::milliseconds(ms_ * c.size()));
        }
        return toy_.evaluate(c, role);
    }
    int64_t images(ScoringRole role) const override { return toy_.images(role); }

private:
    ToyEvaluator toy_;
    int ms_;
};

TEST(SearchDriver, TimingSplitsTheLoopOfThisCallIntoItsParts) {
    TempDir dir;
    auto s = settings(dir.file("out"), 12); // 4 generations of 3
    s.search.eval_every = 6;                // one held-out round inside the loop
    s.stop_after = 3;
    SlowEvaluator e(5);
    const auto first = run_ppo(s, e);
    ASSERT_EQ(first.status, SearchStatus::Stopped);
    const SearchTiming& t = first.timing;
    EXPECT_EQ(t.episodes, 9);
    EXPECT_EQ(t.generations, 3);
    EXPECT_GE(t.evaluate, 9 * 0.005); // the evaluator's sleep is counted as evaluation
    for (const double part : {t.ask, t.tell, t.history, t.checkpoint, t.holdout, t.other()}) {
        EXPECT_GE(part, 0.0);
    }
    EXPECT_GT(t.checkpoint, 0.0); // checkpoint_every 2: one inside the loop
    EXPECT_GT(t.holdout, 0.0);
    EXPECT_LE(t.evaluate + t.ask + t.tell + t.history + t.checkpoint + t.holdout, t.loop);
    EXPECT_LE(t.loop, first.wall_seconds);
    EXPECT_EQ(t.finish, 0.0); // stopped: no final round

    // The resumed call counts only its own generation, and its final round as `finish`.
    s.stop_after = 0;
    SlowEvaluator e2(5);
    const auto rest = run_ppo(s, e2);
    ASSERT_EQ(rest.status, SearchStatus::Finished);
    EXPECT_EQ(rest.timing.episodes, 3);
    EXPECT_EQ(rest.timing.generations, 1);
    EXPECT_GE(rest.timing.evaluate, 3 * 0.005);
    EXPECT_GT(rest.timing.finish, 0.0);
    EXPECT_LE(rest.timing.loop + rest.timing.finish, rest.wall_seconds);
}

} // namespace
} // namespace triseg::search
