// Tests of the graph integer network: every op's kernel against the reference, whole residual
// and depthwise graphs against the reference forward on every ISA, tables, counts, suffix
// replay from the live set of every point, MAC counts from the shapes, and graph validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/int8/code_map.h"
#include "engine/int8/graph_kernels.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_network.h"
#include "engine/int8/int8_reference.h"
#include "models/spec/int8_graph.h"
#include "tests/engine/int8/graph_fixture.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

using models::Int8Graph;
using models::Int8Op;
using models::Int8OpKind;
using test::expect_error;

constexpr int64_t kImages = 5;

std::vector<uint8_t> inputs_for(const Int8Network& net, uint64_t seed) {
    Rng rng(seed);
    return test::random_codes(kImages * net.input_size(), rng);
}

/// Logits and point codes of every image from the reference forward.
struct Expected {
    std::vector<float> logits;
    std::vector<std::vector<uint8_t>> points; ///< per point: [images][size]
};

Expected reference_run(const Int8Graph& g,
                       const Int8Network& net,
                       const std::vector<uint8_t>& codes,
                       const std::vector<const uint8_t*>& tables) {
    Expected e;
    e.logits.resize(static_cast<size_t>(kImages * net.num_classes()));
    e.points.resize(static_cast<size_t>(net.num_layers()));
    for (int64_t i = 0; i < kImages; ++i) {
        std::vector<std::vector<uint8_t>> points;
        reference::graph_forward(g, codes.data() + i * net.input_size(),
                                 e.logits.data() + i * net.num_classes(), tables, &points);
        EXPECT_EQ(points.size(), static_cast<size_t>(net.num_layers()));
        for (size_t p = 0; p < points.size(); ++p) {
            e.points[p].insert(e.points[p].end(), points[p].begin(), points[p].end());
        }
    }
    return e;
}

std::vector<KernelIsa> supported_isas() {
    std::vector<KernelIsa> out;
    for (KernelIsa isa :
         {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512Vnni, KernelIsa::Avx512Zmm}) {
        if (kernel_isa_supported(isa)) {
            out.push_back(isa);
        }
    }
    return out;
}

/// Random tables for every point (identity for every third).
std::vector<CodeTable> random_tables(const Int8Network& net, uint64_t seed) {
    Rng rng(seed);
    std::vector<CodeTable> tables;
    for (int64_t p = 0; p < net.num_layers(); ++p) {
        tables.push_back(
            make_table(test::random_valid_codes(rng), net.layer_names()[static_cast<size_t>(p)]));
    }
    return tables;
}

class GraphNetworks : public ::testing::TestWithParam<int> {
protected:
    Int8Graph graph() const {
        return GetParam() == 0 ? test::random_resnet_graph(11) : test::random_mobilenet_graph(12);
    }
};

TEST_P(GraphNetworks, ForwardEqualsTheReferenceOnEveryIsaAndThreadCount) {
    const Int8Graph g = graph();
    Int8Network net(g);
    const auto codes = inputs_for(net, 3);
    const Expected want = reference_run(g, net, codes, {});
    // The codes spread: no point is constant (a calibrated fixture, so the test can fail).
    for (size_t p = 0; p < want.points.size(); ++p) {
        const std::set<uint8_t> distinct(want.points[p].begin(), want.points[p].end());
        EXPECT_GT(distinct.size(), 8u) << net.layer_names()[p];
    }
    for (KernelIsa isa : supported_isas()) {
        net.use_kernel_isa(isa);
        for (int threads : {1, 2, 3}) {
            std::vector<float> logits(want.logits.size());
            std::vector<uint8_t*> keep;
            std::vector<std::vector<uint8_t>> outs(static_cast<size_t>(net.num_layers()));
            for (int64_t p = 0; p < net.num_layers(); ++p) {
                outs[static_cast<size_t>(p)].resize(
                    static_cast<size_t>(kImages * net.block_output_size(p)));
                keep.push_back(outs[static_cast<size_t>(p)].data());
            }
            net.forward_blocks(codes.data(), kImages, logits.data(), keep, {}, threads);
            EXPECT_TRUE(test::same_bits(logits, want.logits))
                << kernel_isa_name(isa) << " " << threads;
            EXPECT_EQ(outs, want.points) << kernel_isa_name(isa) << " " << threads;
        }
    }
}

