// Golden fixture (tests/data/int8_golden_*.h5): a small INT8 model, input codes, and the exact
// block codes and logits of the teacher and of a student with tri-segment tables, made once by
// the scalar reference (engine/int8/int8_reference.h). Every kernel path must reproduce them bit
// for bit on 1, 2 and 3 threads. `test_int8_golden --regenerate` rewrites the fixture
// (docs/development.md, tests/data/README.md).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_network.h"
#include "io/content_hash.h"
#include "io/h5_int8_model.h"
#include "io/h5_util.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {

namespace {

const std::string kDataDir = std::string(TRISEG_SOURCE_DIR) + "/tests/data/";
const std::string kModelFile = kDataDir + "int8_golden_model.h5";
const std::string kOutputsFile = kDataDir + "int8_golden_outputs.h5";
constexpr const char* kFormat = "triseg-int8-golden-v1";
/// VGG-11 at width 0.09: 6, 12, 23 and 46 channels (odd counts, partial channel pairs and
/// quads, partial 8-lane blocks), 32x32 single-channel images, 10 classes.
constexpr double kWidth = 0.09;
constexpr uint64_t kModelSeed = 909;
constexpr uint64_t kInputSeed = 910;
/// Images in the fixture; 2 threads split them unevenly, 3 threads give one each.
constexpr int64_t kImages = 3;
constexpr int kThreadCounts[] = {1, 2, 3};

/// One forward pass: every block's output codes before its table ([n][block size]), logits.
struct Pass {
    std::vector<std::vector<uint8_t>> blocks;
    std::vector<float> logits;
};

/// The fixture as stored.
struct Golden {
    models::Int8Model model;
    std::vector<uint8_t> inputs; ///< [n][C * H * W] input codes
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

std::string block_name(const models::Int8Model& m, size_t i) {
    return m.convs[i].name;
}

int64_t input_size(const models::Int8Model& m) {
    return m.model.in_channels * m.model.image_size * m.model.image_size;
}

/// The scalar reference pass (int8_fixture.h, built from engine/int8/int8_reference.h).
Pass reference_pass(const models::Int8Model& m,
                    const std::vector<uint8_t>& inputs,
                    const std::vector<const uint8_t*>& tables) {
    Pass p;
    p.logits = test::reference_forward(m, inputs.data(), kImages, tables, nullptr, &p.blocks);
    return p;
}

/// The codes a table must see to have all its edges exercised: t1, t2 and tmax (the last code
/// of each segment) and the first code of the next segment.
std::vector<int32_t> edge_codes(const LayerCodes& c) {
    return {c.t1, c.t1 + 1, c.t2, c.t2 + 1, c.tmax, c.tmax + 1};
}

/// The first valid codes (tmax from `tmax_from` up, then t1 from `t1_from` up, then t2) whose
/// edge codes all occur in `present`; v1 and v2 in the middle of their segments.
LayerCodes codes_hitting_edges(const std::set<int32_t>& present,
                               int32_t tmax_from,
                               int32_t t1_from,
                               const std::string& layer) {
    for (int32_t tmax = tmax_from; tmax <= 254; ++tmax) {
        for (int32_t t1 = t1_from; t1 <= std::min(10, tmax - 8); ++t1) {
            for (int32_t t2 = t1 + 4; t2 <= tmax - 4; ++t2) {
                const LayerCodes c =
                    test::make_codes(t1, (t1 + t2 + 1) / 2, t2, (t2 + tmax + 1) / 2, tmax);
                bool all = codes_valid(c);
                for (int32_t e : edge_codes(c)) {
                    all = all && present.count(e) > 0;
                }
                if (all) {
                    return c;
                }
            }
        }
    }
    TRISEG_THROW(InputError,
                 "no tri-segment codes have all their edges among the outputs of " << layer);
}

/// Makes the fixture: the model, input codes with edge values, tables chosen block by block so
/// that every table edge occurs among its block's codes, and both reference passes.
Golden make_golden() {
    Golden g;
    g.model = test::random_int8_model(kWidth, kModelSeed);
    g.model.provenance = "tests/data golden fixture: random_int8_model(" + std::to_string(kWidth) +
                         ", " + std::to_string(kModelSeed) + ")";
    Rng rng(kInputSeed);
    const int64_t in = input_size(g.model);
    const int64_t side = g.model.model.image_size;
    g.inputs = test::random_codes(kImages * in, rng);
    for (int64_t x = 0; x < side; ++x) { // image 0: a row of 0, of 255, of the zero point
        g.inputs[static_cast<size_t>(x)] = 0;
        g.inputs[static_cast<size_t>(side + x)] = 255;
        g.inputs[static_cast<size_t>(2 * side + x)] =
            static_cast<uint8_t>(g.model.input.zero_point);
    }
    std::vector<const uint8_t*> tables(g.model.convs.size(), nullptr);
    g.tables.reserve(g.model.convs.size()); // `tables` points into it
    for (size_t i = 0; i < g.model.convs.size(); ++i) {
        const Pass p = reference_pass(g.model, g.inputs, tables);
        const std::set<int32_t> present(p.blocks[i].begin(), p.blocks[i].end());
        // Different tables per block: tmax from 20, 26, ..., t1 from 2, 3, 4, 5, 6, 2, ...
        const auto k = static_cast<int32_t>(i);
        g.codes.push_back(
            codes_hitting_edges(present, 20 + 6 * k, 2 + k % 5, block_name(g.model, i)));
        g.tables.push_back(make_table(g.codes.back(), block_name(g.model, i)));
        tables[i] = g.tables.back().data();
    }
    g.teacher = reference_pass(g.model, g.inputs, {});
    g.student = reference_pass(g.model, g.inputs, g.table_ptrs());
    return g;
}

void write_pass(const io::h5::Node& root, const std::string& name, const Golden& g, const Pass& p) {
    const auto group = io::h5::create_group(root, name);
    for (size_t i = 0; i < p.blocks.size(); ++i) {
        const auto size = static_cast<hsize_t>(p.blocks[i].size()) / kImages;
        io::h5::write_dataset(group, block_name(g.model, i), {kImages, size}, p.blocks[i]);
    }
    io::h5::write_dataset(group, "logits",
                          {kImages, static_cast<hsize_t>(g.model.classifier.out_features)},
                          p.logits);
}

Pass read_pass(const io::h5::Node& root, const std::string& name, const Int8Network& net) {
    const auto group = io::h5::open_group(root, name);
    Pass p;
    for (int64_t i = 0; i < net.num_layers(); ++i) {
        p.blocks.push_back(io::h5::read_dataset<uint8_t>(
            group, net.model().convs[static_cast<size_t>(i)].name,
            {kImages, static_cast<hsize_t>(net.block_output_size(i))}));
    }
    p.logits = io::h5::read_dataset<float>(group, "logits",
                                           {kImages, static_cast<hsize_t>(net.num_classes())});
    return p;
}

/// Writes both fixture files from the scalar reference.
void regenerate() {
    const Golden g = make_golden();
    io::write_int8_model(g.model, kModelFile);
    io::h5::File file = io::h5::File::create(kOutputsFile, "golden outputs '" + kOutputsFile + "'");
    {
        const auto& root = file.root();
        io::h5::write_string_attribute(root, "format", kFormat);
        io::h5::write_string_attribute(root, "model_file", "int8_golden_model.h5");
        io::h5::write_string_attribute(root, "model_sha256", io::sha256_file(kModelFile));
        io::h5::write_string_attribute(
            root, "generated_by",
            "test_int8_golden --regenerate: the scalar reference (engine/int8/int8_reference.h)");
        io::h5::write_dataset(root, "input_codes",
                              {kImages, static_cast<hsize_t>(input_size(g.model))}, g.inputs);
        std::vector<int32_t> codes;
        for (const auto& c : g.codes) {
            codes.insert(codes.end(), {c.t1, c.v1, c.t2, c.v2, c.tmax});
        }
        io::h5::write_dataset(root, "table_codes", {g.codes.size(), 5}, codes);
        write_pass(root, "teacher", g, g.teacher);
        write_pass(root, "student", g, g.student);
    }
    file.close();
    std::printf("wrote %s and %s\n", kModelFile.c_str(), kOutputsFile.c_str());
}

/// Reads both fixture files. @throws InputError when they do not belong together.
Golden read_golden() {
    Golden g;
    g.model = io::read_int8_model(kModelFile);
    const Int8Network net(g.model);
    io::h5::File file = io::h5::File::open(kOutputsFile, "golden outputs '" + kOutputsFile + "'");
    {
        const auto& root = file.root();
        TRISEG_CHECK(io::h5::read_string_attribute(root, "format") == kFormat, InputError,
                     kOutputsFile << " is not a " << kFormat << " file");
        TRISEG_CHECK(io::h5::read_string_attribute(root, "model_sha256") ==
                         io::sha256_file(kModelFile),
                     InputError,
                     kOutputsFile << " was made from another " << kModelFile
                                  << "; run test_int8_golden --regenerate");
        g.inputs = io::h5::read_dataset<uint8_t>(root, "input_codes",
                                                 {kImages, static_cast<hsize_t>(net.input_size())});
        const auto layers = static_cast<hsize_t>(net.num_layers());
        const auto codes = io::h5::read_dataset<int32_t>(root, "table_codes", {layers, 5});
        for (size_t i = 0; i < layers; ++i) {
            const int32_t* c = codes.data() + 5 * i;
            g.codes.push_back(test::make_codes(c[0], c[1], c[2], c[3], c[4]));
            g.tables.push_back(make_table(g.codes.back(), block_name(g.model, i)));
        }
        g.teacher = read_pass(root, "teacher", net);
        g.student = read_pass(root, "student", net);
    }
    file.close();
    return g;
}

class Int8Golden : public ::testing::Test {
protected:
    /// The fixture, read once (a read error fails each test with its message).
    static const Golden& golden() {
        static const Golden g = read_golden();
        return g;
    }
};

/// Equal block codes (naming the first differing block and position) and logit bits.
void expect_pass(const Pass& got, const Pass& want, const models::Int8Model& m) {
    ASSERT_EQ(got.blocks.size(), want.blocks.size());
    for (size_t i = 0; i < want.blocks.size(); ++i) {
        if (got.blocks[i] != want.blocks[i]) {
            size_t k = 0;
            while (k < want.blocks[i].size() && got.blocks[i][k] == want.blocks[i][k]) {
                ++k;
            }
            ADD_FAILURE() << "block " << m.convs[i].name << " differs first at code " << k << " of "
                          << want.blocks[i].size() << ": got " << int(got.blocks[i][k])
                          << ", the fixture has " << int(want.blocks[i][k]);
        }
    }
    EXPECT_TRUE(test::same_bits(got.logits, want.logits)) << "logits differ";
}

/// Runs forward_blocks, forward (with histograms) and forward_from on the network's current
/// kernel with `threads` threads; all must equal the fixture pass `want`.
void expect_network_reproduces(const Int8Network& net,
                               const Golden& g,
                               const std::vector<const uint8_t*>& tables,
                               const Pass& want,
                               int threads) {
    const auto layers = static_cast<size_t>(net.num_layers());
    Pass got;
    got.logits.resize(want.logits.size());
    std::vector<uint8_t*> outs;
    for (size_t i = 0; i < layers; ++i) {
        got.blocks.emplace_back(want.blocks[i].size(), uint8_t{0xAB});
        outs.push_back(got.blocks.back().data());
    }
    net.forward_blocks(g.inputs.data(), kImages, got.logits.data(), outs, tables, threads);
    expect_pass(got, want, g.model);

    std::vector<float> logits(want.logits.size());
    std::vector<CodeHistogram> hist;
    net.forward(g.inputs.data(), kImages, logits.data(), tables, &hist, threads);
    EXPECT_TRUE(test::same_bits(logits, want.logits)) << "forward() logits";
    for (size_t i = 0; i < layers; ++i) {
        CodeHistogram h{};
        for (uint8_t c : want.blocks[i]) {
            ++h[c];
        }
        EXPECT_EQ(hist[i], h) << "forward() histogram of " << g.model.convs[i].name;
    }

    for (int64_t first : {int64_t{0}, net.num_layers() / 2}) {
        std::fill(logits.begin(), logits.end(), 0.0f);
        net.forward_from(first, want.blocks[static_cast<size_t>(first)].data(), kImages,
                         logits.data(), tables, nullptr, threads);
        EXPECT_TRUE(test::same_bits(logits, want.logits)) << "forward_from(" << first << ")";
    }
}

void expect_kernel_reproduces(KernelIsa isa, const Golden& g) {
    Int8Network net(g.model);
    net.use_kernel_isa(isa);
    ASSERT_EQ(net.kernel_isa(), isa);
    for (int threads : kThreadCounts) {
        SCOPED_TRACE(std::string(kernel_isa_name(isa)) + " kernel, " + std::to_string(threads) +
                     " thread(s)");
        {
            SCOPED_TRACE("teacher");
            expect_network_reproduces(net, g, {}, g.teacher, threads);
        }
        {
            SCOPED_TRACE("student with tri-segment tables");
            expect_network_reproduces(net, g, g.table_ptrs(), g.student, threads);
        }
    }
}

TEST_F(Int8Golden, FixtureExercisesEdgeCodesAndEveryTableEdge) {
    const Golden& g = golden();
    const std::set<int32_t> inputs(g.inputs.begin(), g.inputs.end());
    EXPECT_TRUE(inputs.count(0) && inputs.count(255) && inputs.count(g.model.input.zero_point));
    for (size_t i = 0; i < g.model.convs.size(); ++i) {
        SCOPED_TRACE(g.model.convs[i].name);
        const std::set<int32_t> teacher(g.teacher.blocks[i].begin(), g.teacher.blocks[i].end());
        const std::set<int32_t> student(g.student.blocks[i].begin(), g.student.blocks[i].end());
        EXPECT_TRUE(teacher.count(0)) << "ReLU zeros";
        for (int32_t e : edge_codes(g.codes[i])) {
            EXPECT_TRUE(student.count(e)) << "edge code " << e << " never reaches the table";
        }
    }
    std::set<int32_t> all;
    for (const auto& b : g.teacher.blocks) {
        all.insert(b.begin(), b.end());
    }
    EXPECT_TRUE(all.count(255)) << "no block saturates";
    EXPECT_FALSE(test::same_bits(g.teacher.logits, g.student.logits))
        << "the tables change nothing";
}

TEST_F(Int8Golden, ScalarReferenceReproducesTheFixture) {
    const Golden& g = golden();
    expect_pass(reference_pass(g.model, g.inputs, {}), g.teacher, g.model);
    expect_pass(reference_pass(g.model, g.inputs, g.table_ptrs()), g.student, g.model);
}

TEST_F(Int8Golden, PortableKernelReproducesTheFixture) {
    expect_kernel_reproduces(KernelIsa::Portable, golden());
}

TEST_F(Int8Golden, Avx2KernelReproducesTheFixture) {
    if (!kernel_isa_supported(KernelIsa::Avx2)) {
        GTEST_SKIP() << "this CPU has no AVX2 (or TRISEG_KERNEL_ISA excludes it): the AVX2 kernel "
                        "was not checked against the "
                        "fixture (the portable one was)";
    }
    expect_kernel_reproduces(KernelIsa::Avx2, golden());
}

TEST_F(Int8Golden, Avx512VnniKernelReproducesTheFixture) {
    if (!kernel_isa_supported(KernelIsa::Avx512Vnni)) {
        GTEST_SKIP() << "this CPU has no AVX-512 VNNI (it needs the avx512vnni and avx512vl "
                        "flags), or TRISEG_KERNEL_ISA excludes it: the VNNI kernel was not checked "
                        "against the fixture; the "
                        "portable and AVX2 kernels were";
    }
    expect_kernel_reproduces(KernelIsa::Avx512Vnni, golden());
}

TEST_F(Int8Golden, Avx512ZmmKernelReproducesTheFixture) {
    if (!kernel_isa_supported(KernelIsa::Avx512Zmm)) {
        GTEST_SKIP() << "this CPU has no 512-bit AVX-512 VNNI (it needs avx512f, avx512bw, "
                        "avx512vl and avx512vnni), or TRISEG_KERNEL_ISA excludes it: the zmm "
                        "kernel was not checked against the fixture; the others were";
    }
    expect_kernel_reproduces(KernelIsa::Avx512Zmm, golden());
}

TEST_F(Int8Golden, DefaultKernelReproducesTheFixture) {
    const Golden& g = golden();
    const Int8Network net(g.model);
    EXPECT_EQ(net.kernel_isa(), best_kernel_isa());
    expect_network_reproduces(net, g, g.table_ptrs(), g.student, 0);
}

TEST_F(Int8Golden, AKernelThisCpuLacksIsRefusedByName) {
    Int8Network net(golden().model);
    for (KernelIsa isa : {KernelIsa::Avx2, KernelIsa::Avx512Vnni, KernelIsa::Avx512Zmm}) {
        if (kernel_isa_supported(isa)) {
            continue;
        }
        test::expect_error<InputError>([&] { net.use_kernel_isa(isa); }, {kernel_isa_name(isa)});
    }
    net.use_kernel_isa(KernelIsa::Portable);
    EXPECT_EQ(net.kernel_isa(), KernelIsa::Portable);
}

} // namespace

} // namespace triseg::engine

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--regenerate") {
            triseg::engine::regenerate();
        } else {
            std::fprintf(stderr, "test_int8_golden: unknown argument '%s' (known: --regenerate)\n",
                         argv[i]);
            return 2;
        }
    }
    return RUN_ALL_TESTS();
}
