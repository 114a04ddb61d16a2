// `triseg train-ste` end to end on a tiny trained run: the loss falls and codes move, the
// files are what docs/files.md says, a resumed run (after --stop-after or SIGTERM) equals an
// uninterrupted one, --init starts from a result, and bad input gets clear errors.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "tests/cli/cli_runner.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

using json = nlohmann::json;

constexpr int kUsage = 2;
constexpr int kInput = 3;
constexpr int kIo = 4;
constexpr int kInterrupted = 130;

/// Small sets and a large learning rate so that a few tiny epochs move codes.
const std::string kSets = " --set search.reward_images=60 --set search.eval_images=50"
                          " --set ste.batch_size=32 --set ste.lr=0.3 --set ste.log_every=2"
                          " --set runtime.threads=1";

std::vector<json> jsonl(const std::string& path) {
    std::vector<json> out;
    std::istringstream in(io::read_file(path));
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(json::parse(line));
    }
    return out;
}

/// Records without what depends on the machine and the moment (times and rates).
std::vector<json> without_times(std::vector<json> recs) {
    for (auto& r : recs) {
        for (const char* k : {"images_per_s", "epoch_seconds", "wall_seconds"}) {
            r.erase(k);
        }
    }
    return recs;
}

json result_without_times(const std::string& path) {
    auto j = json::parse(io::read_file(path));
    j.erase("wall_seconds");
    return j;
}

class SteCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<TempDir>();
        run_ = dir_->file("run");
        const std::string rd = " -r " + run_;
        for (const std::string& step :
             {"train-float -c configs/tiny.yaml --set train.epochs=1 --set data.train_limit=300 "
              "--set data.val_size=0 --set data.test_limit=100 -q" +
                  rd,
              "train-qat" + rd + " --set qat.epochs=1 --set qat.calibration_batches=2 -q",
              "export-int8" + rd}) {
            const Result r = triseg(step);
            ASSERT_EQ(r.code, 0) << step << "\n" << r.output;
        }
        // The uninterrupted reference: 3 epochs of the original variant.
        const Result r = triseg(ste("whole", 3));
        ASSERT_EQ(r.code, 0) << r.output;
        whole_output_ = r.output;
    }
    static void TearDownTestSuite() { dir_.reset(); }

    static std::string ste(const std::string& out, int epochs, const std::string& extra = "") {
        return "train-ste -r " + run_ + " -o " + dir_->file(out) + kSets +
               " --set ste.epochs=" + std::to_string(epochs) + extra;
    }
    static std::string file(const std::string& out, const std::string& name) {
        return dir_->file(out) + "/" + name;
    }

    static std::unique_ptr<TempDir> dir_;
    static std::string run_;
    static std::string whole_output_;
};

std::unique_ptr<TempDir> SteCli::dir_;
std::string SteCli::run_;
std::string SteCli::whole_output_;

TEST_F(SteCli, LossFallsCodesMoveAndTheFilesAreComplete) {
    const auto epochs = jsonl(file("whole", "metrics.jsonl"));
    ASSERT_EQ(epochs.size(), 3u);
    EXPECT_LT(epochs.back()["train_loss"].get<double>(),
              epochs.front()["train_loss"].get<double>());
    for (const auto& e : epochs) {
        for (const char* k : {"beta", "kd", "coverage", "covered", "codes", "codes_moved",
                              "grad_norm", "test_acc"}) {
            EXPECT_TRUE(e.contains(k)) << k << " " << e.dump();
        }
        const auto& g = e["grad_norm"]["all"];
        EXPECT_LE(g["p1"].get<double>(), g["p50"].get<double>());
        EXPECT_LE(g["p50"].get<double>(), g["p99"].get<double>());
        EXPECT_GT(g["p99"].get<double>(), 0.0);
    }
    EXPECT_DOUBLE_EQ(epochs[0]["beta"].get<double>(), 1.2);
    EXPECT_DOUBLE_EQ(epochs[1]["beta"].get<double>(), 1.2 * 0.85);

    const auto result = json::parse(io::read_file(file("whole", "result.json")));
    EXPECT_EQ(result["method"], "ste-original");
    EXPECT_EQ(result["codes_total"], 5 * 8); // VGG-11: 8 convs
    EXPECT_GT(result["codes_moved"].get<int>(), 0) << result.dump(1);
    EXPECT_EQ(result["codes_moved"], epochs.back()["codes_moved"]);
    EXPECT_EQ(result["layers"].size(), 8u);
    for (const char* k : {"reward", "holdout", "init_reward", "init_holdout", "init_codes",
                          "metrics", "reward_set", "holdout_set", "train_set"}) {
        EXPECT_TRUE(result.contains(k)) << k;
    }
    // 300 training images minus the 50 held-out ones; the held-out numbers are its metrics.
    EXPECT_EQ(result["train_images"], 250);
    EXPECT_EQ(result["holdout"]["images"], 50);
    EXPECT_EQ(result["metrics"]["acc_drop"].get<double>(),
              result["holdout"]["acc_teacher"].get<double>() -
                  result["holdout"]["acc_student"].get<double>());

    // history.jsonl: every log_every-th step and each epoch's last, per layer codes,
    // parameters and gradient norms.
    const auto history = jsonl(file("whole", "history.jsonl"));
    ASSERT_FALSE(history.empty());
    EXPECT_EQ(history.front()["step"], 1);
    EXPECT_EQ(history.back()["step"], 3 * (250 / 32));
    EXPECT_EQ(history.back()["epoch"], 3);
    const auto& layer = history.back()["layers"]["conv1_1"];
    for (const char* p : {"t1_base_p", "dt12_p", "dt2m_p", "v1_code_p", "v2_code_p"}) {
        EXPECT_TRUE(layer["params"].contains(p) && layer["grad_norm"].contains(p)) << p;
    }
    EXPECT_EQ(layer["codes"], result["layers"]["conv1_1"]);

    // The test-set evaluations of the final and the start codes, as eval-codes writes them.
    const auto test = json::parse(io::read_file(file("whole", "eval_test.json")));
    const auto init = json::parse(io::read_file(file("whole", "eval_init_test.json")));
    EXPECT_EQ(test["images"], 100);
    EXPECT_EQ(init["images"], 100);
    EXPECT_TRUE(contains(whole_output_, "codes moved from the start")) << whole_output_;
    // A rerun reports the finished folder and changes nothing.
    const Result again = triseg(ste("whole", 3));
    EXPECT_EQ(again.code, 0);
    EXPECT_TRUE(contains(again.output, "already trained")) << again.output;
}