TEST_P(GraphNetworks, TablesHistogramsAndCountsMatchTheReference) {
    const Int8Graph g = graph();
    Int8Network net(g);
    const auto codes = inputs_for(net, 4);
    const auto tables = random_tables(net, 5);
    std::vector<const uint8_t*> ptrs;
    for (const auto& t : tables) {
        ptrs.push_back(t.data());
    }
    const Expected want = reference_run(g, net, codes, ptrs);
    std::vector<float> logits(want.logits.size());
    std::vector<CodeHistogram> hist;
    net.forward(codes.data(), kImages, logits.data(), ptrs, &hist, 2);
    EXPECT_TRUE(test::same_bits(logits, want.logits));
    for (size_t p = 0; p < want.points.size(); ++p) {
        CodeHistogram h{};
        for (uint8_t v : want.points[p]) {
            ++h[v];
        }
        EXPECT_EQ(hist[p], h) << net.layer_names()[p];
    }
    // The counted forward with the maps behind the tables: same logits, counts of the histograms.
    Rng rng(5);
    std::vector<LayerCodes> maps;
    for (int64_t p = 0; p < net.num_layers(); ++p) {
        maps.push_back(test::random_valid_codes(rng));
    }
    std::vector<float> counted(want.logits.size());
    std::vector<MapCounts> counts;
    net.forward_counted(codes.data(), kImages, counted.data(), maps, &counts, 2);
    EXPECT_TRUE(test::same_bits(counted, want.logits));
    for (size_t p = 0; p < maps.size(); ++p) {
        EXPECT_EQ(counts[p], map_counts(hist[p], maps[p])) << net.layer_names()[p];
    }
}

/// Every tensor's codes of a full forward with `tables` (forward_tensors).
std::vector<std::vector<uint8_t>> all_tensors(const Int8Network& net,
                                              const std::vector<uint8_t>& codes,
                                              const std::vector<const uint8_t*>& tables) {
    const auto& tensors = net.graph().tensors;
    std::vector<std::vector<uint8_t>> out(tensors.size());
    std::vector<uint8_t*> keep;
    for (size_t t = 0; t < tensors.size(); ++t) {
        out[t].resize(static_cast<size_t>(kImages * tensors[t].size()));
        keep.push_back(out[t].data());
    }
    std::vector<float> logits(static_cast<size_t>(kImages * net.num_classes()));
    net.forward_tensors(codes.data(), kImages, logits.data(), keep, tables, 2);
    return out;
}

/// Point `p`'s live set out of all_tensors().
std::vector<const uint8_t*>
live_of(const Int8Network& net, int64_t p, const std::vector<std::vector<uint8_t>>& tensors) {
    std::vector<const uint8_t*> live;
    for (int32_t t : net.live_tensors(p)) {
        live.push_back(tensors[static_cast<size_t>(t)].data());
    }
    return live;
}

TEST_P(GraphNetworks, ReplayFromTheLiveSetOfEveryPointEqualsTheFullForward) {
    const Int8Graph g = graph();
    Int8Network net(g);
    const auto codes = inputs_for(net, 6);
    const auto tables = random_tables(net, 7);
    std::vector<const uint8_t*> ptrs;
    for (const auto& t : tables) {
        ptrs.push_back(t.data());
    }
    for (bool with_tables : {false, true}) {
        const std::vector<const uint8_t*> use = with_tables ? ptrs : std::vector<const uint8_t*>{};
        const Expected want = reference_run(g, net, codes, use);
        std::vector<CodeHistogram> full_hist;
        std::vector<float> full(want.logits.size());
        net.forward(codes.data(), kImages, full.data(), use, &full_hist, 1);
        ASSERT_TRUE(test::same_bits(full, want.logits));
        const auto stored = all_tensors(net, codes, use);
        for (int64_t p = 0; p < net.num_layers(); ++p) {
            const std::string what = net.layer_names()[static_cast<size_t>(p)] +
                                     (with_tables ? " with tables" : " without tables");
            EXPECT_EQ(stored[static_cast<size_t>(net.live_tensors(p)[0])],
                      want.points[static_cast<size_t>(p)])
                << what;
            for (int threads : {1, 3}) {
                std::vector<float> logits(want.logits.size());
                std::vector<CodeHistogram> hist;
                net.forward_from(p, live_of(net, p, stored), kImages, logits.data(), use, &hist,
                                 threads);
                EXPECT_TRUE(test::same_bits(logits, want.logits)) << what << " " << threads;
                for (int64_t b = 0; b < net.num_layers(); ++b) {
                    const auto l = static_cast<size_t>(b);
                    EXPECT_EQ(hist[l], b > p ? full_hist[l] : CodeHistogram{})
                        << what << ", histogram of " << net.layer_names()[l];
                }
            }
        }
    }
}

