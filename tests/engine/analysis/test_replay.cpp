// replay_dump on a dump written from a random VGG model and from residual and MobileNetV2-like
// graphs: exact replay reproduces the teacher, a table on one layer equals the full student
// with that table; dumps of another model are refused with the difference named.
#include "engine/analysis/replay.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/int8/int8_network.h"
#include "io/h5_activations.h"
#include "tests/engine/int8/graph_fixture.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

using test::expect_error;

constexpr double kWidth = 0.125;
/// Images in the dump; the replay batch (4) does not divide it.
constexpr int64_t kImages = 11;
constexpr double kTemperature = 2.0;

io::ActsHeader header_of(const Int8Network& net, int64_t images) {
    io::ActsHeader h;
    h.images = images;
    for (int64_t i = 0; i < net.num_layers(); ++i) {
        const auto& l = net.model().convs[static_cast<size_t>(i)];
        h.layers.push_back({l.name, l.out_channels, net.block_side(i), l.pool_after, l.output.scale,
                            l.output.zero_point});
    }
    return h;
}

class ReplayTest : public ::testing::Test {
protected:
    ReplayTest() : net_(test::random_int8_model(kWidth, 31)) {
        Rng rng(32);
        codes_ = test::random_codes(kImages * net_.input_size(), rng);
        for (int64_t i = 0; i < kImages; ++i) {
            labels_.push_back(i % 10);
            indices_.push_back(i);
        }
        std::vector<std::vector<uint8_t>> blocks(static_cast<size_t>(net_.num_layers()));
        std::vector<uint8_t*> ptrs;
        std::vector<const void*> values;
        for (int64_t i = 0; i < net_.num_layers(); ++i) {
            blocks[static_cast<size_t>(i)].resize(
                static_cast<size_t>(kImages * net_.block_output_size(i)));
            ptrs.push_back(blocks[static_cast<size_t>(i)].data());
            values.push_back(blocks[static_cast<size_t>(i)].data());
        }
        teacher_.resize(static_cast<size_t>(kImages * net_.num_classes()));
        net_.forward_blocks(codes_.data(), kImages, teacher_.data(), ptrs);
        path_ = dir_.file("acts.h5");
        io::ActsWriter w(path_, header_of(net_, kImages));
        w.append(kImages, labels_.data(), indices_.data(), values);
        w.commit();
    }

    test::TempDir dir_;
    Int8Network net_;
    std::vector<uint8_t> codes_;
    std::vector<int64_t> labels_;
    std::vector<int64_t> indices_;
    std::vector<float> teacher_;
    std::string path_;
};

TEST_F(ReplayTest, ExactReplayIsTheTeacher) {
    const io::ActsReader dump(path_);
    check_dump_matches(dump.header(), path_, net_, "m.h5");
    const auto r = replay_dump(dump, net_, {}, kTemperature, 2, 4);
    const LogitStats full = logit_stats(teacher_.data(), teacher_.data(), labels_.data(), kImages,
                                        net_.num_classes(), kTemperature);
    ASSERT_EQ(r.layers.size(), static_cast<size_t>(net_.num_layers()));
    for (const auto& l : r.layers) {
        EXPECT_EQ(l.stats.kd_sum, 0.0) << l.name;
        EXPECT_EQ(l.stats.agree, kImages) << l.name;
        EXPECT_EQ(l.stats.teacher_correct, full.teacher_correct) << l.name;
        EXPECT_EQ(l.stats.student_correct, full.teacher_correct) << l.name;
        EXPECT_EQ(l.effect.changed, 0.0);
    }
}

