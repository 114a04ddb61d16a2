// Code-set reports: coverage on a hand-made histogram, the overall covered and coverage
// counted by hand, evaluate_codes against two forward passes and logit_stats done by hand (with
// and without the teacher's logits given), JSON and table output, errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/int8/codes_report.h"
#include "engine/int8/int8_inputs.h"
#include "engine/int8/int8_network.h"
#include "engine/int8/kd_loss.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

using test::expect_error;

constexpr double kTemperature = 2.0;
/// Awkward image count: not a multiple of the 2 threads used.
constexpr int64_t kImages = 9;

LayerCodes codes(int32_t t1, int32_t v1, int32_t t2, int32_t v2, int32_t tmax) {
    return test::make_codes(t1, v1, t2, v2, tmax);
}

TEST(LayerCoverage, HandMadeHistogram) {
    const LayerCodes c = codes(4, 13, 20, 31, 32);
    const CodeTable table = make_table(c, "conv1_1");
    CodeHistogram h{};
    h[0] = 10;  // zero before and after, unchanged
    h[1] = 5;   // -> 0: changed, zeroed
    h[4] = 3;   // t1 -> 0: changed, zeroed
    h[5] = 2;   // t1 + 1 -> v1: changed
    h[13] = 8;  // v1 -> v1: unchanged
    h[20] = 4;  // t2 -> v1: changed
    h[21] = 6;  // t2 + 1 -> v2: changed
    h[31] = 1;  // v2 -> v2: unchanged
    h[32] = 1;  // tmax -> v2: changed
    h[33] = 7;  // above tmax: unchanged
    h[255] = 2; // unchanged
    const LayerCoverage cov = layer_coverage("conv1_1", c, table, h);
    EXPECT_EQ(cov.name, "conv1_1");
    EXPECT_EQ(cov.codes, c);
    EXPECT_EQ(cov.total, 49);
    EXPECT_DOUBLE_EQ(cov.changed, 21.0 / 49.0);
    EXPECT_DOUBLE_EQ(cov.zeroed, 8.0 / 49.0);
    EXPECT_DOUBLE_EQ(cov.zero_before, 10.0 / 49.0);
    EXPECT_DOUBLE_EQ(cov.zero_after, 18.0 / 49.0);
}

TEST(LayerCoverage, HandMadeHistogramCounts) {
    const LayerCodes c = codes(4, 13, 20, 31, 32);
    CodeHistogram h{};
    h[0] = 10; // covered, unchanged
    h[1] = 5;  // covered, changed
    h[13] = 8; // covered, unchanged (v1 -> v1)
    h[32] = 1; // covered, changed
    h[33] = 7; // above tmax
    const LayerCoverage cov = layer_coverage("conv1_1", c, make_table(c, "conv1_1"), h);
    EXPECT_EQ(cov.total, 31);
    EXPECT_EQ(cov.covered_codes, 24);
    EXPECT_EQ(cov.changed_codes, 6);
    EXPECT_DOUBLE_EQ(cov.covered, 24.0 / 31.0);
}

// The overall shares weight each layer by its code count: sum of the counts over sum of the
// totals, not the mean of the layers' fractions.
TEST(CodesReport, CoveredAndCoverageWeightTheLayersByTheirCodeCounts) {
    const LayerCodes a = codes(4, 13, 20, 31, 32);
    CodeHistogram ha{};
    ha[0] = 10; // covered, unchanged
    ha[1] = 5;  // covered, changed
    ha[4] = 3;  // covered, changed
    ha[5] = 2;  // covered, changed
    ha[13] = 8; // covered, unchanged
    ha[20] = 4; // covered, changed
    ha[21] = 6; // covered, changed
    ha[31] = 1; // covered, unchanged
    ha[32] = 1; // covered, changed
    ha[33] = 7; // above tmax
    ha[255] = 2;
    const LayerCodes b = codes(2, 3, 6, 7, 12);
    CodeHistogram hb{};
    hb[1] = 2;  // -> 0: covered, changed
    hb[3] = 2;  // -> v1 = 3: covered, unchanged
    hb[5] = 1;  // -> 3: covered, changed
    hb[12] = 1; // tmax -> 7: covered, changed
    hb[13] = 4; // above tmax
    CodesReport r;
    r.layers.push_back(layer_coverage("conv1_1", a, make_table(a, "conv1_1"), ha));
    r.layers.push_back(layer_coverage("conv2_1", b, make_table(b, "conv2_1"), hb));
    // By hand: layer a 49 codes, 40 covered, 21 changed; layer b 10 codes, 6 covered, 4 changed.
    EXPECT_EQ(r.codes_seen(), 59);
    EXPECT_EQ(r.covered(), 46.0 / 59.0);
    EXPECT_EQ(r.coverage(), 25.0 / 59.0);
    EXPECT_NE(r.covered(), (40.0 / 49.0 + 6.0 / 10.0) / 2); // not the mean of the layers
    const nlohmann::json j = r.to_json();
    EXPECT_EQ(j.at("codes_seen"), 59);
    EXPECT_EQ(j.at("covered").get<double>(), 46.0 / 59.0);
    EXPECT_EQ(j.at("coverage").get<double>(), 25.0 / 59.0);
    const std::string table = r.table();
    EXPECT_NE(table.find("codes 59  covered 77.97% (code <= tmax)  coverage 42.37%"),
              std::string::npos)
        << table;
    EXPECT_EQ(CodesReport{}.covered(), 0.0); // no codes seen
    EXPECT_EQ(CodesReport{}.coverage(), 0.0);
}