TEST_P(GraphNetworks, CountedReplayFromTheLiveSetOfEveryPointEqualsTheCountedForward) {
    const Int8Graph g = graph();
    Int8Network net(g);
    const auto codes = inputs_for(net, 8);
    Rng rng(9);
    std::vector<LayerCodes> maps;
    std::vector<CodeTable> tables;
    std::vector<const uint8_t*> ptrs;
    for (int64_t p = 0; p < net.num_layers(); ++p) {
        maps.push_back(test::random_valid_codes(rng));
        tables.push_back(make_table(maps.back(), net.layer_names()[static_cast<size_t>(p)]));
    }
    for (const auto& t : tables) {
        ptrs.push_back(t.data());
    }
    std::vector<float> full(static_cast<size_t>(kImages * net.num_classes()));
    std::vector<MapCounts> full_counts;
    net.forward_counted(codes.data(), kImages, full.data(), maps, &full_counts, 2);
    // Stored under the same maps (as the prefix cache stores its anchor's).
    const auto stored = all_tensors(net, codes, ptrs);
    for (int64_t p = 0; p < net.num_layers(); ++p) {
        const std::string& name = net.layer_names()[static_cast<size_t>(p)];
        std::vector<float> logits(full.size());
        std::vector<MapCounts> counts;
        net.forward_from_counted(p, live_of(net, p, stored), kImages, logits.data(), maps, &counts,
                                 2);
        EXPECT_TRUE(test::same_bits(logits, full)) << name;
        for (int64_t b = 0; b < net.num_layers(); ++b) {
            const auto l = static_cast<size_t>(b);
            EXPECT_EQ(counts[l], b > p ? full_counts[l] : MapCounts{}) << name << " " << b;
        }
    }
}

TEST_P(GraphNetworks, TheLiveSetIsEveryTensorMadeBeforeTheCutAndReadAfterIt) {
    const Int8Graph g = graph();
    Int8Network net(g);
    int crossed = 0;
    for (int64_t p = 0; p < net.num_layers(); ++p) {
        const auto& live = net.live_tensors(p);
        const int32_t point = live[0];
        EXPECT_EQ(g.tensors[static_cast<size_t>(point)].name,
                  net.layer_names()[static_cast<size_t>(p)]);
        EXPECT_EQ(net.live_sizes(p).size(), live.size());
        EXPECT_TRUE(std::is_sorted(live.begin() + 1, live.end()));
        EXPECT_EQ(net.replayable(p), live.size() == 1);
        if (live.size() == 1) {
            continue;
        }
        ++crossed;
        // The single-buffer replay refuses a point a skip crosses, naming what it carries.
        std::vector<float> logits(static_cast<size_t>(kImages * net.num_classes()));
        std::vector<uint8_t> codes(static_cast<size_t>(kImages * net.block_output_size(p)));
        expect_error<InputError>([&] { net.forward_from(p, codes.data(), kImages, logits.data()); },
                                 {"cannot replay from block " + std::to_string(p),
                                  net.layer_names()[static_cast<size_t>(p)], "skip connection",
                                  g.tensors[static_cast<size_t>(live[1])].name, "live_tensors"});
        expect_error<InputError>(
            [&] {
                net.forward_from(p, std::vector<const uint8_t*>{codes.data()}, kImages,
                                 logits.data());
            },
            {"got 1 live tensor buffers", "live set has " + std::to_string(live.size())});
    }
    EXPECT_GE(crossed, 1) << "the fixture has points inside a residual block";
}

INSTANTIATE_TEST_SUITE_P(ResNetAndMobileNet, GraphNetworks, ::testing::Values(0, 1));