TEST_F(ReplayTest, ATableOnOneLayerEqualsTheFullStudentWithThatTable) {
    const io::ActsReader dump(path_);
    Rng rng(33);
    CodeSet codes;
    for (int64_t i = 0; i < net_.num_layers(); ++i) {
        codes.layers.push_back(test::random_valid_codes(rng));
    }
    const auto r = replay_dump(dump, net_, codes, kTemperature, 1, 4);
    for (size_t k = 0; k < r.layers.size(); ++k) {
        const CodeTable t = make_table(codes.layers[k], "k");
        std::vector<const uint8_t*> one(r.layers.size(), nullptr);
        one[k] = t.data();
        std::vector<float> student(teacher_.size());
        std::vector<CodeHistogram> hist;
        net_.forward(codes_.data(), kImages, student.data(), one, &hist);
        const LogitStats expected = logit_stats(teacher_.data(), student.data(), labels_.data(),
                                                kImages, net_.num_classes(), kTemperature);
        EXPECT_EQ(r.layers[k].stats.student_correct, expected.student_correct) << k;
        EXPECT_EQ(r.layers[k].stats.agree, expected.agree) << k;
        // Per-batch sums in a different grouping: equal up to rounding.
        EXPECT_NEAR(r.layers[k].stats.kd_sum, expected.kd_sum, 1e-9 * (1 + expected.kd_sum));
        EXPECT_EQ(r.layers[k].before, hist[k]) << k;
    }
}

TEST_F(ReplayTest, ADumpOfAnotherModelIsRefused) {
    const io::ActsReader dump(path_);
    auto other = header_of(net_, kImages);
    other.layers[2].name = "conv9_9";
    expect_error<InputError>([&] { check_dump_matches(other, "d.h5", net_, "m.h5"); },
                             {"d.h5", "conv9_9", "conv3_1", "m.h5"});
    other = header_of(net_, kImages);
    other.layers[1].zero_point += 1;
    expect_error<InputError>([&] { check_dump_matches(other, "d.h5", net_, "m.h5"); },
                             {"conv2_1", "zero point", "another model"});
    other = header_of(net_, kImages);
    other.layers[0].channels += 1;
    expect_error<InputError>([&] { check_dump_matches(other, "d.h5", net_, "m.h5"); },
                             {"conv1_1", "[9, 32, 32]", "[8, 32, 32]"});
    other = header_of(net_, kImages);
    other.kind = io::ActsKind::Float;
    expect_error<InputError>([&] { check_dump_matches(other, "d.h5", net_, "m.h5"); },
                             {"float activations"});
}

/// The same on a residual (0) and a MobileNetV2-like (1) graph: the dump holds every point and
/// the non-point live tensors (dump_layers, dump_live), and every layer replays from its live
/// set.
class GraphReplayTest : public ::testing::TestWithParam<int> {
protected:
    GraphReplayTest()
        : net_(GetParam() == 0 ? test::random_resnet_graph(35) : test::random_mobilenet_graph(36)) {
        Rng rng(37);
        codes_ = test::random_codes(kImages * net_.input_size(), rng);
        for (int64_t i = 0; i < kImages; ++i) {
            labels_.push_back(i % 10);
            indices_.push_back(i);
        }
        const auto& tensors = net_.graph().tensors;
        std::vector<int32_t> stored;
        for (int64_t i = 0; i < net_.num_layers(); ++i) {
            stored.push_back(net_.live_tensors(i)[0]);
        }
        stored.insert(stored.end(), net_.live_non_points().begin(), net_.live_non_points().end());
        std::vector<std::vector<uint8_t>> values(stored.size());
        std::vector<uint8_t*> keep(tensors.size(), nullptr);
        std::vector<const void*> ptrs;
        for (size_t i = 0; i < stored.size(); ++i) {
            values[i].resize(
                static_cast<size_t>(kImages * tensors[static_cast<size_t>(stored[i])].size()));
            keep[static_cast<size_t>(stored[i])] = values[i].data();
            ptrs.push_back(values[i].data());
        }
        teacher_.resize(static_cast<size_t>(kImages * net_.num_classes()));
        net_.forward_tensors(codes_.data(), kImages, teacher_.data(), keep);
        io::ActsHeader h;
        h.images = kImages;
        h.layers = dump_layers(net_);
        h.live = dump_live(net_);
        path_ = dir_.file("acts.h5");
        io::ActsWriter w(path_, h);
        w.append(kImages, labels_.data(), indices_.data(), ptrs);
        w.commit();
    }

