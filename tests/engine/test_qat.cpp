// BN folding, observers, QAT checkpoints, and the INT8 export against its fake-quant twin.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include <torch/torch.h>

#include "common/error.h"
#include "engine/batching.h"
#include "engine/classifier_eval.h"
#include "engine/float_trainer.h"
#include "engine/int8_export.h"
#include "engine/int8_inputs.h"
#include "engine/int8_network.h"
#include "engine/qat_trainer.h"
#include "io/dataset_factory.h"
#include "models/checkpoint.h"
#include "models/qat_vgg.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

constexpr double kFoldTolerance = 1e-4; ///< float32 fold vs conv+BN
constexpr double kMinAgreement = 99.5;  ///< int8 vs fake-quant predictions, percent

models::VggOptions tiny_model() {
    models::VggOptions o;
    o.arch = models::VggArch::Vgg11;
    o.width = 0.125;
    return o;
}

bool have_fashion_mnist() {
    return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

TEST(AffineQparams, MatchesPyTorchObserverRule) {
    auto q = models::affine_qparams(0.0f, 2.55f);
    EXPECT_FLOAT_EQ(q.scale, 0.01f);
    EXPECT_EQ(q.zero_point, 0);
    q = models::affine_qparams(-1.0f, 1.55f); // scale 0.01, zp = -round(-1/0.01) = 100
    EXPECT_FLOAT_EQ(q.scale, 0.01f);
    EXPECT_EQ(q.zero_point, 100);
    q = models::affine_qparams(0.5f, 1.0f); // range always includes 0
    EXPECT_FLOAT_EQ(q.scale, 1.0f / 255.0f);
    EXPECT_EQ(q.zero_point, 0);
    q = models::affine_qparams(0.0f, 0.0f); // degenerate: scale floored at epsilon
    EXPECT_GT(q.scale, 0.0f);
}

TEST(QatVgg, FoldingReproducesConvPlusBatchNorm) {
    torch::manual_seed(0);
    models::Vgg net(tiny_model());
    net->train();
    for (int i = 0; i < 3; ++i) { // move running statistics away from 0/1
        net->forward(torch::randn({16, 1, 32, 32}) * 2 + 0.5);
    }
    net->eval();
    models::QatVgg qat(*net);
    torch::NoGradGuard no_grad;
    auto x = torch::randn({4, 1, 32, 32});
    for (size_t i = 0; i < 2; ++i) {
        auto& block = net->block(i);
        const auto expected = block->bn->forward(block->conv->forward(x));
        const auto folded = qat->conv(i)->forward(x);
        EXPECT_LT((expected - folded).abs().max().item<double>(), kFoldTolerance) << i;
        x = block->forward(x);
        if (net->layers()[i].pool_after) {
            x = torch::max_pool2d(x, 2);
        }
    }
}

TEST(QatVgg, ObserversCalibrateAndRoundTrip) {
    torch::manual_seed(1);
    models::Vgg net(tiny_model());
    models::QatVgg qat(*net);
    test::expect_error<InputError>([&] { qat->activation_qparams(); }, {"calibrate"});
    qat->train();
    qat->set_observing(true, 0.01);
    {
        torch::NoGradGuard no_grad;
        qat->forward(torch::randn({8, 1, 32, 32}));
    }
    const auto q = qat->activation_qparams();
    ASSERT_EQ(q.size(), net->layers().size() + 1);
    EXPECT_GT(q[0].zero_point, 0) << "normalized input has negative values";
    for (size_t i = 1; i < q.size(); ++i) {
        EXPECT_EQ(q[i].zero_point, 0) << "after ReLU";
        EXPECT_GT(q[i].scale, 0.0f);
    }
    // Observing stops in eval mode.
    qat->eval();
    {
        torch::NoGradGuard no_grad;
        qat->forward(torch::randn({8, 1, 32, 32}) * 10);
    }
    EXPECT_EQ(qat->activation_qparams()[0], q[0]);

    test::TempDir dir;
    models::save_qat_model(qat, dir.file("q.pt"));
    auto loaded = models::load_qat_model(dir.file("q.pt"));
    EXPECT_EQ(loaded->activation_qparams()[3], q[3]);
    loaded->eval();
    const auto x = torch::randn({2, 1, 32, 32});
    EXPECT_TRUE(torch::equal(loaded->forward(x), qat->forward(x)));
    test::expect_error<InputError>([&] { models::load_model(dir.file("q.pt")); }, {"qat", "float"});
}

TEST(Int8Export, IntegerModelAgreesWithFakeQuantStudent) {
    if (!have_fashion_mnist()) {
        GTEST_SKIP() << "dataset-fashion-mnist is not installed (scripts/bootstrap installs it)";
    }
    io::RunConfig cfg;
    cfg.data.train_limit = 768;
    cfg.data.test_limit = 1000;
    cfg.model = tiny_model();
    cfg.train.epochs = 2;
    cfg.train.batch_size = 64;
    cfg.qat.epochs = 1;
    cfg.qat.batch_size = 64;
    cfg.qat.calibration_batches = 8;
    cfg.qat.freeze_observers_after = 8;
    cfg.runtime.threads = 2;
    const auto data = io::load_dataset(cfg.data, 0);
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("float"));
    std::filesystem::create_directories(dir.file("qat"));
    FloatTrainer(cfg, data, dir.file("float"), false).run();
    QatTrainer(cfg, data, dir.file("float/model.pt"), dir.file("qat"), false).run();

    auto qat = models::load_qat_model(dir.file("qat/model.pt"));
    qat->eval();
    const auto int8 = export_int8(*qat, data.mean, data.std, "test");
    ASSERT_EQ(int8.convs.size(), 8u);
    EXPECT_EQ(int8.convs[0].input, int8.input);
    for (size_t i = 1; i < int8.convs.size(); ++i) {
        EXPECT_EQ(int8.convs[i].input, int8.convs[i - 1].output);
    }

    const auto opts = make_loader_options(cfg.data, data, 250, false, 0);
    std::vector<int64_t> fq_pred;
    evaluate_classifier(
        *qat, [&qat](const torch::Tensor& x) { return qat->forward(x); }, data.test, opts,
        torch::kCPU, "", &fq_pred);
    Int8Network net(int8);
    const auto inputs = quantize_dataset(net, data.test, opts);
    std::vector<float> logits(static_cast<size_t>(inputs.count * 10));
    net.forward(inputs.codes.data(), inputs.count, logits.data());
    int64_t agree = 0;
    for (int64_t i = 0; i < inputs.count; ++i) {
        const float* l = logits.data() + i * 10;
        agree += std::max_element(l, l + 10) - l == fq_pred[i];
    }
    const double agreement = 100.0 * agree / inputs.count;
    EXPECT_GE(agreement, kMinAgreement);
    std::printf("int8 vs fake-quant agreement: %.2f%% of %lld images\n", agreement,
                static_cast<long long>(inputs.count));
}

} // namespace
} // namespace triseg::engine
