// dump-acts --kind float on graph models end to end (a tiny ResNet-20 and a tiny MobileNetV2,
// random weights, no training): one float32 dataset per approximation point with the integer
// dump's names, shapes and order; values equal to the float model's point outputs computed
// here module by module; a two-rank dump whose shards concatenate to the single-rank one; and
// the commands that read codes refuse the float dump with exit 3.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "cli/config/config.h"
#include "engine/train/int8_export.h"
#include "io/atomic_file.h"
#include "io/dataset_factory.h"
#include "io/h5_activations.h"
#include "io/h5_int8_model.h"
#include "models/checkpoint.h"
#include "models/graph_net.h"
#include "models/nets.h"
#include "tests/cli/cli_runner.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

constexpr int64_t kImages = 120;
// Every dump and the reference below run batches of this size on one thread, so that each
// image's values come from the same LibTorch calls on the same shapes: exact equality holds.
constexpr int64_t kBatch = 20;
constexpr int kExitInput = 3;

/// Fashion-MNIST at 28x28 with `kImages` test images, one thread, the model `arch` at width
/// 0.25.
cli::RunConfig run_config(models::ModelArch arch) {
    cli::RunConfig cfg;
    cfg.model.arch = arch;
    cfg.model.width = 0.25;
    cfg.model.in_channels = 1;
    cfg.model.image_size = 28;
    cfg.data.image_size = 28;
    cfg.data.train_limit = 200;
    cfg.data.test_limit = kImages;
    cfg.runtime.threads = 1;
    return cfg;
}

/// A float GraphNet with random weights and BatchNorm statistics (so that no BatchNorm is the
/// identity), in eval mode.
models::FloatNet random_graph_net(const models::ModelOptions& opts, uint64_t seed) {
    torch::manual_seed(seed);
    models::FloatNet net = models::make_float_net(opts);
    torch::NoGradGuard no_grad;
    for (auto& item : net->named_buffers()) {
        torch::Tensor& b = item.value();
        if (item.key().find("running_mean") != std::string::npos) {
            b.copy_(torch::randn_like(b) * 0.1);
        } else if (item.key().find("running_var") != std::string::npos) {
            b.copy_(torch::rand_like(b) + 0.5);
        }
    }
    for (auto& item : net->named_parameters()) {
        torch::Tensor& p = item.value();
        if (item.key().find("_bn.weight") != std::string::npos) {
            p.copy_(torch::rand_like(p) + 0.5);
        } else if (item.key().find("_bn.bias") != std::string::npos) {
            p.copy_(torch::randn_like(p) * 0.1);
        }
    }
    net->eval();
    return net;
}

/// Every point's output of `net` for the run's test images, computed op by op from the
/// layout with the modules themselves (not forward_points), in batches of kBatch:
/// [point][image * size + i].
std::vector<std::vector<float>> reference_points(models::GraphNetImpl& net,
                                                 const cli::RunConfig& cfg) {
    torch::set_num_threads(1);
    torch::NoGradGuard no_grad;
    const auto seed = static_cast<uint64_t>(cfg.runtime.seed);
    const io::DatasetSplits data = io::load_dataset(cfg.data, seed);
    io::BatchLoader loader(data.test, io::make_loader_options(cfg.data, data, kBatch, false, seed));
    loader.start_epoch(0);
    std::vector<std::vector<float>> out;
    io::Batch b;
    while (loader.next(b)) {
        std::map<std::string, torch::Tensor> t;
        t["input"] = torch::from_blob(b.images.data(), {b.size, b.channels, b.height, b.width});
        size_t k = 0;
        for (const models::LayoutOp& op : net.layout()) {
            const torch::Tensor& in = t.at(op.inputs[0]);
            if (op.kind == models::LayoutOp::Kind::Conv) {
                t[op.name] = net.bn(op.name)->forward(net.conv(op.name)->forward(in));
            } else if (op.kind == models::LayoutOp::Kind::Add) {
                t[op.name] = in + t.at(op.inputs[1]);
            } else {
                break; // the head: no points after it
            }
            if (op.act == models::LayoutAct::Relu) {
                t[op.name] = t[op.name].relu();
            } else if (op.act == models::LayoutAct::Relu6) {
                t[op.name] = t[op.name].clamp(0.0, 6.0);
            } else {
                continue;
            }
            const torch::Tensor c = t[op.name].contiguous();
            out.resize(std::max(out.size(), k + 1));
            out[k].insert(out[k].end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
            ++k;
        }
    }
    return out;
}

/// Every value of every layer of the dump at `path`: [layer][image * size + i].
std::vector<std::vector<float>> read_all(const std::string& path) {
    const io::ActsReader r(path);
    std::vector<std::vector<float>> out;
    for (size_t l = 0; l < r.header().layers.size(); ++l) {
        out.emplace_back(static_cast<size_t>(r.header().images * r.header().layers[l].size()));
        r.read_floats(l, 0, r.header().images, out.back().data());
    }
    return out;
}

/// The first index where `a` and `b` differ, -1 when they are equal (sizes included).
int64_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) {
        return static_cast<int64_t>(std::min(a.size(), b.size()));
    }
    const auto m = std::mismatch(a.begin(), a.end(), b.begin());
    return m.first == a.end() ? -1 : m.first - a.begin();
}

