// `triseg train-ste` and `triseg analyze-variance` end to end on tiny trained graph runs (a
// ResNet-20 and a MobileNetV2): the STE trains at every approximation point, its result is
// keyed by the integer model's point names and reads back through eval-codes, a resumed run
// equals an uninterrupted one, a fixed tmax and an --init file work, a QAT model whose points
// are not the integer model's is refused, and analyze-variance names every point.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/code_set.h"
#include "io/atomic_file.h"
#include "io/h5_int8_model.h"
#include "models/spec/int8_graph.h"
#include "tests/cli/cli_runner.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

using json = nlohmann::json;

constexpr int kInput = 3;

/// Small sets and a large learning rate so that a few tiny epochs move codes.
const std::string kSets = " --set search.reward_images=60 --set search.eval_images=50"
                          " --set ste.batch_size=32 --set ste.lr=0.3 --set ste.log_every=2"
                          " --set runtime.threads=1";

/// The two graph families: the shipped config of each, made tiny.
struct Arch {
    std::string name;
    std::string config;
    std::string width;
};
const std::vector<Arch> kArchs = {{"resnet20", "configs/fmnist-resnet20.yaml", "0.25"},
                                  {"mobilenetv2", "configs/fmnist-mobilenetv2.yaml", "0.25"}};

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

json read_json(const std::string& path) {
    return json::parse(io::read_file(path));
}

json result_without_times(const std::string& path) {
    auto j = read_json(path);
    j.erase("wall_seconds");
    return j;
}

/// The keys of a JSON object, sorted (nlohmann::json keeps object keys sorted).
std::vector<std::string> keys(const json& object) {
    std::vector<std::string> out;
    for (const auto& [k, _] : object.items()) {
        out.push_back(k);
    }
    return out;
}

class GraphSteCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<TempDir>();
        for (const Arch& a : kArchs) {
            const std::string rd = " -r " + run(a);
            for (const std::string& step :
                 {"train-float -c " + a.config + " --set model.width=" + a.width +
                      " --set train.epochs=1 --set data.train_limit=300 --set data.val_size=0"
                      " --set data.test_limit=100 --set runtime.threads=1 -q" +
                      rd,
                  "train-qat" + rd +
                      " --set qat.epochs=1 --set qat.calibration_batches=2"
                      " --set qat.batch_size=64 -q",
                  "export-int8" + rd}) {
                const Result r = triseg(step);
                ASSERT_EQ(r.code, 0) << step << "\n" << r.output;
            }
            // The uninterrupted reference: 2 epochs of the original variant.
            const Result r = triseg(ste(a, "whole", 2));
            ASSERT_EQ(r.code, 0) << r.output;
        }
    }
    static void TearDownTestSuite() { dir_.reset(); }

    static std::string run(const Arch& a) { return dir_->file("run-" + a.name); }
    static std::string out(const Arch& a, const std::string& name) {
        return dir_->file(a.name + "-" + name);
    }
    static std::string
    ste(const Arch& a, const std::string& name, int epochs, const std::string& extra = "") {
        return "train-ste -r " + run(a) + " -o " + out(a, name) + kSets +
               " --set ste.epochs=" + std::to_string(epochs) + extra;
    }
    static std::string file(const Arch& a, const std::string& name, const std::string& f) {
        return out(a, name) + "/" + f;
    }
    /// The integer model's approximation points, in forward order.
    static std::vector<std::string> points(const Arch& a) {
        const auto graph = io::read_int8_graph(run(a) + "/int8/model.h5");
        std::vector<std::string> names;
        for (int32_t t : models::graph_points(graph)) {
            names.push_back(graph.tensors[static_cast<size_t>(t)].name);
        }
        return names;
    }
    static std::vector<std::string> sorted_points(const Arch& a) {
        auto names = points(a);
        std::sort(names.begin(), names.end());
        return names;
    }

    static std::unique_ptr<TempDir> dir_;
};

std::unique_ptr<TempDir> GraphSteCli::dir_;

