// VGG layout, shapes and checkpoints.
#include <gtest/gtest.h>

#include <fstream>

#include <torch/torch.h>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/model_yaml.h"
#include "models/checkpoint.h"
#include "models/qat_vgg.h"
#include "models/spec/vgg_layout.h"
#include "models/vgg.h"
#include "tests/io/temp_dir.h"

namespace triseg::models {
namespace {

ModelOptions tiny_options(ModelArch arch = ModelArch::Vgg11) {
    ModelOptions o;
    o.arch = arch;
    o.width = 0.125;
    o.in_channels = 1;
    o.num_classes = 10;
    return o;
}

TEST(VggLayout, Vgg16HasThirteenNamedConvs) {
    ModelOptions o;
    o.width = 0.25;
    const auto layers = vgg_layout(o);
    const std::vector<std::string> names = {"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1",
                                            "conv3_2", "conv3_3", "conv4_1", "conv4_2", "conv4_3",
                                            "conv5_1", "conv5_2", "conv5_3"};
    ASSERT_EQ(layers.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(layers[i].name, names[i]);
    }
    const std::vector<int64_t> widths = {16, 16, 32, 32, 64, 64, 64, 128, 128, 128, 128, 128, 128};
    for (size_t i = 0; i < widths.size(); ++i) {
        EXPECT_EQ(layers[i].out_channels, widths[i]) << layers[i].name;
        EXPECT_EQ(layers[i].in_channels, i == 0 ? 1 : widths[i - 1]) << layers[i].name;
    }
    int pools = 0;
    for (const auto& l : layers) {
        pools += l.pool_after;
    }
    EXPECT_EQ(pools, 5);
    EXPECT_TRUE(layers[1].pool_after);
    EXPECT_TRUE(layers[12].pool_after);
    EXPECT_FALSE(layers[2].pool_after);
}

TEST(VggLayout, Vgg11NamesAndWidthRounding) {
    const auto layers = vgg_layout(tiny_options());
    const std::vector<std::string> names = {"conv1_1", "conv2_1", "conv3_1", "conv3_2",
                                            "conv4_1", "conv4_2", "conv5_1", "conv5_2"};
    ASSERT_EQ(layers.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(layers[i].name, names[i]);
        EXPECT_TRUE(layers[i].pool_after == (i == 0 || i == 1 || i == 3 || i == 5 || i == 7));
    }
    EXPECT_EQ(layers[0].out_channels, 8);
    EXPECT_EQ(scaled_width(64, 0.01), 1);
    EXPECT_EQ(scaled_width(512, 0.3), 154);
}

TEST(Vgg, ForwardShapesAndParameterNames) {
    torch::manual_seed(0);
    Vgg model(tiny_options());
    const auto out = model->forward(torch::randn({3, 1, 32, 32}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 10}));
    auto params = model->named_parameters();
    EXPECT_TRUE(params.contains("conv1_1.conv.weight"));
    EXPECT_TRUE(params.contains("conv5_2.bn.weight"));
    EXPECT_TRUE(params.contains("classifier.weight"));
    EXPECT_FALSE(params.contains("conv1_1.conv.bias")) << "conv before BN has no bias";
    EXPECT_TRUE(model->named_buffers().contains("conv3_1.bn.running_mean"));
}

TEST(Vgg, LargerImagesAndRgb) {
    auto o = tiny_options(ModelArch::Vgg16);
    o.in_channels = 3;
    o.image_size = 64;
    o.num_classes = 7;
    Vgg model(o);
    EXPECT_EQ(model->forward(torch::randn({2, 3, 64, 64})).sizes(), (std::vector<int64_t>{2, 7}));
}

TEST(Vgg, InvalidOptionsThrow) {
    auto o = tiny_options();
    o.image_size = 40;
    test::expect_error<ConfigError>([&] { Vgg m(o); }, {"model.image_size", "40"});
    o = tiny_options();
    o.width = 0;
    test::expect_error<ConfigError>([&] { Vgg m(o); }, {"model.width"});
}

TEST(Checkpoint, RoundTripGivesIdenticalOutputs) {
    test::TempDir dir;
    torch::manual_seed(1);
    Vgg model(tiny_options(ModelArch::Vgg16));
    // Move BN statistics away from their defaults so buffers matter.
    model->train();
    model->forward(torch::randn({8, 1, 32, 32}) * 3 + 1);
    model->eval();
    const auto x = torch::randn({4, 1, 32, 32});
    const auto expected = model->forward(x);

    const auto path = dir.file("m.pt");
    save_model(model, path);
    auto loaded = load_model(path);
    loaded->eval();
    EXPECT_TRUE(loaded->options() == model->options());
    EXPECT_TRUE(torch::equal(loaded->forward(x), expected));
}

TEST(Checkpoint, ErrorsAreClear) {
    test::TempDir dir;
    test::expect_error<IoError>([&] { load_model(dir.file("none.pt")); }, {"none.pt"});

    std::ofstream(dir.file("junk.pt")) << "this is not a checkpoint";
    test::expect_error<InputError>([&] { load_model(dir.file("junk.pt")); }, {"junk.pt"});

    Vgg model(tiny_options());
    save_model(model, dir.file("ok.pt"));
    test::expect_error<InputError>([&] { load_qat_model(dir.file("ok.pt")); }, {"ok.pt", "qat"});

    // Truncated archive.
    const auto bytes = io::read_file(dir.file("ok.pt"));
    std::ofstream(dir.file("cut.pt"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    test::expect_error<InputError>([&] { load_model(dir.file("cut.pt")); }, {"cut.pt"});

    // A torch archive without triseg's entries.
    torch::serialize::OutputArchive foreign;
    model->save(foreign);
    foreign.save_to(dir.file("foreign.pt"));
    test::expect_error<InputError>([&] { load_model(dir.file("foreign.pt")); },
                                   {"foreign.pt", "not a triseg checkpoint"});
}

TEST(Checkpoint, TensorShapeMismatchIsAnError) {
    test::TempDir dir;
    auto wide = tiny_options();
    wide.width = 0.25;
    Vgg wide_model(wide);
    // Weights of a wider model under the narrow model's config.
    torch::serialize::OutputArchive archive;
    archive.write("triseg_format", c10::IValue(std::string(kCheckpointFormat)));
    archive.write("triseg_kind", c10::IValue(std::string("float")));
    archive.write("triseg_model_yaml", c10::IValue(io::model_to_yaml(tiny_options())));
    wide_model->save(archive);
    save_archive(archive, dir.file("mismatch.pt"));
    test::expect_error<InputError>([&] { load_model(dir.file("mismatch.pt")); },
                                   {"mismatch.pt", "shape"});
}

/// A calibrated QatVgg of tiny_options() (observers have seen random batches).
QatVgg calibrated_qat() {
    torch::manual_seed(5);
    Vgg net(tiny_options());
    net->eval();
    QatVgg qat(*net);
    qat->train();
    qat->set_observing(true);
    torch::NoGradGuard no_grad;
    for (int i = 0; i < 2; ++i) {
        qat->forward(torch::randn({8, 1, 32, 32}));
    }
    qat->set_observing(false);
    qat->eval();
    return qat;
}

TEST(QatVggBlockHook, SeesEveryBlockInOrderWithItsShape) {
    auto qat = calibrated_qat();
    const auto x = torch::randn({3, 1, 32, 32});
    std::vector<int64_t> seen;
    std::vector<std::vector<int64_t>> shapes;
    qat->set_block_hook([&](int64_t block, const torch::Tensor& out) {
        seen.push_back(block);
        shapes.push_back(out.sizes().vec());
        return out;
    });
    torch::NoGradGuard no_grad;
    qat->forward(x);
    const auto& layers = qat->layers();
    ASSERT_EQ(seen.size(), layers.size());
    int64_t side = 32;
    for (size_t i = 0; i < layers.size(); ++i) {
        EXPECT_EQ(seen[i], static_cast<int64_t>(i));
        // The block output before its pool.
        EXPECT_EQ(shapes[i], (std::vector<int64_t>{3, layers[i].out_channels, side, side})) << i;
        side /= layers[i].pool_after ? 2 : 1;
    }
}

TEST(QatVggBlockHook, IdentityHookGivesBitIdenticalLogits) {
    auto qat = calibrated_qat();
    const auto x = torch::randn({4, 1, 32, 32});
    torch::NoGradGuard no_grad;
    const auto plain = qat->forward(x);
    qat->set_block_hook([](int64_t, const torch::Tensor& out) { return out; });
    const auto hooked = qat->forward(x);
    EXPECT_TRUE(torch::equal(plain, hooked));
    qat->set_block_hook(nullptr);
    EXPECT_TRUE(torch::equal(plain, qat->forward(x)));
}

TEST(QatVggBlockHook, ReplacedOutputFlowsOn) {
    auto qat = calibrated_qat();
    const auto x = torch::randn({2, 1, 32, 32});
    torch::NoGradGuard no_grad;
    const auto plain = qat->forward(x);
    const auto last = static_cast<int64_t>(qat->layers().size()) - 1;
    qat->set_block_hook([last](int64_t block, const torch::Tensor& out) {
        return block == last ? torch::zeros_like(out) : out;
    });
    // With the last block zeroed the logits are the classifier bias alone.
    const auto zeroed = qat->forward(x);
    EXPECT_FALSE(torch::equal(plain, zeroed));
    const auto bias = qat->classifier()->bias.unsqueeze(0).expand_as(zeroed);
    EXPECT_TRUE(torch::equal(zeroed, bias));
}

} // namespace
} // namespace triseg::models