TEST(LayerCoverage, EmptyHistogramGivesZeroFractions) {
    const LayerCodes c = evenly_spaced_codes(40);
    const LayerCoverage cov = layer_coverage("conv2_1", c, make_table(c, "conv2_1"), {});
    EXPECT_EQ(cov.total, 0);
    EXPECT_EQ(cov.changed, 0.0);
    EXPECT_EQ(cov.zeroed, 0.0);
    EXPECT_EQ(cov.zero_before, 0.0);
    EXPECT_EQ(cov.zero_after, 0.0);
}

TEST(LayerCoverage, IdentityTableChangesNothing) {
    CodeHistogram h{};
    for (int c = 0; c < 256; ++c) {
        h[c] = c % 7;
    }
    h[0] = 4;
    const LayerCoverage cov = layer_coverage("x", LayerCodes{}, identity_table(), h);
    EXPECT_EQ(cov.changed, 0.0);
    EXPECT_EQ(cov.zeroed, 0.0);
    EXPECT_DOUBLE_EQ(cov.zero_before, 4.0 / static_cast<double>(cov.total));
    EXPECT_EQ(cov.zero_after, cov.zero_before);
}

class CodesReportTest : public ::testing::Test {
protected:
    CodesReportTest()
        : model_(test::random_int8_model(0.125, 51)), net_(model_),
          names_(test::layer_names(model_)) {
        Rng rng(52);
        inputs_.count = kImages;
        inputs_.image_codes = net_.input_size();
        inputs_.codes = test::random_codes(kImages * net_.input_size(), rng);
        for (int64_t i = 0; i < kImages; ++i) {
            inputs_.labels.push_back(static_cast<int64_t>(rng.uniform_below(10)));
        }
        for (int64_t i = 0; i < net_.num_layers(); ++i) {
            codes_.layers.push_back(test::random_valid_codes(rng));
        }
        codes_.layers[0] = codes(2, 3, 6, 7, 12);        // smallest tmax
        codes_.layers[1] = codes(10, 11, 251, 255, 255); // widest
    }

    models::Int8Model model_;
    Int8Network net_;
    std::vector<std::string> names_;
    Int8Inputs inputs_;
    CodeSet codes_;
};

