// Golden fixture of the graph networks (tests/data/int8_graph_golden_*.h5): a small residual
// network and a small MobileNetV2-like network in the v2 file format, input codes, and the
// exact codes of every approximation point and the logits of the teacher and of a student with
// tri-segment tables, made once by the scalar reference (engine/int8/int8_reference.h). The
// network must reproduce them bit for bit on every kernel ISA this CPU has and on 1, 2 and 3
// threads. `test_int8_graph_golden --regenerate` rewrites the fixture (tests/data/README.md).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_network.h"
#include "engine/int8/int8_reference.h"
#include "io/content_hash.h"
#include "io/h5_int8_model.h"
#include "io/h5_util.h"
#include "tests/engine/int8/graph_fixture.h"
#include "tests/engine/int8/int8_fixture.h"

namespace triseg::engine {

namespace {

const std::string kDataDir = std::string(TRISEG_SOURCE_DIR) + "/tests/data/";
const std::string kOutputsFile = kDataDir + "int8_graph_golden_outputs.h5";
constexpr const char* kFormat = "triseg-int8-graph-golden-v1";
constexpr int64_t kImages = 3;
constexpr int kThreadCounts[] = {1, 2, 3};

/// The two fixture networks: name (the model file is int8_graph_golden_<name>.h5), maker.
struct Net {
    const char* name;
    models::Int8Graph (*make)();
};
const Net kNets[] = {
    {"resnet", [] { return test::random_resnet_graph(707, 3, 32); }},
    {"mobilenet", [] { return test::random_mobilenet_graph(708, 1, 28); }},
};

std::string model_file(const std::string& name) {
    return kDataDir + "int8_graph_golden_" + name + ".h5";
}

struct Pass {
    std::vector<std::vector<uint8_t>> points; ///< per point: [images][size]
    std::vector<float> logits;
};

Pass reference_pass(const models::Int8Graph& g,
                    const std::vector<uint8_t>& inputs,
                    const std::vector<const uint8_t*>& tables) {
    Pass p;
    const int64_t in = g.tensors[0].size();
    const int64_t classes = g.ops.back().out_channels;
    p.logits.resize(static_cast<size_t>(kImages * classes));
    for (int64_t i = 0; i < kImages; ++i) {
        std::vector<std::vector<uint8_t>> points;
        reference::graph_forward(g, inputs.data() + i * in, p.logits.data() + i * classes, tables,
                                 &points);
        p.points.resize(points.size());
        for (size_t k = 0; k < points.size(); ++k) {
            p.points[k].insert(p.points[k].end(), points[k].begin(), points[k].end());
        }
    }
    return p;
}

struct Golden {
    models::Int8Graph graph;
    std::vector<uint8_t> inputs;
    std::vector<LayerCodes> codes;
    std::vector<CodeTable> tables;
    Pass teacher;
    Pass student;

