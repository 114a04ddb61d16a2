// Tests of the graph networks (ResNet, MobileNetV2): layouts, float forward on every input
// shape, checkpoints, the QAT point hook, and that VGG goes through the same factory unchanged.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <torch/torch.h>

#include "common/error.h"
#include "models/checkpoint.h"
#include "models/graph_net.h"
#include "models/nets.h"
#include "models/spec/graph_layout.h"
#include "models/vgg.h"
#include "tests/io/temp_dir.h"

namespace triseg::models {
namespace {

using test::expect_error;

ModelOptions options(ModelArch arch, double width, int64_t channels, int64_t side) {
    ModelOptions o;
    o.arch = arch;
    o.width = width;
    o.in_channels = channels;
    o.image_size = side;
    o.num_classes = 10;
    return o;
}

struct Counts {
    int convs = 0;
    int points = 0;
    int adds = 0;
    int depthwise = 0;
};

Counts count(const std::vector<LayoutOp>& layout) {
    Counts c;
    for (const auto& op : layout) {
        c.convs += op.kind == LayoutOp::Kind::Conv;
        c.adds += op.kind == LayoutOp::Kind::Add;
        c.points += op.act != LayoutAct::None;
        c.depthwise += op.kind == LayoutOp::Kind::Conv && op.groups > 1;
    }
    return c;
}

TEST(GraphLayout, DepthsAndPointsFollowTheArchitectures) {
    // ResNet-(6n+2): the stem, n BasicBlocks per stage (two convs, one add each), 2 projections.
    for (const auto& [arch, n] : std::vector<std::pair<ModelArch, int>>{
             {ModelArch::ResNet20, 3}, {ModelArch::ResNet32, 5}, {ModelArch::ResNet56, 9}}) {
        const Counts c = count(graph_layout(options(arch, 1.0, 3, 32)));
        EXPECT_EQ(c.convs, 1 + 3 * n * 2 + 2) << arch_name(arch);
        EXPECT_EQ(c.adds, 3 * n) << arch_name(arch);
        EXPECT_EQ(c.points, 1 + 3 * n * 2) << arch_name(arch);
    }
    const Counts r18 = count(graph_layout(options(ModelArch::ResNet18, 1.0, 3, 32)));
    EXPECT_EQ(r18.convs, 1 + 16 + 3);
    EXPECT_EQ(r18.points, 17);
    // MobileNetV2: 17 blocks (the first without expansion), 10 with a skip, a 1x1 head.
    const auto mb = graph_layout(options(ModelArch::MobileNetV2, 1.0, 3, 32));
    const Counts m = count(mb);
    EXPECT_EQ(m.depthwise, 17);
    EXPECT_EQ(m.adds, 10);
    EXPECT_EQ(m.points, 1 + 16 + 17 + 1);
    EXPECT_EQ(mb[mb.size() - 3].name, "features.18");
    EXPECT_EQ(mb[mb.size() - 3].out_channels, 1280);
    // Names are unique and every input is defined before use.
    std::set<std::string> seen{"input"};
    for (const auto& op : mb) {
        for (const auto& in : op.inputs) {
            EXPECT_EQ(seen.count(in), 1u) << op.name << " reads " << in;
        }
        EXPECT_TRUE(seen.insert(op.name).second) << op.name;
    }
    expect_error<ConfigError>([] { (void)graph_layout(options(ModelArch::Vgg16, 1.0, 1, 32)); },
                              {"vgg16", "VGG chain"});
}

TEST(GraphNet, ForwardGivesLogitsForEveryArchChannelCountAndImageSize) {
    for (ModelArch arch : {ModelArch::ResNet20, ModelArch::ResNet18, ModelArch::MobileNetV2}) {
        for (int64_t channels : {1, 3}) {
            for (int64_t side : {28, 32}) {
                torch::manual_seed(0);
                FloatNet net = make_float_net(options(arch, 0.25, channels, side));
                net->eval();
                const auto y = net->forward(torch::randn({2, channels, side, side}));
                EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{2, 10}))
                    << arch_name(arch) << " " << channels << "x" << side;
                EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
            }
        }
    }
    expect_error<ConfigError>([] { (void)make_float_net(options(ModelArch::ResNet20, 1.0, 1, 4)); },
                              {"model.image_size", "got 4"});
}