TEST_F(CodesReportTest, MatchesTwoForwardPassesAndLogitStatsByHand) {
    const CodesReport r = evaluate_codes(net_, inputs_, names_, codes_, kTemperature, 2);

    const int64_t classes = net_.num_classes();
    std::vector<float> teacher(static_cast<size_t>(kImages * classes));
    std::vector<float> student(teacher.size());
    std::vector<CodeTable> tables;
    std::vector<const uint8_t*> ptrs;
    for (size_t i = 0; i < codes_.layers.size(); ++i) {
        tables.push_back(make_table(codes_.layers[i], names_[i]));
    }
    for (const auto& t : tables) {
        ptrs.push_back(t.data());
    }
    std::vector<CodeHistogram> hist;
    net_.forward(inputs_.codes.data(), kImages, teacher.data(), {}, nullptr, 1);
    net_.forward(inputs_.codes.data(), kImages, student.data(), ptrs, &hist, 1);
    const LogitStats expected = logit_stats(teacher.data(), student.data(), inputs_.labels.data(),
                                            kImages, classes, kTemperature);

    EXPECT_EQ(r.stats.count, kImages);
    EXPECT_EQ(r.stats.kd_sum, expected.kd_sum); // same integer logits, same double order
    EXPECT_EQ(r.stats.teacher_correct, expected.teacher_correct);
    EXPECT_EQ(r.stats.student_correct, expected.student_correct);
    EXPECT_EQ(r.stats.agree, expected.agree);
    EXPECT_GT(r.kd_loss(), 0.0); // the random tables do change the logits
    EXPECT_EQ(r.temperature, kTemperature);
    EXPECT_EQ(r.kd_loss(), expected.kd_loss(kTemperature));
    EXPECT_EQ(r.acc_teacher(), expected.teacher_accuracy());
    EXPECT_EQ(r.acc_student(), expected.student_accuracy());
    EXPECT_EQ(r.acc_drop(), r.acc_teacher() - r.acc_student());
    EXPECT_GE(r.seconds, 0.0);

    ASSERT_EQ(r.layers.size(), names_.size());
    for (size_t i = 0; i < r.layers.size(); ++i) {
        SCOPED_TRACE(names_[i]);
        const LayerCoverage cov = layer_coverage(names_[i], codes_.layers[i], tables[i], hist[i]);
        EXPECT_EQ(r.layers[i].name, names_[i]);
        EXPECT_EQ(r.layers[i].codes, codes_.layers[i]);
        EXPECT_EQ(r.layers[i].total, cov.total);
        EXPECT_EQ(r.layers[i].changed, cov.changed);
        EXPECT_EQ(r.layers[i].zeroed, cov.zeroed);
        EXPECT_EQ(r.layers[i].zero_before, cov.zero_before);
        EXPECT_EQ(r.layers[i].zero_after, cov.zero_after);
        EXPECT_GT(r.layers[i].total, 0);
        EXPECT_GE(r.layers[i].zero_after, r.layers[i].zero_before);
    }
    // Coverage counts every output code of every image: conv1_1 is 8 channels x 32 x 32.
    EXPECT_EQ(r.layers[0].total, kImages * 8 * 32 * 32);
    // The overall shares, counted here from the student's histograms and tables.
    int64_t seen = 0;
    int64_t covered = 0;
    int64_t changed = 0;
    for (size_t i = 0; i < hist.size(); ++i) {
        for (int v = 0; v < 256; ++v) {
            seen += hist[i][v];
            covered += v <= codes_.layers[i].tmax ? hist[i][v] : 0;
            changed += tables[i][v] != v ? hist[i][v] : 0;
        }
    }
    EXPECT_EQ(r.codes_seen(), seen);
    EXPECT_EQ(r.covered(), static_cast<double>(covered) / static_cast<double>(seen));
    EXPECT_EQ(r.coverage(), static_cast<double>(changed) / static_cast<double>(seen));
    EXPECT_GT(r.covered(), 0.0);
    EXPECT_LT(r.covered(), 1.0);
}

// With the teacher's logits computed once (eval-codes --all-points), each code set's report is
// the same bit for bit as a report that runs the teacher itself.
TEST_F(CodesReportTest, GivenTeacherLogitsGiveTheSameReport) {
    const std::vector<float> teacher = teacher_logits(net_, inputs_, 2);
    ASSERT_EQ(teacher.size(), static_cast<size_t>(kImages * net_.num_classes()));
    CodeSet other = codes_;
    other.layers[2] = codes(1, 1, 3, 4, 40);
    for (const CodeSet& set : {codes_, other}) {
        const CodesReport a = evaluate_codes(net_, inputs_, names_, set, kTemperature, 2);
        const CodesReport b = evaluate_codes(net_, inputs_, names_, set, kTemperature, 1, teacher);
        EXPECT_EQ(a.stats.kd_sum, b.stats.kd_sum);
        EXPECT_EQ(a.stats.teacher_correct, b.stats.teacher_correct);
        EXPECT_EQ(a.stats.student_correct, b.stats.student_correct);
        EXPECT_EQ(a.stats.agree, b.stats.agree);
        EXPECT_EQ(a.covered(), b.covered());
        EXPECT_EQ(a.coverage(), b.coverage());
        ASSERT_EQ(a.layers.size(), b.layers.size());
        for (size_t i = 0; i < a.layers.size(); ++i) {
            EXPECT_EQ(a.layers[i].covered_codes, b.layers[i].covered_codes) << names_[i];
            EXPECT_EQ(a.layers[i].changed_codes, b.layers[i].changed_codes) << names_[i];
            EXPECT_EQ(a.layers[i].zero_after, b.layers[i].zero_after) << names_[i];
        }
    }
    const std::vector<float> short_teacher(teacher.begin(), teacher.end() - 1);
    expect_error<InputError>(
        [&] { evaluate_codes(net_, inputs_, names_, codes_, kTemperature, 1, short_teacher); },
        {"teacher logits", "9 images"});
}