/// Runs the whole check for `arch`, whose layout has `points` points, `first` and `last` among
/// them.
void check_float_dump(models::ModelArch arch,
                      size_t points,
                      const std::string& first,
                      const std::string& last) {
    TempDir dir;
    const std::string run = dir.file("run");
    const cli::RunConfig cfg = run_config(arch);
    io::ensure_directory(run + "/float");
    io::ensure_directory(run + "/int8");
    io::write_file_atomic(run + "/config.yaml", cli::to_yaml(cfg));
    models::FloatNet net = random_graph_net(cfg.model, 11);
    models::save_float_net(*net, run + "/float/model.pt");
    auto& graph = dynamic_cast<models::GraphNetImpl&>(*net);

    // The integer model of the same network (observers fed one random batch), for its names.
    models::QatNet qat_net = models::fold_to_qat(*net);
    qat_net->train();
    qat_net->set_observing(true);
    (void)qat_net->forward(torch::randn({4, 1, 28, 28}));
    qat_net->eval();
    auto& qat = dynamic_cast<models::QatGraphImpl&>(*qat_net);
    io::write_int8_graph(engine::export_int8_graph(qat, {0.5}, {0.25}, "test"),
                         run + "/int8/model.h5");

    const std::string rd = " --batch " + std::to_string(kBatch) + " --run-dir '" + run + "'";
    Result r = triseg("dump-acts --kind float" + rd);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, std::to_string(points) + " layers")) << r.output;
    r = triseg("dump-acts --kind int8" + rd);
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string acts = run + "/acts/acts_float.h5";
    const io::ActsReader fd(acts);
    const io::ActsReader id(run + "/acts/acts_int8.h5");
    const auto& fh = fd.header();
    EXPECT_EQ(fh.kind, io::ActsKind::Float);
    EXPECT_EQ(fh.images, kImages);
    EXPECT_TRUE(fh.live.empty());
    ASSERT_EQ(fh.layers.size(), points);
    ASSERT_EQ(id.header().layers.size(), points);
    EXPECT_EQ(fh.layers.front().name, first);
    EXPECT_EQ(fh.layers.back().name, last);
    const auto names = qat.point_names();
    for (size_t i = 0; i < points; ++i) {
        const auto& f = fh.layers[i];
        const auto& q = id.header().layers[i];
        EXPECT_EQ(f.name, q.name) << i;
        EXPECT_EQ(f.name, names[i]) << i;
        EXPECT_EQ(f.channels, q.channels) << f.name;
        EXPECT_EQ(f.side, q.side) << f.name;
        EXPECT_FALSE(f.pool_after) << f.name;
        EXPECT_EQ(f.scale, 0.0f) << f.name;
        EXPECT_EQ(f.zero_point, 0) << f.name;
    }

    // The values are the float model's, op by op.
    const auto want = reference_points(graph, cfg);
    const auto got = read_all(acts);
    ASSERT_EQ(want.size(), points);
    for (size_t i = 0; i < points; ++i) {
        EXPECT_EQ(first_difference(got[i], want[i]), -1) << fh.layers[i].name;
        EXPECT_GT(*std::max_element(got[i].begin(), got[i].end()), 0.0f) << fh.layers[i].name;
    }

    // Two ranks: each shard holds its contiguous share; together they are the single dump.
    const std::string index = dir.file("mpi/acts.h5");
    r = shell("mpirun -np 2 --oversubscribe " + binary() + " dump-acts --kind float -o '" + index +
              "'" + rd);
    ASSERT_EQ(r.code, 0) << r.output;
    std::vector<std::vector<float>> joined(points);
    for (int rank = 0; rank < 2; ++rank) {
        const std::string shard = dir.file("mpi/" + io::shard_file_name(index, rank, 2));
        const auto part = read_all(shard);
        ASSERT_EQ(part.size(), points) << shard;
        for (size_t i = 0; i < points; ++i) {
            joined[i].insert(joined[i].end(), part[i].begin(), part[i].end());
        }
    }
    const auto through_index = read_all(index);
    for (size_t i = 0; i < points; ++i) {
        EXPECT_EQ(first_difference(joined[i], got[i]), -1) << fh.layers[i].name;
        EXPECT_EQ(first_difference(through_index[i], got[i]), -1) << fh.layers[i].name;
    }

    // The commands that read codes refuse a float dump, naming the problem.
    r = triseg("collect-percentiles --acts '" + acts + "' -o '" + dir.file("p.h5") + "'");
    EXPECT_EQ(r.code, kExitInput) << r.output;
    EXPECT_TRUE(contains(r.output, "float activations")) << r.output;
    r = triseg("analyze-variance --acts '" + acts + "' --out-dir '" + dir.file("var") + "'" + rd);
    EXPECT_EQ(r.code, kExitInput) << r.output;
    EXPECT_TRUE(contains(r.output, "float activations")) << r.output;
    r = triseg("replay --acts '" + acts + "' -o '" + dir.file("rp.json") + "'");
    EXPECT_EQ(r.code, kExitInput) << r.output;
    EXPECT_TRUE(contains(r.output, "float activations")) << r.output;
}

TEST(CliGraphFloatDump, ResNetDumpHoldsEveryPointAsTheFloatModel) {
    // ResNet-20: the stem, then per BasicBlock conv1 and the add "out" (conv2 and the
    // projections are linear).
    check_float_dump(models::ModelArch::ResNet20, 19, "conv1", "layer3.2.out");
}

TEST(CliGraphFloatDump, MobileNetDumpHoldsEveryPointAsTheFloatModel) {
    // MobileNetV2: the stem, features.1's depthwise, expand and depthwise of the 16 others,
    // and the head; bottlenecks and their adds are linear.
    check_float_dump(models::ModelArch::MobileNetV2, 35, "features.0", "features.18");
}

} // namespace
} // namespace triseg::test