TEST(GraphNet, CheckpointsRoundTripAndVggOnlyStagesSayWhy) {
    test::TempDir dir;
    torch::manual_seed(1);
    FloatNet net = make_float_net(options(ModelArch::ResNet20, 0.5, 1, 28));
    net->eval();
    save_float_net(*net, dir.file("r.pt"));
    FloatNet back = load_float_net(dir.file("r.pt"));
    back->eval();
    const auto x = torch::randn({3, 1, 28, 28});
    EXPECT_TRUE(torch::equal(net->forward(x), back->forward(x)));
    expect_error<InputError>([&] { (void)load_model(dir.file("r.pt")); },
                             {"resnet20", "VGG models (vgg11, vgg16) only"});
    // QAT: the fold keeps the function in eval mode before quantization matters (observers
    // fed once), and the checkpoint holds the observers.
    QatNet qat = fold_to_qat(*net);
    qat->train();
    qat->set_observing(true);
    (void)qat->forward(x);
    qat->eval();
    save_qat_net(*qat, dir.file("q.pt"));
    QatNet qback = load_qat_net(dir.file("q.pt"));
    qback->eval();
    EXPECT_TRUE(torch::equal(qat->forward(x), qback->forward(x)));
}

TEST(FloatNetPoints, ForwardPointsGivesEveryPointInOrderAndTheSameLogits) {
    for (const auto& [arch, channels, side] :
         std::vector<std::tuple<ModelArch, int64_t, int64_t>>{{ModelArch::Vgg11, 1, 32},
                                                              {ModelArch::ResNet20, 1, 28},
                                                              {ModelArch::MobileNetV2, 3, 32}}) {
        SCOPED_TRACE(arch_name(arch));
        torch::manual_seed(3);
        FloatNet net = make_float_net(options(arch, 0.25, channels, side));
        net->eval();
        torch::NoGradGuard no_grad;
        const auto x = torch::randn({2, channels, side, side});
        std::vector<torch::Tensor> outputs;
        EXPECT_TRUE(torch::equal(net->forward_points(x, outputs), net->forward(x)));
        const auto points = net->points();
        ASSERT_EQ(outputs.size(), points.size());
        for (size_t k = 0; k < points.size(); ++k) {
            const auto& p = points[k];
            EXPECT_EQ(outputs[k].sizes().vec(),
                      (std::vector<int64_t>{2, p.channels, p.side, p.side}))
                << p.name;
            EXPECT_GE(outputs[k].min().item<float>(), 0.0f) << p.name << ": after its ReLU";
        }
        std::vector<std::string> names;
        for (const auto& p : points) {
            names.push_back(p.name);
        }
        if (!is_vgg(arch)) {
            // The QAT network (and so the integer model) has the same points.
            EXPECT_EQ(names, fold_to_qat(*net)->point_names());
            continue;
        }
        // VGG: every block's output, after its ReLU and before its pool, block by block.
        auto& vgg = dynamic_cast<VggImpl&>(*net);
        torch::Tensor y = x;
        int64_t s = side;
        for (size_t k = 0; k < vgg.layers().size(); ++k) {
            const auto& l = vgg.layers()[k];
            EXPECT_EQ(names[k], l.name);
            EXPECT_EQ(points[k].side, s) << l.name;
            EXPECT_EQ(points[k].pool_after, l.pool_after) << l.name;
            y = vgg.block(k)->forward(y);
            EXPECT_TRUE(torch::equal(outputs[k], y)) << l.name;
            if (l.pool_after) {
                y = torch::max_pool2d(y, 2, 2);
                s /= 2;
            }
        }
    }
}

/// A calibrated QatGraph of `arch` (observers have seen two random batches), in eval mode.
QatNet calibrated_qat_graph(ModelArch arch, int64_t channels, int64_t side) {
    torch::manual_seed(7);
    FloatNet net = make_float_net(options(arch, 0.25, channels, side));
    net->eval();
    QatNet qat = fold_to_qat(*net);
    qat->train();
    qat->set_observing(true);
    torch::NoGradGuard no_grad;
    for (int i = 0; i < 2; ++i) {
        (void)qat->forward(torch::randn({4, channels, side, side}));
    }
    qat->set_observing(false);
    qat->eval();
    return qat;
}