TEST_F(GraphSteCli, TrainsAtEveryPointAndEvalCodesReadsItsResult) {
    for (const Arch& a : kArchs) {
        SCOPED_TRACE(a.name);
        const auto names = points(a);
        ASSERT_GT(names.size(), 8u);
        const auto result = read_json(file(a, "whole", "result.json"));
        EXPECT_EQ(result["method"], "ste-original");
        EXPECT_EQ(keys(result["layers"]), sorted_points(a));
        EXPECT_EQ(keys(read_json(file(a, "whole", "init.json"))["layers"]), sorted_points(a));
        EXPECT_EQ(result["codes_total"], 5 * static_cast<int64_t>(names.size()));
        EXPECT_GT(result["codes_moved"].get<int>(), 0) << result.dump(1);
        for (const auto& [name, c] : result["layers"].items()) {
            const engine::LayerCodes codes{c["t1_code"].get<int32_t>(), c["v1_code"].get<int32_t>(),
                                           c["t2_code"].get<int32_t>(), c["v2_code"].get<int32_t>(),
                                           c["tmax_code"].get<int32_t>()};
            EXPECT_TRUE(engine::map_valid(codes)) << name << " " << c.dump();
        }
        // Every history record covers every point.
        const auto history = jsonl(file(a, "whole", "history.jsonl"));
        ASSERT_FALSE(history.empty());
        EXPECT_EQ(history.back()["epoch"], 2);
        EXPECT_EQ(keys(history.back()["layers"]), sorted_points(a));
        EXPECT_EQ(jsonl(file(a, "whole", "metrics.jsonl")).size(), 2u);

        // eval-codes reads the result and scores the test split as train-ste did.
        const std::string eval = dir_->file(a.name + "-eval.json");
        const Result r = triseg("eval-codes -r " + run(a) + " --codes " +
                                file(a, "whole", "result.json") + " -o " + eval);
        ASSERT_EQ(r.code, 0) << r.output;
        const auto mine = read_json(eval);
        const auto ste_test = read_json(file(a, "whole", "eval_test.json"));
        EXPECT_EQ(mine["images"], ste_test["images"]);
        EXPECT_EQ(mine["acc_student"], ste_test["acc_student"]);
        EXPECT_EQ(mine["acc_teacher"], ste_test["acc_teacher"]);
    }
}

TEST_F(GraphSteCli, StopAfterAndResumeEqualsUninterrupted) {
    for (const Arch& a : kArchs) {
        SCOPED_TRACE(a.name);
        Result r = triseg(ste(a, "split", 2, " --stop-after 1 -q"));
        ASSERT_EQ(r.code, 0) << r.output;
        EXPECT_FALSE(std::filesystem::exists(file(a, "split", "result.json")));
        EXPECT_EQ(jsonl(file(a, "split", "metrics.jsonl")).size(), 1u);
        r = triseg(ste(a, "split", 2, " -q"));
        ASSERT_EQ(r.code, 0) << r.output;
        EXPECT_EQ(io::read_file(file(a, "split", "history.jsonl")),
                  io::read_file(file(a, "whole", "history.jsonl")));
        EXPECT_EQ(without_times(jsonl(file(a, "split", "metrics.jsonl"))),
                  without_times(jsonl(file(a, "whole", "metrics.jsonl"))));
        EXPECT_EQ(result_without_times(file(a, "split", "result.json")),
                  result_without_times(file(a, "whole", "result.json")));
    }
}

TEST_F(GraphSteCli, AFixedTmaxFromAnInitFileHoldsAtEveryPoint) {
    constexpr int kT = 20;
    for (const Arch& a : kArchs) {
        SCOPED_TRACE(a.name);
        const Result r = triseg(ste(a, "fixed", 1,
                                    " --set ste.tmax=" + std::to_string(kT) + " --init " +
                                        file(a, "whole", "result.json") + " --variant lsq -q"));
        ASSERT_EQ(r.code, 0) << r.output;
        const auto start = read_json(file(a, "fixed", "init.json"));
        const auto result = read_json(file(a, "fixed", "result.json"));
        EXPECT_EQ(result["method"], "ste-lsq");
        EXPECT_EQ(result["init"], file(a, "whole", "result.json"));
        EXPECT_EQ(keys(result["layers"]), sorted_points(a));
        for (const auto& [name, c] : result["layers"].items()) {
            EXPECT_EQ(c["tmax_code"], kT) << name;
            EXPECT_EQ(start["layers"][name]["tmax_code"], kT) << name;
            EXPECT_LT(c["t1_code"].get<int>(), c["t2_code"].get<int>()) << name;
            EXPECT_LT(c["t2_code"].get<int>(), kT) << name;
        }
    }
}