TEST(Int8Graph, ResidualPointsAndReplayableCuts) {
    const Int8Graph g = test::random_resnet_graph(1);
    Int8Network net(g);
    EXPECT_EQ(net.layer_names(),
              (std::vector<std::string>{"conv1", "layer1.0.conv1", "layer1.0.out", "layer2.0.conv1",
                                        "layer2.0.out"}));
    EXPECT_FALSE(net.is_chain());
    // Inside a block the skip (the block's input, a point) is live; block outputs are clean
    // cuts.
    EXPECT_EQ(std::vector<bool>({net.replayable(0), net.replayable(1), net.replayable(2),
                                 net.replayable(3), net.replayable(4)}),
              std::vector<bool>({true, false, true, false, true}));
    const auto name_of = [&](int32_t t) { return g.tensors[static_cast<size_t>(t)].name; };
    EXPECT_EQ(name_of(net.live_tensors(1)[1]), "conv1");
    EXPECT_EQ(name_of(net.live_tensors(3)[1]), "layer1.0.out");
    EXPECT_TRUE(net.live_non_points().empty()) << "every skip of the ResNet is a point";
    expect_error<InputError>([&] { (void)net.model(); },
                             {"VGG chain models (vgg11, vgg16) only", "graph"});
}

TEST(Int8Graph, MobileNetPointsAreTheRelu6Outputs) {
    Int8Network net(test::random_mobilenet_graph(2));
    EXPECT_EQ(net.layer_names(),
              (std::vector<std::string>{"features.0", "features.1.dw", "features.2.expand",
                                        "features.2.dw", "features.3.expand", "features.3.dw",
                                        "features.4"}));
    // The skip of features.2 carries features.1.project (not a point) across two points.
    EXPECT_FALSE(net.replayable(2));
    EXPECT_FALSE(net.replayable(3));
    ASSERT_EQ(net.live_tensors(3).size(), 2u);
    const auto& g = net.graph();
    EXPECT_EQ(g.tensors[static_cast<size_t>(net.live_tensors(3)[1])].name, "features.1.project");
    ASSERT_EQ(net.live_non_points().size(), 1u);
    EXPECT_EQ(net.live_non_points()[0], net.live_tensors(3)[1]);
}

TEST(Int8Graph, MacsFollowFromTheShapes) {
    Int8Network net(test::random_resnet_graph(1, 3, 12));
    // Counted here from the architecture: 12x12 input, convs 3x3 (and one 1x1 shortcut).
    const int64_t stem = 8 * 3 * 9 * 144;
    const int64_t l1 = 8 * 8 * 9 * 144;
    const int64_t l2c1 = 16 * 8 * 9 * 36;
    const int64_t l2c2 = 16 * 16 * 9 * 36;
    const int64_t sc = 16 * 8 * 1 * 36;
    const int64_t fc = 16 * 10;
    EXPECT_EQ(net.conv_macs(0), stem);
    EXPECT_EQ(net.conv_macs(1), l1);
    EXPECT_EQ(net.conv_macs(2), 0) << "an add has no multiply-accumulates";
    EXPECT_EQ(net.conv_macs(3), l2c1);
    EXPECT_EQ(net.classifier_macs(), fc);
    EXPECT_EQ(net.forward_macs(), stem + 2 * l1 + l2c1 + l2c2 + sc + fc);
    EXPECT_EQ(net.forward_from_macs(2), l2c1 + l2c2 + sc + fc);
    Int8Network mobile(test::random_mobilenet_graph(2, 1, 14));
    // features.1.dw: depthwise 3x3 on 8 channels at 14x14 = 8 * 1 * 9 * 196.
    EXPECT_EQ(mobile.conv_macs(1), 8 * 9 * 196);
    // features.3.dw: stride 2 -> 7x7.
    EXPECT_EQ(mobile.conv_macs(5), 24 * 9 * 49);
}