TEST_F(CodesReportTest, ThreadCountDoesNotChangeTheReport) {
    const CodesReport a = evaluate_codes(net_, inputs_, names_, codes_, kTemperature, 1);
    const CodesReport b = evaluate_codes(net_, inputs_, names_, codes_, kTemperature, 3);
    EXPECT_EQ(a.stats.kd_sum, b.stats.kd_sum);
    EXPECT_EQ(a.stats.agree, b.stats.agree);
    for (size_t i = 0; i < a.layers.size(); ++i) {
        EXPECT_EQ(a.layers[i].changed, b.layers[i].changed) << names_[i];
    }
}

TEST_F(CodesReportTest, JsonAndTableHoldLayersAndFields) {
    const CodesReport r = evaluate_codes(net_, inputs_, names_, codes_, kTemperature, 2);
    const nlohmann::json j = r.to_json();
    EXPECT_EQ(j.at("images"), kImages);
    EXPECT_EQ(j.at("acc_teacher").get<double>(), r.acc_teacher());
    EXPECT_EQ(j.at("acc_student").get<double>(), r.acc_student());
    EXPECT_EQ(j.at("acc_drop").get<double>(), r.acc_drop());
    EXPECT_EQ(j.at("agreement").get<double>(), r.stats.agreement());
    EXPECT_EQ(j.at("kd_loss").get<double>(), r.kd_loss());
    EXPECT_EQ(j.at("temperature").get<double>(), kTemperature);
    EXPECT_TRUE(j.contains("seconds"));
    EXPECT_EQ(j.at("codes_seen"), r.codes_seen());
    EXPECT_EQ(j.at("covered").get<double>(), r.covered());
    EXPECT_EQ(j.at("coverage").get<double>(), r.coverage());
    ASSERT_EQ(j.at("layers").size(), names_.size());
    for (size_t i = 0; i < names_.size(); ++i) {
        SCOPED_TRACE(names_[i]);
        const auto& l = j.at("layers").at(names_[i]);
        EXPECT_EQ(l.at("t1_code"), codes_.layers[i].t1);
        EXPECT_EQ(l.at("v1_code"), codes_.layers[i].v1);
        EXPECT_EQ(l.at("t2_code"), codes_.layers[i].t2);
        EXPECT_EQ(l.at("v2_code"), codes_.layers[i].v2);
        EXPECT_EQ(l.at("tmax_code"), codes_.layers[i].tmax);
        EXPECT_EQ(l.at("codes_seen"), r.layers[i].total);
        EXPECT_EQ(l.at("fraction_changed").get<double>(), r.layers[i].changed);
        EXPECT_EQ(l.at("fraction_in_range").get<double>(), r.layers[i].covered);
        EXPECT_EQ(l.at("fraction_zeroed").get<double>(), r.layers[i].zeroed);
        EXPECT_EQ(l.at("zero_fraction_before").get<double>(), r.layers[i].zero_before);
        EXPECT_EQ(l.at("zero_fraction_after").get<double>(), r.layers[i].zero_after);
    }
    const std::string table = r.table();
    EXPECT_NE(table.find("images 9"), std::string::npos) << table;
    char summary[64];
    std::snprintf(summary, sizeof summary, "covered %.2f%% (code <= tmax)", 100 * r.covered());
    EXPECT_NE(table.find(summary), std::string::npos) << table;
    for (const auto& name : names_) {
        EXPECT_NE(table.find(name), std::string::npos) << name;
    }
}

TEST_F(CodesReportTest, MismatchedCodesOrNamesThrowInputError) {
    CodeSet short_set = codes_;
    short_set.layers.pop_back();
    expect_error<InputError>(
        [&] { evaluate_codes(net_, inputs_, names_, short_set, kTemperature, 1); },
        {"7 layers", "8"});
    std::vector<std::string> short_names = names_;
    short_names.pop_back();
    expect_error<InputError>(
        [&] { evaluate_codes(net_, inputs_, short_names, codes_, kTemperature, 1); },
        {"7 layer names", "8"});
    CodeSet bad = codes_;
    bad.layers[3].tmax = 256;
    expect_error<InputError>([&] { evaluate_codes(net_, inputs_, names_, bad, kTemperature, 1); },
                             {names_[3], "tmax must be <= 255, got 256"});
}

} // namespace
} // namespace triseg::engine