TEST(QatGraphPointHook, SeesEveryPointOnceInForwardOrderWithItsShape) {
    for (const auto& [arch, channels, side] : std::vector<std::tuple<ModelArch, int64_t, int64_t>>{
             {ModelArch::ResNet20, 1, 28}, {ModelArch::MobileNetV2, 3, 32}}) {
        SCOPED_TRACE(arch_name(arch));
        QatNet qat = calibrated_qat_graph(arch, channels, side);
        auto& graph = dynamic_cast<QatGraphImpl&>(*qat);
        // The points are the ops with a ReLU or ReLU6, in layout order.
        std::vector<std::string> expected;
        for (const auto& op : graph.layout()) {
            if (op.act != LayoutAct::None) {
                expected.push_back(op.name);
            }
        }
        ASSERT_EQ(qat->point_names(), expected);
        const auto x = torch::randn({3, channels, side, side});
        torch::NoGradGuard no_grad;
        std::map<std::string, torch::Tensor> plain;
        (void)graph.forward_tensors(x, plain);

        std::vector<int64_t> seen;
        std::vector<torch::Tensor> outputs;
        qat->set_point_hook([&](int64_t point, const torch::Tensor& out) {
            seen.push_back(point);
            outputs.push_back(out);
            return out;
        });
        (void)qat->forward(x);
        qat->set_point_hook(nullptr);
        ASSERT_EQ(seen.size(), expected.size());
        const auto all_q = graph.activation_qparams();
        const auto point_q = qat->point_qparams();
        ASSERT_EQ(point_q.size(), expected.size());
        for (size_t k = 0; k < seen.size(); ++k) {
            EXPECT_EQ(seen[k], static_cast<int64_t>(k));
            // The point's fake-quantized output, of its own shape.
            EXPECT_TRUE(torch::equal(outputs[k], plain.at(expected[k]))) << expected[k];
            const auto slot =
                std::find(graph.tensor_names().begin(), graph.tensor_names().end(), expected[k]) -
                graph.tensor_names().begin();
            EXPECT_EQ(point_q[k], all_q.at(static_cast<size_t>(slot))) << expected[k];
        }
    }
}

TEST(QatGraphPointHook, WithoutAHookOrWithTheIdentityTheLogitsAreUnchanged) {
    for (const auto& [arch, channels, side] : std::vector<std::tuple<ModelArch, int64_t, int64_t>>{
             {ModelArch::ResNet20, 1, 28}, {ModelArch::MobileNetV2, 3, 32}}) {
        SCOPED_TRACE(arch_name(arch));
        QatNet qat = calibrated_qat_graph(arch, channels, side);
        const auto x = torch::randn({4, channels, side, side});
        torch::NoGradGuard no_grad;
        const auto plain = qat->forward(x);
        qat->set_point_hook([](int64_t, const torch::Tensor& out) { return out; });
        EXPECT_TRUE(torch::equal(plain, qat->forward(x)));
        qat->set_point_hook(nullptr);
        EXPECT_TRUE(torch::equal(plain, qat->forward(x)));
        // A replaced point flows on, through every op that reads it (skip connections too).
        qat->set_point_hook([](int64_t point, const torch::Tensor& out) {
            return point == 1 ? torch::zeros_like(out) : out;
        });
        EXPECT_FALSE(torch::equal(plain, qat->forward(x)));
        qat->set_point_hook(nullptr);
    }
}

TEST(GraphNet, VggThroughTheFactoryIsTheSameNetwork) {
    const ModelOptions o = options(ModelArch::Vgg11, 0.125, 1, 32);
    torch::manual_seed(5);
    FloatNet a = make_float_net(o);
    torch::manual_seed(5);
    Vgg b(o);
    const auto pa = a->named_parameters();
    const auto pb = b->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (const auto& item : pa) {
        EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
    }
}

} // namespace
} // namespace triseg::models
