// dump-acts and replay on graph models end to end: a tiny ResNet run's dump holds every point
// (dotted names) and h5dump reads it; exact replay reproduces eval-codes' teacher and each row
// with codes equals analyze-sensitivity's leave-one-in row; a MobileNetV2-like dump stores its
// non-point skip under /live; a two-rank dump replays as the single one; another model is
// refused.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/config/config.h"
#include "io/atomic_file.h"
#include "io/h5_int8_model.h"
#include "tests/cli/cli_runner.h"
#include "tests/engine/int8/graph_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

/// `dir`/<name> with config.yaml (Fashion-MNIST at 28x28, 2000 train / 120 test images, 1
/// thread) and int8/model.h5 = `graph`.
std::string make_graph_run(const TempDir& dir, const models::Int8Graph& graph, const char* name) {
    const std::string run = dir.file(name);
    cli::RunConfig cfg;
    cfg.model = graph.model;
    cfg.data.image_size = graph.model.image_size;
    cfg.data.train_limit = 2000;
    cfg.data.test_limit = 120;
    cfg.runtime.threads = 1;
    io::ensure_directory(run + "/int8");
    io::write_file_atomic(run + "/config.yaml", cli::to_yaml(cfg));
    io::write_int8_graph(graph, run + "/int8/model.h5");
    return run;
}

nlohmann::json read_json(const std::string& path) {
    return nlohmann::json::parse(io::read_file(path));
}

/// The layers of a replay report without their timings.
nlohmann::json layers_without_seconds(nlohmann::json j) {
    for (auto& [name, l] : j["layers"].items()) {
        l.erase("suffix_seconds");
    }
    return j["layers"];
}

TEST(CliGraphReplay, ResNetDumpReplaysEveryPointAsTheFullForward) {
    TempDir dir;
    const std::string run = make_graph_run(dir, random_resnet_graph(5, 1, 28), "resnet");
    const std::string rd = " --run-dir '" + run + "'";
    Result r = triseg("eval-codes --evenly-spaced" + rd);
    ASSERT_EQ(r.code, 0) << r.output;
    const auto eval = read_json(run + "/codes/eval_evenly-spaced.json");
    r = triseg("dump-acts" + rd);
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string acts = run + "/acts/acts_int8.h5";
    EXPECT_TRUE(contains(r.output, "5 layers")) << r.output;
    if (std::system("command -v h5dump > /dev/null 2>&1") == 0) {
        const Result h = shell("h5dump -H '" + acts + "'");
        EXPECT_EQ(h.code, 0) << h.output;
        EXPECT_TRUE(contains(h.output, "DATASET \"layer1.0.conv1\"")) << h.output;
        EXPECT_FALSE(contains(h.output, "GROUP \"live\"")) << "every ResNet skip is a point";
    }

    // Exact: every point, replayed from its live set, is the teacher.
    r = triseg("replay --acts '" + acts + "' -o '" + dir.file("exact.json") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto exact = read_json(dir.file("exact.json"));
    EXPECT_EQ(exact["images"], 120);
    EXPECT_EQ(exact["acc_teacher"].get<double>(), eval["acc_teacher"].get<double>());
    ASSERT_EQ(exact["layers"].size(), 5u);
    for (const auto& [name, l] : exact["layers"].items()) {
        EXPECT_EQ(l["kd_loss"].get<double>(), 0.0) << name;
        EXPECT_EQ(l["agreement"].get<double>(), 100.0) << name;
    }

    // With codes: row k is the student with layer k's table alone, as analyze-sensitivity's
    // leave-one-in row k (a full network pass of its own).
    const std::string codes = run + "/codes/evenly-spaced.json";
    r = triseg("replay --acts '" + acts + "' --codes '" + codes + "' -o '" + dir.file("rp.json") +
               "'");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "layer2.0.conv1")) << r.output;
    r = triseg("analyze-sensitivity --mode leave-one-in --codes '" + codes + "' -o '" +
               dir.file("sens.json") + "'" + rd);
    ASSERT_EQ(r.code, 0) << r.output;
    const auto rp = read_json(dir.file("rp.json"));
    const auto sens = read_json(dir.file("sens.json"));
    ASSERT_EQ(sens["ranking"].size(), 5u);
    for (const auto& row : sens["ranking"]) {
        const auto& l = rp["layers"][row["layer"].get<std::string>()];
        EXPECT_EQ(l["acc_student"].get<double>(), row["acc_student"].get<double>()) << row;
        EXPECT_EQ(l["agreement"].get<double>(), row["agreement"].get<double>()) << row;
        EXPECT_NEAR(l["kd_loss"].get<double>(), row["kd_loss"].get<double>(), 1e-9) << row;
    }

    // Two ranks write shards and an index; replaying it gives the same report.
    const std::string index = dir.file("mpi/acts.h5");
    r = shell("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 TRISEG_NO_PROGRESS=1 "
              "OMP_WAIT_POLICY=PASSIVE mpirun -np 2 --oversubscribe " +
              binary() + " dump-acts -o '" + index + "'" + rd);
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg("replay --acts '" + index + "' --codes '" + codes + "' -o '" + dir.file("rp2.json") +
               "'");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(layers_without_seconds(read_json(dir.file("rp2.json"))), layers_without_seconds(rp));

    // A dump replayed on another model is refused, naming both.
    const std::string other = make_graph_run(dir, random_resnet_graph(6, 1, 28), "other");
    r = triseg("replay --acts '" + acts + "' --model '" + other + "/int8/model.h5' -o '" +
               dir.file("bad.json") + "'");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "another model")) << r.output;
    EXPECT_FALSE(io::file_exists(dir.file("bad.json")));
}

TEST(CliGraphReplay, MobileNetDumpStoresItsSkipAndReplaysExactly) {
    TempDir dir;
    const std::string run = make_graph_run(dir, random_mobilenet_graph(6, 1, 28), "mobilenet");
    const std::string rd = " --run-dir '" + run + "'";
    Result r = triseg("dump-acts --images 50" + rd);
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string acts = run + "/acts/acts_int8.h5";
    if (std::system("command -v h5dump > /dev/null 2>&1") == 0) {
        const Result h = shell("h5dump -H '" + acts + "'");
        EXPECT_EQ(h.code, 0) << h.output;
        EXPECT_TRUE(contains(h.output, "GROUP \"live\"")) << h.output;
        EXPECT_TRUE(contains(h.output, "DATASET \"features.1.project\"")) << h.output;
    }
    r = triseg("replay --acts '" + acts + "' -o '" + dir.file("exact.json") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto exact = read_json(dir.file("exact.json"));
    ASSERT_EQ(exact["layers"].size(), 7u);
    for (const auto& [name, l] : exact["layers"].items()) {
        EXPECT_EQ(l["kd_loss"].get<double>(), 0.0) << name;
        EXPECT_EQ(l["agreement"].get<double>(), 100.0) << name;
    }
}

} // namespace
} // namespace triseg::test
