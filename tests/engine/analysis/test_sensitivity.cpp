// layer_sensitivity on a random VGG model and on residual and MobileNetV2-like graphs, both modes:
// every row equals a direct Int8Network forward of its student (leave-one-out: every table but
// layer k's; leave-one-in: layer k's only), for search-space codes and for valid maps outside the
// space; the ranking order, the JSON and the errors.
#include "engine/analysis/sensitivity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/int8/int8_network.h"
#include "tests/engine/int8/graph_fixture.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

using test::expect_error;

constexpr double kWidth = 0.125;
/// Images; the batch (4) does not divide it, so the last batch is short.
constexpr int64_t kImages = 11;
constexpr int64_t kBatch = 4;
constexpr double kTemperature = 2.0;

class SensitivityTest : public ::testing::Test {
protected:
    SensitivityTest() : SensitivityTest(Int8Network(test::random_int8_model(kWidth, 41))) {}

    explicit SensitivityTest(Int8Network net) : net_(std::move(net)) {
        Rng rng(42);
        inputs_.count = kImages;
        inputs_.image_codes = net_.input_size();
        inputs_.codes = test::random_codes(kImages * net_.input_size(), rng);
        for (int64_t i = 0; i < kImages; ++i) {
            inputs_.labels.push_back((i * 7) % 10);
        }
        for (int64_t i = 0; i < net_.num_layers(); ++i) {
            names_.push_back(net_.layer_names()[static_cast<size_t>(i)]);
            space_.layers.push_back(test::random_valid_codes(rng));
            // Valid maps outside the search space: the original's supervised result, an
            // empty middle segment, values off their segments.
            const LayerCodes outside[] = {test::make_codes(2, 2, 5, 5, 12),
                                          test::make_codes(0, 40, 0, 9, 90),
                                          test::make_codes(30, 200, 120, 3, 120)};
            maps_.layers.push_back(outside[i % 3]);
        }
        teacher_ = forward({});
    }

    /// Logits of a full forward with `tables` (empty: the teacher).
    std::vector<float> forward(const std::vector<const uint8_t*>& tables) const {
        std::vector<float> logits(static_cast<size_t>(kImages * net_.num_classes()));
        net_.forward(inputs_.codes.data(), kImages, logits.data(), tables, nullptr, 1);
        return logits;
    }

    LogitStats stats_of(const std::vector<float>& student) const {
        return logit_stats(teacher_.data(), student.data(), inputs_.labels.data(), kImages,
                           net_.num_classes(), kTemperature);
    }

    /// Every row of `mode` against a direct forward of its student, computed here.
    void expect_rows_are_direct_forwards(const CodeSet& codes, SensitivityMode mode) const {
        const auto r =
            layer_sensitivity(net_, inputs_, names_, codes, mode, kTemperature, 2, kBatch);
        ASSERT_EQ(r.mode, mode);
        ASSERT_EQ(r.layers.size(), static_cast<size_t>(net_.num_layers()));
        std::vector<CodeTable> tables;
        std::vector<const uint8_t*> all;
        for (size_t i = 0; i < codes.layers.size(); ++i) {
            tables.push_back(make_table(codes.layers[i], names_[i]));
        }
        for (const auto& t : tables) {
            all.push_back(t.data());
        }
        const CodeTable identity = identity_table();
        for (size_t k = 0; k < tables.size(); ++k) {
            std::vector<const uint8_t*> use(tables.size(), nullptr);
            if (mode == SensitivityMode::LeaveOneOut) {
                use = all;
                use[k] = identity.data(); // layer k exact
            } else {
                use[k] = all[k];
            }
            const LogitStats want = stats_of(forward(use));
            const auto& got = r.layers[k];
            EXPECT_EQ(got.name, names_[k]);
            EXPECT_EQ(got.codes, codes.layers[k]);
            EXPECT_EQ(got.stats.count, kImages) << k;
            EXPECT_EQ(got.stats.student_correct, want.student_correct) << k;
            EXPECT_EQ(got.stats.agree, want.agree) << k;
            EXPECT_NEAR(got.stats.kd_loss(kTemperature), want.kd_loss(kTemperature), 1e-12) << k;
        }
        if (mode == SensitivityMode::LeaveOneOut) {
            const LogitStats all_stats = stats_of(forward(all));
            EXPECT_EQ(r.all_approximated.count, kImages);
            EXPECT_EQ(r.all_approximated.student_correct, all_stats.student_correct);
            EXPECT_NEAR(r.all_approximated.kd_loss(kTemperature), all_stats.kd_loss(kTemperature),
                        1e-12);
        } else {
            EXPECT_EQ(r.all_approximated.count, 0);
        }
    }