TEST(Int8Graph, PortableKernelsEqualTheReferenceOnRandomShapes) {
    Rng rng(99);
    for (int trial = 0; trial < 40; ++trial) {
        const int64_t k = std::vector<int64_t>{1, 3, 5}[rng.uniform_below(3)];
        const int64_t stride = 1 + static_cast<int64_t>(rng.uniform_below(2));
        const int64_t pad = static_cast<int64_t>(rng.uniform_below(static_cast<uint64_t>(k)));
        const bool depthwise = rng.uniform_below(3) == 0;
        const int64_t cin = 1 + static_cast<int64_t>(rng.uniform_below(6));
        const int64_t groups = depthwise ? cin : 1;
        const int64_t cout = depthwise ? cin : 1 + static_cast<int64_t>(rng.uniform_below(7));
        const int64_t side = k + static_cast<int64_t>(rng.uniform_below(6));
        test::GraphBuilder b(cin, side, static_cast<uint64_t>(trial));
        const auto act = static_cast<test::Act>(rng.uniform_below(3));
        const int32_t c = b.conv("c", 0, cout, k, stride, pad, groups, act);
        const int32_t a = b.add("a", c, c, rng.uniform_below(2) == 0);
        const int32_t m = b.maxpool("m", a, 1 + static_cast<int64_t>(rng.uniform_below(2)), 1);
        const int32_t p = b.avgpool("p", m, 1, 1);
        const Int8Graph g = b.finish(b.avgpool("gap", p, 0, 1));
        models::validate_graph(g, "trial " + std::to_string(trial));
        const auto codes = test::random_codes(g.tensors[0].size(), rng);
        std::vector<std::vector<uint8_t>> ref(g.tensors.size());
        std::vector<std::vector<uint8_t>> got(g.tensors.size());
        ref[0] = got[0] = codes;
        std::vector<int32_t> acc;
        for (const Int8Op& op : g.ops) {
            if (op.kind == Int8OpKind::Linear) {
                break;
            }
            const auto& y = g.tensors[static_cast<size_t>(op.output)];
            const auto& x = g.tensors[static_cast<size_t>(op.inputs[0])];
            std::vector<const uint8_t*> in;
            for (int32_t t : op.inputs) {
                in.push_back(ref[static_cast<size_t>(t)].data());
            }
            auto& r = ref[static_cast<size_t>(op.output)];
            auto& o = got[static_cast<size_t>(op.output)];
            r.resize(static_cast<size_t>(y.size()));
            o.resize(static_cast<size_t>(y.size()));
            reference::graph_op_u8(g, op, in, r.data());
            const uint8_t* src = ref[static_cast<size_t>(op.inputs[0])].data();
            switch (op.kind) {
            case Int8OpKind::Conv:
                conv_u8(op, x, y, src, o.data(), acc);
                break;
            case Int8OpKind::Add:
                add_u8(op, x, g.tensors[static_cast<size_t>(op.inputs[1])], y, src,
                       ref[static_cast<size_t>(op.inputs[1])].data(), o.data());
                break;
            case Int8OpKind::MaxPool:
                maxpool_u8(op, x, y, src, o.data());
                break;
            default:
                avgpool_u8(op, x, y, src, o.data());
                break;
            }
            EXPECT_EQ(o, r) << "trial " << trial << ", op " << op.name << " (k " << k << ", stride "
                            << stride << ", pad " << pad << ", groups " << groups << ")";
        }
    }
}

// -- validation --------------------------------------------------------------------------------

void expect_invalid(const std::function<void(Int8Graph&)>& edit,
                    const std::vector<std::string>& needles) {
    Int8Graph g = test::random_resnet_graph(3);
    edit(g);
    expect_error<InputError>([&] { models::validate_graph(g, "graph"); }, needles);
}

TEST(Int8Graph, ValidationNamesTheFault) {
    // An op reading a tensor that a later op defines: a cycle or an undefined tensor.
    expect_invalid([](Int8Graph& g) { g.ops[1].inputs[0] = g.ops[3].output; },
                   {"op 1 'layer1.0.conv1'", "before any op defines it"});
    expect_invalid([](Int8Graph& g) { g.ops[1].inputs[0] = 77; },
                   {"reads tensor 77, which does not exist"});
    // A depthwise conv whose groups do not divide the channels.
    expect_invalid([](Int8Graph& g) { g.ops[1].groups = 3; },
                   {"'layer1.0.conv1' (conv)", "groups 3 must divide in_channels 8"});
    expect_invalid([](Int8Graph& g) { g.ops[2].output = g.ops[1].output; },
                   {"which op 1 already defines"});
    expect_invalid([](Int8Graph& g) { g.tensors[2].name = "conv1"; },
                   {"tensor 2 'conv1'", "used by another tensor"});
    expect_invalid(
        [](Int8Graph& g) {
            g.ops[0].clamp_min = 0;
            g.tensors[1].quant.zero_point = 5;
        },
        {"approximation point", "clamp_min must be its zero point 5"});
    expect_invalid([](Int8Graph& g) { g.ops[7].inputs[1] = g.ops[1].output; },
                   {"'layer2.0.out' (add)", "differ in shape"});
    expect_invalid([](Int8Graph& g) { g.ops[0].weight.pop_back(); },
                   {"'conv1' (conv)", "weight holds"});
    expect_invalid([](Int8Graph& g) { g.ops[0].multiplier[0] = 7; },
                   {"'conv1' (conv)", "multiplier[0] = 7"});
    expect_invalid([](Int8Graph& g) { g.ops.pop_back(); }, {"must be the linear classifier"});
    expect_invalid([](Int8Graph& g) { g.tensors[3].height = 5; },
                   {"'layer1.0.conv2'", "but the op makes 8x12x12"});
    expect_invalid([](Int8Graph& g) { g.tensors.at(g.tensors.size() - 1).point = true; },
                   {"average-pool output cannot be an approximation point"});
    expect_invalid([](Int8Graph& g) { g.ops[0].name = "a/b"; }, {"letters, digits"});
}