TEST_F(GraphSteCli, AQatModelWithOtherPointsIsRefusedNamingTheFirst) {
    // The same run with one point renamed in the integer model: the QAT student's points are
    // no longer the integer model's.
    const Arch& a = kArchs.front();
    const std::string copy = dir_->file("renamed");
    std::filesystem::create_directories(copy + "/int8");
    std::filesystem::create_directories(copy + "/qat");
    std::filesystem::copy_file(run(a) + "/config.yaml", copy + "/config.yaml");
    std::filesystem::copy_file(run(a) + "/qat/model.pt", copy + "/qat/model.pt");
    auto graph = io::read_int8_graph(run(a) + "/int8/model.h5");
    const std::string old_name = "layer1.0.conv1";
    for (auto& t : graph.tensors) {
        if (t.name == old_name) {
            t.name = "layer1.0.renamed";
        }
    }
    for (auto& op : graph.ops) {
        if (op.name == old_name) {
            op.name = "layer1.0.renamed";
        }
    }
    io::write_int8_graph(graph, copy + "/int8/model.h5");
    const Result r = triseg("train-ste -r " + copy + " -o " + dir_->file("renamed-out") + kSets +
                            " --set ste.epochs=1 -q");
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "'layer1.0.conv1' there and 'layer1.0.renamed' in the "
                                   "integer model"))
        << r.output;
}

TEST_F(GraphSteCli, AnalyzeVarianceNamesEveryPointAndAddsHaveNoWeights) {
    for (const Arch& a : kArchs) {
        SCOPED_TRACE(a.name);
        const std::string dir = dir_->file(a.name + "-analysis");
        const Result r = triseg("analyze-variance -r " + run(a) + " -n 50 --out-dir " + dir);
        ASSERT_EQ(r.code, 0) << r.output;
        const auto weights = read_json(dir + "/weight_variance.json")["layers"];
        const auto acts = read_json(dir + "/activation_variance.json")["layers"];
        EXPECT_EQ(keys(weights), sorted_points(a));
        EXPECT_EQ(keys(acts), sorted_points(a));
        // ResNet: each block's output is an add's ReLU (no weights); MobileNetV2's points are
        // all convs (its adds are linear).
        const auto names = points(a);
        int adds = 0;
        for (const auto& name : names) {
            const bool add = name.size() > 4 && name.compare(name.size() - 4, 4, ".out") == 0;
            adds += add;
            if (add) {
                EXPECT_TRUE(weights[name].is_null()) << name;
                EXPECT_TRUE(contains(r.output, name)) << r.output;
            } else {
                EXPECT_GT(weights[name]["count"].get<int64_t>(), 0) << name;
                EXPECT_GT(weights[name]["std"].get<double>(), 0.0) << name;
            }
            EXPECT_GT(acts[name]["count"].get<int64_t>(), 0) << name;
            EXPECT_GT(acts[name]["scale"].get<double>(), 0.0) << name;
        }
        EXPECT_EQ(adds, a.name == "resnet20" ? 9 : 0);
        // The name column fits the longest name, and an add's weight columns say "-".
        const auto& longest = *std::max_element(
            names.begin(), names.end(),
            [](const std::string& x, const std::string& y) { return x.size() < y.size(); });
        EXPECT_TRUE(contains(r.output, "\n" + longest + " ")) << r.output;
        if (a.name == "resnet20") {
            EXPECT_TRUE(contains(r.output, "\nlayer1.0.out   ")) << r.output;
            const auto row = r.output.substr(r.output.find("\nlayer1.0.out "), 80);
            EXPECT_TRUE(contains(row, "          - ")) << row;
        }
    }
}

} // namespace
} // namespace triseg::test