    Int8Network net_;
    Int8Inputs inputs_;
    std::vector<std::string> names_;
    CodeSet space_;
    CodeSet maps_;
    std::vector<float> teacher_;
};

TEST_F(SensitivityTest, LeaveOneOutRowsAreTheAllButOneStudents) {
    expect_rows_are_direct_forwards(space_, SensitivityMode::LeaveOneOut);
    expect_rows_are_direct_forwards(maps_, SensitivityMode::LeaveOneOut);
}

TEST_F(SensitivityTest, LeaveOneInRowsAreTheOneLayerStudents) {
    expect_rows_are_direct_forwards(space_, SensitivityMode::LeaveOneIn);
    expect_rows_are_direct_forwards(maps_, SensitivityMode::LeaveOneIn);
}

/// The same on a residual (0) and a MobileNetV2-like (1) graph, where skips cross points: each
/// row replays from its own layer's live set.
class GraphSensitivityTest : public SensitivityTest, public ::testing::WithParamInterface<int> {
protected:
    GraphSensitivityTest()
        : SensitivityTest(Int8Network(GetParam() == 0 ? test::random_resnet_graph(43)
                                                      : test::random_mobilenet_graph(44))) {}
};

TEST_P(GraphSensitivityTest, RowsAreDirectForwardsOfTheirStudentsInBothModes) {
    bool crossed = false;
    for (int64_t k = 0; k < net_.num_layers(); ++k) {
        crossed = crossed || !net_.replayable(k);
    }
    ASSERT_TRUE(crossed) << "the fixture has a point a skip crosses";
    expect_rows_are_direct_forwards(space_, SensitivityMode::LeaveOneOut);
    expect_rows_are_direct_forwards(space_, SensitivityMode::LeaveOneIn);
}

INSTANTIATE_TEST_SUITE_P(ResNetAndMobileNet, GraphSensitivityTest, ::testing::Values(0, 1));

TEST_F(SensitivityTest, FractionChangedCountsTheLayersOwnInputs) {
    // Leave-one-in: layer k's teacher codes through its table; leave-one-out: its codes in the
    // all-approximated network. Layer 0 sees the same input codes in both.
    std::vector<std::vector<uint8_t>> teacher_blocks(static_cast<size_t>(net_.num_layers()));
    std::vector<std::vector<uint8_t>> student_blocks(teacher_blocks.size());
    std::vector<uint8_t*> tp;
    std::vector<uint8_t*> sp;
    for (int64_t i = 0; i < net_.num_layers(); ++i) {
        teacher_blocks[static_cast<size_t>(i)].resize(
            static_cast<size_t>(kImages * net_.block_output_size(i)));
        student_blocks[static_cast<size_t>(i)].resize(
            teacher_blocks[static_cast<size_t>(i)].size());
        tp.push_back(teacher_blocks[static_cast<size_t>(i)].data());
        sp.push_back(student_blocks[static_cast<size_t>(i)].data());
    }
    std::vector<CodeTable> tables;
    std::vector<const uint8_t*> all;
    for (size_t i = 0; i < maps_.layers.size(); ++i) {
        tables.push_back(make_table(maps_.layers[i], names_[i]));
    }
    for (const auto& t : tables) {
        all.push_back(t.data());
    }
    std::vector<float> logits(static_cast<size_t>(kImages * net_.num_classes()));
    net_.forward_blocks(inputs_.codes.data(), kImages, logits.data(), tp, {}, 1);
    net_.forward_blocks(inputs_.codes.data(), kImages, logits.data(), sp, all, 1);
    const auto fraction = [&](const std::vector<uint8_t>& block, const CodeTable& t) {
        int64_t n = 0;
        for (uint8_t c : block) {
            n += t[c] != c;
        }
        return static_cast<double>(n) / static_cast<double>(block.size());
    };
    const auto in = layer_sensitivity(net_, inputs_, names_, maps_, SensitivityMode::LeaveOneIn,
                                      kTemperature, 1, kBatch);
    const auto out = layer_sensitivity(net_, inputs_, names_, maps_, SensitivityMode::LeaveOneOut,
                                       kTemperature, 1, kBatch);
    bool differ = false;
    for (size_t k = 0; k < tables.size(); ++k) {
        EXPECT_DOUBLE_EQ(in.layers[k].fraction_changed, fraction(teacher_blocks[k], tables[k]));
        EXPECT_DOUBLE_EQ(out.layers[k].fraction_changed, fraction(student_blocks[k], tables[k]));
        differ = differ || in.layers[k].fraction_changed != out.layers[k].fraction_changed;
    }
    EXPECT_EQ(in.layers[0].fraction_changed, out.layers[0].fraction_changed);
    EXPECT_TRUE(differ) << "the two modes see the same codes at every layer";
}