    test::TempDir dir_;
    Int8Network net_;
    std::vector<uint8_t> codes_;
    std::vector<int64_t> labels_;
    std::vector<int64_t> indices_;
    std::vector<float> teacher_;
    std::string path_;
};

TEST_P(GraphReplayTest, ExactReplayFromEveryPointIsTheTeacher) {
    const io::ActsReader dump(path_);
    EXPECT_EQ(dump.header().live.size(), net_.live_non_points().size());
    EXPECT_EQ(dump.header().live.empty(), GetParam() == 0) << "the MobileNet stores its skip";
    check_dump_matches(dump.header(), path_, net_, "m.h5");
    const auto r = replay_dump(dump, net_, {}, kTemperature, 2, 4);
    const LogitStats full = logit_stats(teacher_.data(), teacher_.data(), labels_.data(), kImages,
                                        net_.num_classes(), kTemperature);
    ASSERT_EQ(r.layers.size(), static_cast<size_t>(net_.num_layers()));
    for (const auto& l : r.layers) {
        EXPECT_EQ(l.stats.kd_sum, 0.0) << l.name;
        EXPECT_EQ(l.stats.agree, kImages) << l.name;
        EXPECT_EQ(l.stats.teacher_correct, full.teacher_correct) << l.name;
        EXPECT_EQ(l.stats.student_correct, full.teacher_correct) << l.name;
    }
}

TEST_P(GraphReplayTest, ATableOnOneLayerEqualsTheFullStudentWithThatTable) {
    const io::ActsReader dump(path_);
    Rng rng(38);
    CodeSet codes;
    for (int64_t i = 0; i < net_.num_layers(); ++i) {
        codes.layers.push_back(test::random_valid_codes(rng));
    }
    const auto r = replay_dump(dump, net_, codes, kTemperature, 1, 4);
    for (size_t k = 0; k < r.layers.size(); ++k) {
        const CodeTable t = make_table(codes.layers[k], "k");
        std::vector<const uint8_t*> one(r.layers.size(), nullptr);
        one[k] = t.data();
        std::vector<float> student(teacher_.size());
        std::vector<CodeHistogram> hist;
        net_.forward(codes_.data(), kImages, student.data(), one, &hist);
        const LogitStats expected = logit_stats(teacher_.data(), student.data(), labels_.data(),
                                                kImages, net_.num_classes(), kTemperature);
        EXPECT_EQ(r.layers[k].stats.student_correct, expected.student_correct) << k;
        EXPECT_EQ(r.layers[k].stats.agree, expected.agree) << k;
        EXPECT_NEAR(r.layers[k].stats.kd_sum, expected.kd_sum, 1e-9 * (1 + expected.kd_sum));
        EXPECT_EQ(r.layers[k].before, hist[k]) << k;
    }
}

TEST_P(GraphReplayTest, ADumpOfAnotherModelIsRefused) {
    const io::ActsReader dump(path_);
    io::ActsHeader other = dump.header();
    other.layers[1].zero_point += 1;
    expect_error<InputError>([&] { check_dump_matches(other, "d.h5", net_, "m.h5"); },
                             {net_.layer_names()[1], "zero point", "another model"});
    // A dump of the other graph: other points, other live tensors.
    const Int8Network twin(GetParam() == 0 ? test::random_mobilenet_graph(36)
                                           : test::random_resnet_graph(35));
    expect_error<InputError>([&] { check_dump_matches(dump.header(), "d.h5", twin, "m.h5"); },
                             {"d.h5", "has layers", net_.layer_names()[0], "m.h5"});
    other = dump.header();
    other.live.push_back({"extra", 1, 1, false, 1.0f, 0});
    expect_error<InputError>([&] { check_dump_matches(other, "d.h5", net_, "m.h5"); },
                             {"live tensors (/live)", "extra"});
}

INSTANTIATE_TEST_SUITE_P(ResNetAndMobileNet, GraphReplayTest, ::testing::Values(0, 1));

} // namespace
} // namespace triseg::engine
