// `triseg describe` on a residual graph model: points in forward order, shapes, MACs, replay
// and percentiles; bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "io/h5_int8_model.h"
#include "io/h5_percentiles.h"
#include "tests/cli/cli_runner.h"
#include "tests/engine/int8/graph_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

TEST(CliDescribe, ListsThePointsOfAResidualGraphWithPercentiles) {
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "int8");
    std::filesystem::create_directories(dir.path() / "acts");
    const models::Int8Graph g = random_resnet_graph(4, 3, 32);
    io::write_int8_graph(g, dir.file("int8/model.h5"));
    Result r = triseg("describe --run-dir '" + dir.path().string() + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "11 ops, 5 approximation points")) << r.output;
    EXPECT_TRUE(contains(r.output, "layer1.0.out")) << r.output;
    EXPECT_FALSE(contains(r.output, "p50")) << "no percentiles file yet:\n" << r.output;

    // A percentiles file: each point's histogram puts half of its codes at 7, the rest at 200.
    io::PercentilesFile p;
    p.levels = {50.0};
    p.images = 1;
    p.source = "test";
    p.model = "int8/model.h5";
    p.created = "2026-12-07T00:00:00Z";
    p.tool_version = "test";
    for (int32_t t : models::graph_points(g)) {
        io::LayerPercentiles l;
        l.name = g.tensors[static_cast<size_t>(t)].name;
        l.scale = 0.1f;
        l.histogram[7] = 50;
        l.histogram[200] = 50;
        l.percentiles = {7};
        p.layers.push_back(l);
    }
    io::write_percentiles(p, dir.file("acts/percentiles.h5"));
    r = triseg("describe --json --run-dir '" + dir.path().string() + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    ASSERT_EQ(j["layers"].size(), 5u);
    const auto& l1 = j["layers"][1];
    EXPECT_EQ(l1["name"], "layer1.0.conv1");
    EXPECT_EQ(l1["shape"], nlohmann::json::array({8, 32, 32}));
    EXPECT_EQ(l1["macs"], 8 * 8 * 9 * 32 * 32);
    EXPECT_EQ(l1["replayable"], false);
    EXPECT_EQ(l1["live"], nlohmann::json::array({"layer1.0.conv1", "conv1"}));
    EXPECT_EQ(l1["p50"], 7);
    EXPECT_EQ(l1["p90"], 200);
    EXPECT_EQ(j["layers"][2]["replayable"], true);
    EXPECT_EQ(j["layers"][2]["live"], nlohmann::json::array({"layer1.0.out"}));
    EXPECT_EQ(j["layers"][3]["shape"], nlohmann::json::array({16, 16, 16}));

    // A percentiles file of another model names the missing point.
    p.layers.pop_back();
    io::write_percentiles(p, dir.file("acts/percentiles.h5"));
    r = triseg("describe --run-dir '" + dir.path().string() + "'");
    EXPECT_EQ(r.code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "has no layer 'layer2.0.out'")) << r.output;
}

TEST(CliDescribe, BadInputIsAClearError) {
    TempDir dir;
    Result r = triseg("describe");
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "exactly one of --run-dir DIR and --model FILE")) << r.output;
    r = triseg("describe --model '" + dir.file("none.h5") + "'");
    EXPECT_EQ(r.code, 4) << r.output;
    EXPECT_TRUE(contains(r.output, "none.h5")) << r.output;
}

} // namespace
} // namespace triseg::test