TEST_F(SteCli, StopAfterAndResumeEqualsUninterrupted) {
    Result r = triseg(ste("split", 3, " --stop-after 1 -q"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_FALSE(std::filesystem::exists(file("split", "result.json")));
    EXPECT_EQ(jsonl(file("split", "metrics.jsonl")).size(), 1u);
    r = triseg(ste("split", 3, " -q"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(io::read_file(file("split", "history.jsonl")),
              io::read_file(file("whole", "history.jsonl")));
    EXPECT_EQ(without_times(jsonl(file("split", "metrics.jsonl"))),
              without_times(jsonl(file("whole", "metrics.jsonl"))));
    EXPECT_EQ(result_without_times(file("split", "result.json")),
              result_without_times(file("whole", "result.json")));
}

TEST_F(SteCli, SigtermStopsCleanlyAndTheRunResumes) {
    // Many epochs, so that the signal lands while it trains; it is sent once the first epoch
    // is saved.
    const std::string out = "term";
    const std::string cmd = binary() + " " + ste(out, 60, " -q") + " > " + dir_->file("term.log") +
                            " 2>&1 & echo $! > " + dir_->file("term.pid");
    ASSERT_EQ(shell(cmd).code, 0);
    const std::string metrics = file(out, "metrics.jsonl");
    for (int i = 0; i < 1200 && !std::filesystem::exists(metrics); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(std::filesystem::exists(metrics));
    std::string pid = io::read_file(dir_->file("term.pid"));
    pid.erase(pid.find_last_not_of(" \n") + 1);
    const Result wait = shell("pid=" + pid + "; kill -TERM $pid; while kill -0 $pid 2>/dev/null; " +
                              "do sleep 0.1; done; wait $pid 2>/dev/null; true");
    ASSERT_EQ(wait.code, 0);
    const std::string log = io::read_file(dir_->file("term.log"));
    EXPECT_TRUE(contains(log, "interrupted by SIGTERM")) << log;
    EXPECT_FALSE(std::filesystem::exists(file(out, "result.json")));
    const auto saved = jsonl(metrics).size();
    EXPECT_GE(saved, 1u);
    EXPECT_LT(saved, 60u);
    // Every history record belongs to a saved epoch.
    for (const auto& rec : jsonl(file(out, "history.jsonl"))) {
        EXPECT_LE(rec["epoch"].get<size_t>(), saved);
    }
    // Resuming with fewer epochs in the config is refused: the state was made with another ste.
    const Result changed = triseg(ste(out, 3, " -q"));
    EXPECT_EQ(changed.code, kUsage) << changed.output;
    EXPECT_TRUE(contains(changed.output, "--force")) << changed.output;
}

TEST_F(SteCli, SigtermExitCodeIs130) {
    // Waits at most 300 s for the first epoch (and says so), or for the process to end.
    const std::string cmd =
        "(" + binary() + " " + ste("term130", 60, " -q") + " & pid=$!; n=0; while [ ! -e " +
        file("term130", "metrics.jsonl") +
        " ] && kill -0 $pid 2>/dev/null && [ $n -lt 3000 ]; do sleep 0.1; n=$((n+1)); done; "
        "[ $n -lt 3000 ] || echo 'no epoch finished within 300 s'; kill -TERM $pid; wait $pid)";
    const Result r = shell(cmd);
    EXPECT_EQ(r.code, kInterrupted) << r.output;
}

TEST_F(SteCli, InitFromAResultAndTheLsqVariant) {
    // The seed document's supervised result, outside the search space, as a start.
    json layers = json::object();
    const auto whole = json::parse(io::read_file(file("whole", "result.json")));
    for (const auto& [name, _] : whole["layers"].items()) {
        layers[name] = {
            {"t1_code", 2}, {"v1_code", 2}, {"t2_code", 5}, {"v2_code", 5}, {"tmax_code", 12}};
    }
    const std::string init = dir_->file("doc.json");
    io::write_file_atomic(init, json({{"layers", layers}}).dump());
    const Result r = triseg(ste("lsq", 1, " --variant lsq --init " + init + " -q"));
    ASSERT_EQ(r.code, 0) << r.output;
    const auto start = json::parse(io::read_file(file("lsq", "init.json")));
    EXPECT_EQ(start["layers"], layers);
    const auto result = json::parse(io::read_file(file("lsq", "result.json")));
    EXPECT_EQ(result["method"], "ste-lsq");
    EXPECT_EQ(result["init"], init);
    EXPECT_TRUE(std::filesystem::exists(dir_->file("lsq") + "/config.yaml"));
}

// ste.tmax: every layer's tmax stays the fixed code through training, the codes move below
// it, and the measured coverage is that of the fixed tmax (eval-codes of the same tmax).
TEST_F(SteCli, AFixedTmaxHoldsForEveryLayer) {
    constexpr int kT = 20;
    const Result r = triseg(ste("fixed", 1, " --set ste.tmax=" + std::to_string(kT) + " -q"));
    ASSERT_EQ(r.code, 0) << r.output;
    const auto start = json::parse(io::read_file(file("fixed", "init.json")));
    const auto result = json::parse(io::read_file(file("fixed", "result.json")));
    int moved = 0;
    for (const auto& [name, c] : result["layers"].items()) {
        EXPECT_EQ(c["tmax_code"], kT) << name;
        EXPECT_EQ(start["layers"][name]["tmax_code"], kT) << name;
        EXPECT_LT(c["t1_code"].get<int>(), c["t2_code"].get<int>()) << name;
        EXPECT_LT(c["t2_code"].get<int>(), kT) << name;
        moved += c != start["layers"][name];
    }
    EXPECT_GT(moved, 0) << "no layer's codes moved in an epoch of training";
    const Result bad = triseg(ste("bad", 1, " --set ste.tmax=5"));
    EXPECT_EQ(bad.code, 2) << bad.output;
    EXPECT_NE(bad.output.find("ste.tmax"), std::string::npos) << bad.output;
}

TEST_F(SteCli, BadInputGetsClearErrors) {
    // No integer model.
    TempDir empty;
    const std::string bare = empty.file("bare");
    std::filesystem::create_directories(bare);
    std::filesystem::copy_file(run_ + "/config.yaml", bare + "/config.yaml");
    Result r = triseg("train-ste -r " + bare);
    EXPECT_EQ(r.code, kIo) << r.output;
    EXPECT_TRUE(contains(r.output, "export-int8")) << r.output;

    // A codes file of another model (other layer names).
    const std::string other = empty.file("other.json");
    io::write_file_atomic(
        other, R"({"layers": {"fc9": {"t1_code": 2, "v1_code": 3, "t2_code": 6, "v2_code": 7,)"
               R"( "tmax_code": 12}}})");
    r = triseg(ste("bad", 1, " --init " + other));
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "fc9")) << r.output;
    r = triseg(ste("bad", 1, " --init " + empty.file("missing.json")));
    EXPECT_EQ(r.code, kIo) << r.output;

    // Out-of-range options name their key.
    for (const std::string key : {"ste.alpha=-1", "ste.beta0=0", "ste.epochs=0", "ste.lr=0",
                                  "ste.lr=100", "ste.variant=adam"}) {
        r = triseg(ste("bad", 1, " --set " + key));
        EXPECT_EQ(r.code, kUsage) << key << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, key.substr(0, key.find('=')))) << key << "\n" << r.output;
    }
    r = triseg(ste("bad", 1, " --variant nope"));
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "--variant")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(file("bad", "result.json")));
}

} // namespace
} // namespace triseg::test
