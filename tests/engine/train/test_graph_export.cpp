// The exported integer graph of a ResNet and a MobileNetV2 computes what their fake-quant
// networks compute: the same input codes, and at every tensor codes that differ only where a
// rounding differs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "engine/int8/int8_network.h"
#include "engine/int8/int8_reference.h"
#include "engine/train/int8_export.h"
#include "models/graph_net.h"
#include "models/nets.h"

namespace triseg::engine {
namespace {

void expect_export_matches(models::ModelArch arch) {
    models::ModelOptions o;
    o.arch = arch;
    o.width = 0.25;
    o.in_channels = 1;
    o.image_size = 16;
    o.num_classes = 10;
    torch::manual_seed(3);
    models::GraphNet net(o);
    // Give the BatchNorms statistics, as training would.
    net->train();
    for (int i = 0; i < 4; ++i) {
        (void)net->forward(torch::randn({32, 1, 16, 16}));
    }
    net->eval();
    models::QatGraph qat(*net);
    qat->train();
    qat->set_observing(true, 0.1);
    for (int i = 0; i < 4; ++i) {
        (void)qat->forward(torch::randn({32, 1, 16, 16}));
    }
    qat->set_observing(false);
    qat->eval();
    const models::Int8Graph g = export_int8_graph(*qat, {0.0}, {1.0}, "test");
    Int8Network int8(g);
    EXPECT_EQ(int8.num_layers(), static_cast<int64_t>(models::graph_points(g).size()));

    // Op by op: each integer op, fed the fake-quant network's codes of its inputs, gives its
    // codes of the output up to one rounding (never more than 1 apart; the roundings of the
    // bias, of the multiplier, and
    // float32 accumulation): a wrong scale, multiplier, zero point or clamp shifts many codes
    // by more. (Whole networks drift further: untrained random weights amplify each rounding.)
    const int64_t n = 4;
    const auto images = torch::randn({n, 1, 16, 16});
    std::map<std::string, torch::Tensor> tensors;
    torch::NoGradGuard no_grad;
    (void)qat->forward_tensors(images, tensors);
    const auto codes_of = [&](int32_t t, int64_t image) {
        const auto& x = g.tensors[static_cast<size_t>(t)];
        const auto c = (tensors.at(x.name)[image] / x.quant.scale)
                           .round()
                           .add(x.quant.zero_point)
                           .to(torch::kUInt8)
                           .contiguous();
        return std::vector<uint8_t>(c.data_ptr<uint8_t>(), c.data_ptr<uint8_t>() + c.numel());
    };
    // The input codes are the network's own quantization of the images.
    std::vector<uint8_t> input(static_cast<size_t>(n * int8.input_size()));
    int8.quantize(images.contiguous().data_ptr<float>(), n, input.data());
    for (int64_t i = 0; i < n; ++i) {
        const auto want = codes_of(0, i);
        EXPECT_TRUE(std::equal(want.begin(), want.end(), input.begin() + i * int8.input_size()));
    }
    for (const models::Int8Op& op : g.ops) {
        if (op.kind == models::Int8OpKind::Linear) {
            continue;
        }
        int64_t equal = 0;
        int64_t total = 0;
        int worst = 0;
        for (int64_t i = 0; i < n; ++i) {
            std::vector<std::vector<uint8_t>> in;
            std::vector<const uint8_t*> ptrs;
            for (int32_t t : op.inputs) {
                in.push_back(codes_of(t, i));
            }
            for (const auto& v : in) {
                ptrs.push_back(v.data());
            }
            const auto want = codes_of(op.output, i);
            std::vector<uint8_t> got(want.size());
            reference::graph_op_u8(g, op, ptrs, got.data());
            for (size_t k = 0; k < got.size(); ++k) {
                const int d = std::abs(int{got[k]} - int{want[k]});
                equal += d == 0;
                worst = std::max(worst, d);
            }
            total += static_cast<int64_t>(got.size());
        }
        EXPECT_LE(worst, 1) << op.name;
        // How many are exactly equal is a statistic of this CPU's float32 convolution (97.9%
        // to 100% per op here); only the one-code bound is a property of the export.
        EXPECT_GT(equal, 0) << op.name;
    }
}

TEST(GraphExport, ResNetIntegerCodesFollowTheFakeQuantNetwork) {
    expect_export_matches(models::ModelArch::ResNet20);
}

TEST(GraphExport, MobileNetV2IntegerCodesFollowTheFakeQuantNetwork) {
    expect_export_matches(models::ModelArch::MobileNetV2);
}

} // namespace
} // namespace triseg::engine