    std::vector<const uint8_t*> table_ptrs() const {
        std::vector<const uint8_t*> p;
        for (const auto& t : tables) {
            p.push_back(t.data());
        }
        return p;
    }
};

void write_pass(const io::h5::Node& parent,
                const std::string& name,
                const Pass& p,
                const std::vector<std::string>& names) {
    const auto group = io::h5::create_group(parent, name);
    for (size_t k = 0; k < p.points.size(); ++k) {
        io::h5::write_dataset(group, names[k],
                              {kImages, static_cast<hsize_t>(p.points[k].size()) / kImages},
                              p.points[k]);
    }
    io::h5::write_dataset(group, "logits",
                          {kImages, static_cast<hsize_t>(p.logits.size()) / kImages}, p.logits);
}

Pass read_pass(const io::h5::Node& parent, const std::string& name, const Int8Network& net) {
    const auto group = io::h5::open_group(parent, name);
    Pass p;
    for (int64_t k = 0; k < net.num_layers(); ++k) {
        p.points.push_back(io::h5::read_dataset<uint8_t>(
            group, net.layer_names()[static_cast<size_t>(k)],
            {kImages, static_cast<hsize_t>(net.block_output_size(k))}));
    }
    p.logits = io::h5::read_dataset<float>(group, "logits",
                                           {kImages, static_cast<hsize_t>(net.num_classes())});
    return p;
}

void regenerate() {
    io::h5::File file = io::h5::File::create(kOutputsFile, "golden outputs '" + kOutputsFile + "'");
    const auto& root = file.root();
    io::h5::write_string_attribute(root, "format", kFormat);
    io::h5::write_string_attribute(
        root, "generated_by",
        "test_int8_graph_golden --regenerate: the scalar reference (engine/int8/int8_reference.h)");
    uint64_t seed = 71;
    for (const Net& n : kNets) {
        Golden g;
        g.graph = n.make();
        g.graph.provenance = std::string("tests/data graph golden fixture: ") + n.name;
        io::write_int8_graph(g.graph, model_file(n.name));
        Rng rng(seed++);
        g.inputs = test::random_codes(kImages * g.graph.tensors[0].size(), rng);
        const auto points = models::graph_points(g.graph);
        std::vector<std::string> names;
        for (int32_t t : points) {
            names.push_back(g.graph.tensors[static_cast<size_t>(t)].name);
            g.codes.push_back(test::random_valid_codes(rng));
            g.tables.push_back(make_table(g.codes.back(), names.back()));
        }
        const auto group = io::h5::create_group(root, n.name);
        io::h5::write_string_attribute(group, "model_sha256", io::sha256_file(model_file(n.name)));
        io::h5::write_dataset(group, "input_codes",
                              {kImages, static_cast<hsize_t>(g.graph.tensors[0].size())}, g.inputs);
        std::vector<int32_t> codes;
        for (const auto& c : g.codes) {
            codes.insert(codes.end(), {c.t1, c.v1, c.t2, c.v2, c.tmax});
        }
        io::h5::write_dataset(group, "table_codes", {g.codes.size(), 5}, codes);
        write_pass(group, "teacher", reference_pass(g.graph, g.inputs, {}), names);
        write_pass(group, "student", reference_pass(g.graph, g.inputs, g.table_ptrs()), names);
    }
    file.close();
    std::printf("wrote %s and the model files beside it\n", kOutputsFile.c_str());
}

Golden read_golden(const std::string& name) {
    Golden g;
    g.graph = io::read_int8_graph(model_file(name));
    const Int8Network net(g.graph);
    io::h5::File file = io::h5::File::open(kOutputsFile, "golden outputs '" + kOutputsFile + "'");
    const auto& root = file.root();
    TRISEG_CHECK(io::h5::read_string_attribute(root, "format") == kFormat, InputError,
                 kOutputsFile << " is not a " << kFormat << " file");
    const auto group = io::h5::open_group(root, name);
    TRISEG_CHECK(io::h5::read_string_attribute(group, "model_sha256") ==
                     io::sha256_file(model_file(name)),
                 InputError,
                 kOutputsFile << " was made from another " << model_file(name)
                              << "; run test_int8_graph_golden --regenerate");
    g.inputs = io::h5::read_dataset<uint8_t>(group, "input_codes",
                                             {kImages, static_cast<hsize_t>(net.input_size())});
    const auto layers = static_cast<hsize_t>(net.num_layers());
    const auto codes = io::h5::read_dataset<int32_t>(group, "table_codes", {layers, 5});
    for (size_t i = 0; i < layers; ++i) {
        const int32_t* c = codes.data() + 5 * i;
        g.codes.push_back(test::make_codes(c[0], c[1], c[2], c[3], c[4]));
        g.tables.push_back(make_table(g.codes.back(), net.layer_names()[i]));
    }
    g.teacher = read_pass(group, "teacher", net);
    g.student = read_pass(group, "student", net);
    file.close();
    return g;
}

void expect_reproduces(const Golden& g,
                       const Pass& want,
                       const std::vector<const uint8_t*>& tables) {
    Int8Network net(g.graph);
    for (KernelIsa isa :
         {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512Vnni, KernelIsa::Avx512Zmm}) {
        if (!kernel_isa_supported(isa)) {
            continue; // the other ISAs are checked where the CPU has them
        }
        net.use_kernel_isa(isa);
        for (int threads : kThreadCounts) {
            SCOPED_TRACE(std::string(kernel_isa_name(isa)) + ", " + std::to_string(threads) +
                         " thread(s)");
            Pass got;
            got.logits.resize(want.logits.size());
            std::vector<uint8_t*> outs;
            got.points.reserve(want.points.size());
            for (const auto& p : want.points) {
                got.points.emplace_back(p.size(), uint8_t{0xAB});
                outs.push_back(got.points.back().data());
            }
            net.forward_blocks(g.inputs.data(), kImages, got.logits.data(), outs, tables, threads);
            for (size_t k = 0; k < want.points.size(); ++k) {
                EXPECT_EQ(got.points[k], want.points[k]) << net.layer_names()[k];
            }
            EXPECT_TRUE(test::same_bits(got.logits, want.logits)) << "logits";
        }
    }
}

TEST(Int8GraphGolden, EveryKernelReproducesTheResidualAndDepthwiseFixtures) {
    for (const Net& n : kNets) {
        SCOPED_TRACE(n.name);
        const Golden g = read_golden(n.name);
        {
            SCOPED_TRACE("teacher");
            expect_reproduces(g, g.teacher, {});
        }
        {
            SCOPED_TRACE("student with tri-segment tables");
            expect_reproduces(g, g.student, g.table_ptrs());
        }
        // The scalar reference itself, and the fixture's model as built today.
        const Pass again = reference_pass(g.graph, g.inputs, g.table_ptrs());
        EXPECT_EQ(again.points, g.student.points);
        EXPECT_TRUE(test::same_bits(again.logits, g.student.logits));
        EXPECT_NE(g.teacher.points, g.student.points) << "the tables change some codes";
    }
}

} // namespace
} // namespace triseg::engine

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--regenerate") {
            triseg::engine::regenerate();
            return 0;
        }
        std::fprintf(stderr,
                     "test_int8_graph_golden: unknown argument '%s' (known: --regenerate)\n",
                     argv[i]);
        return 2;
    }
    return RUN_ALL_TESTS();
}