TEST(Int8Graph, NetworkRefusesAnAccumulatorThatCanLeaveInt32) {
    Int8Graph g = test::random_resnet_graph(3);
    g.ops[1].bias[2] = std::numeric_limits<int32_t>::max();
    expect_error<InputError>([&] { Int8Network net(g); },
                             {"'layer1.0.conv1' (conv)", "output channel 2", "beyond int32"});
}

TEST(Int8Graph, ChainRoundTripKeepsEveryVggField) {
    const models::Int8Model m = test::random_int8_model(0.05, 9);
    const Int8Graph g = models::graph_from_chain(m);
    EXPECT_TRUE(models::is_chain(g));
    const models::Int8Model back = models::chain_from_graph(g);
    ASSERT_EQ(back.convs.size(), m.convs.size());
    for (size_t i = 0; i < m.convs.size(); ++i) {
        EXPECT_EQ(back.convs[i].name, m.convs[i].name);
        EXPECT_EQ(back.convs[i].pool_after, m.convs[i].pool_after);
        EXPECT_EQ(back.convs[i].weight, m.convs[i].weight);
        EXPECT_EQ(back.convs[i].multiplier, m.convs[i].multiplier);
        EXPECT_TRUE(back.convs[i].input == m.convs[i].input);
        EXPECT_TRUE(back.convs[i].output == m.convs[i].output);
    }
    EXPECT_EQ(back.classifier.weight, m.classifier.weight);
    EXPECT_FALSE(models::is_chain(test::random_resnet_graph(1)));
    expect_error<InputError>([] { (void)models::chain_from_graph(test::random_resnet_graph(1)); },
                             {"not a VGG chain", "layer1.0.conv2"});
}

TEST(Int8Graph, AddAndAveragePoolRoundHalfUp) {
    // The worked examples of docs/int8-model.md.
    test::GraphBuilder b(1, 2, 1);
    const int32_t c = b.conv("c", 0, 1, 1, 1, 0, 1, test::Act::None);
    const int32_t a = b.add("a", c, c, false);
    Int8Graph g = b.finish(b.avgpool("gap", a, 0, 1));
    Int8Op& add = g.ops[1];
    g.tensors[1].quant.zero_point = 128;      // a: zp 128
    g.tensors[2].quant.zero_point = 10;       // out: zp 10
    add.multiplier = {1610612736, 805306368}; // 0.75 * 2^31, 0.375 * 2^31
    add.shift = {31};
    add.clamp_min = 0;
    add.clamp_max = 255;
    const uint8_t x[4] = {130, 124, 255, 0};
    uint8_t out[4] = {};
    add_u8(add, g.tensors[1], g.tensors[1], g.tensors[2], x, x, out);
    // (x - 128) * (0.75 + 0.375) = 2.25, -4.5, 142.875, -144: round half up, + 10, clamp.
    EXPECT_EQ(std::vector<int>(out, out + 4), (std::vector<int>{12, 6, 153, 0}));
    Int8Op& gap = g.ops[2];
    gap.multiplier = {1073741824}; // 0.25 = 2^30 * 2^-32
    gap.shift = {32};
    g.tensors[3].quant.zero_point = 3;
    const uint8_t y[4] = {10, 11, 12, 13}; // zp 10: sum of (y - 10) = 6, 6 * 0.25 = 1.5 -> 2
    uint8_t pooled = 0;
    avgpool_u8(gap, g.tensors[2], g.tensors[3], y, &pooled);
    EXPECT_EQ(int{pooled}, 3 + 2);
}

} // namespace
} // namespace triseg::engine