TEST_F(SensitivityTest, RankingAndJsonFollowTheMode) {
    for (const auto mode : {SensitivityMode::LeaveOneOut, SensitivityMode::LeaveOneIn}) {
        const auto r =
            layer_sensitivity(net_, inputs_, names_, space_, mode, kTemperature, 1, kBatch);
        const auto ranked = rank_by_kd(r.layers, mode, kTemperature);
        for (size_t i = 1; i < ranked.size(); ++i) {
            const double a = ranked[i - 1].stats.kd_loss(kTemperature);
            const double b = ranked[i].stats.kd_loss(kTemperature);
            if (mode == SensitivityMode::LeaveOneOut) {
                EXPECT_LE(a, b) << i;
            } else {
                EXPECT_GE(a, b) << i;
            }
        }
        const auto j = sensitivity_json(r, kTemperature);
        EXPECT_EQ(j["mode"].get<std::string>(), to_string(mode));
        EXPECT_EQ(parse_sensitivity_mode(to_string(mode)), mode);
        EXPECT_EQ(j["images"].get<int64_t>(), kImages);
        ASSERT_EQ(j["ranking"].size(), ranked.size());
        for (size_t i = 0; i < ranked.size(); ++i) {
            EXPECT_EQ(j["ranking"][i]["layer"].get<std::string>(), ranked[i].name);
            EXPECT_EQ(j["ranking"][i]["rank"].get<int64_t>(), static_cast<int64_t>(i + 1));
        }
        EXPECT_EQ(j.contains("all_approximated"), mode == SensitivityMode::LeaveOneOut);
        const std::string table = sensitivity_table(r, kTemperature);
        EXPECT_NE(table.find(to_string(mode)), std::string::npos) << table;
    }
}

TEST_F(SensitivityTest, Errors) {
    expect_error<ConfigError>([] { parse_sensitivity_mode("leave-two-out"); },
                              {"leave-two-out", "leave-one-out", "leave-one-in"});
    CodeSet bad = maps_;
    bad.layers[2] = test::make_codes(9, 3, 8, 7, 12);
    expect_error<InputError>(
        [&] {
            layer_sensitivity(net_, inputs_, names_, bad, SensitivityMode::LeaveOneOut,
                              kTemperature, 1, kBatch);
        },
        {names_[2], "t2 must be >= t1 = 9, got 8"});
    CodeSet short_set = maps_;
    short_set.layers.pop_back();
    expect_error<InputError>(
        [&] {
            layer_sensitivity(net_, inputs_, names_, short_set, SensitivityMode::LeaveOneIn,
                              kTemperature, 1, kBatch);
        },
        {"got codes for 7 layers"});
}

} // namespace
} // namespace triseg::engine
