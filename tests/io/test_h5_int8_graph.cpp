// Tests of the v2 integer model file with graphs that are not VGG chains: round trips of a
// residual and a depthwise network, hostile files (a cycle, an undefined tensor, a wrong group
// count), and the v1 file still read as its graph.
#include <H5Cpp.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/int8/int8_network.h"
#include "io/h5_int8_model.h"
#include "io/h5_util.h"
#include "models/spec/int8_graph.h"
#include "tests/engine/int8/graph_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::io {
namespace {

using models::Int8Graph;
using test::expect_error;
using test::TempDir;

void expect_same_graph(const Int8Graph& a, const Int8Graph& b) {
    EXPECT_TRUE(a.model == b.model);
    EXPECT_EQ(a.provenance, b.provenance);
    EXPECT_EQ(a.input_mean, b.input_mean);
    EXPECT_EQ(a.input_std, b.input_std);
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    for (size_t t = 0; t < a.tensors.size(); ++t) {
        SCOPED_TRACE(a.tensors[t].name);
        EXPECT_EQ(a.tensors[t].name, b.tensors[t].name);
        EXPECT_EQ(a.tensors[t].channels, b.tensors[t].channels);
        EXPECT_EQ(a.tensors[t].height, b.tensors[t].height);
        EXPECT_EQ(a.tensors[t].width, b.tensors[t].width);
        EXPECT_TRUE(a.tensors[t].quant == b.tensors[t].quant);
        EXPECT_EQ(a.tensors[t].point, b.tensors[t].point);
    }
    ASSERT_EQ(a.ops.size(), b.ops.size());
    for (size_t i = 0; i < a.ops.size(); ++i) {
        const models::Int8Op& x = a.ops[i];
        const models::Int8Op& y = b.ops[i];
        SCOPED_TRACE(x.name);
        EXPECT_EQ(x.kind, y.kind);
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.inputs, y.inputs);
        EXPECT_EQ(x.output, y.output);
        EXPECT_EQ(x.kernel, y.kernel);
        EXPECT_EQ(x.stride, y.stride);
        EXPECT_EQ(x.padding, y.padding);
        EXPECT_EQ(x.groups, y.groups);
        EXPECT_EQ(x.in_channels, y.in_channels);
        EXPECT_EQ(x.out_channels, y.out_channels);
        EXPECT_EQ(x.weight, y.weight);
        EXPECT_EQ(x.weight_scale, y.weight_scale);
        EXPECT_EQ(x.bias, y.bias);
        EXPECT_EQ(x.multiplier, y.multiplier);
        EXPECT_EQ(x.shift, y.shift);
        EXPECT_EQ(x.clamp_min, y.clamp_min);
        EXPECT_EQ(x.clamp_max, y.clamp_max);
    }
}

TEST(H5Int8Graph, ResidualAndDepthwiseGraphsRoundTrip) {
    TempDir dir;
    for (const Int8Graph& g :
         {test::random_resnet_graph(4, 3, 32), test::random_mobilenet_graph(5, 1, 32)}) {
        write_int8_graph(g, dir.file("g.h5"));
        expect_same_graph(read_int8_graph(dir.file("g.h5")), g);
        // Not a chain: the VGG reader says so and names the file.
        expect_error<InputError>([&] { (void)read_int8_model(dir.file("g.h5")); },
                                 {dir.file("g.h5"), "not a VGG chain"});
    }
}

/// Writes the residual graph, lets `edit` tamper with it, and expects read_int8_graph and
/// load_int8_network to throw InputError holding every needle (and the file's name).
void expect_tampered(const std::function<void(H5::H5File&)>& edit,
                     const std::vector<std::string>& needles) {
    TempDir dir;
    const std::string path = dir.file("g.h5");
    write_int8_graph(test::random_resnet_graph(4, 3, 32), path);
    H5::Exception::dontPrint();
    {
        H5::H5File file(path, H5F_ACC_RDWR);
        edit(file);
    }
    h5::reseal_metadata(path);
    std::vector<std::string> all = needles;
    all.push_back(path);
    expect_error<InputError>([&] { (void)read_int8_graph(path); }, all);
    expect_error<InputError>([&] { (void)engine::load_int8_network(path); }, all);
}

void set_int_attr(const H5::H5Object& obj, const std::string& name, const std::vector<int32_t>& v) {
    obj.removeAttr(name);
    const hsize_t n = v.size();
    obj.createAttribute(name, H5::PredType::STD_I32LE, H5::DataSpace(1, &n))
        .write(H5::PredType::NATIVE_INT32, v.data());
}

TEST(H5Int8Graph, HostileGraphFilesNameTheFault) {
    // A cycle: conv1 reads layer1.0.out, which a later op defines.
    expect_tampered([](H5::H5File& f) { set_int_attr(f.openGroup("/ops/conv1"), "inputs", {4}); },
                    {"op 0 'conv1'", "before any op defines it"});
    // An undefined tensor.
    expect_tampered(
        [](H5::H5File& f) {
            set_int_attr(f.openGroup("/ops/layer1.0.out"), "inputs", {3, 99});
        },
        {"reads tensor 99, which does not exist"});
    // A depthwise conv with the wrong group count.
    expect_tampered(
        [](H5::H5File& f) {
            const H5::Group g = f.openGroup("/ops/layer1.0.conv1");
            g.removeAttr("groups");
            const int64_t three = 3;
            g.createAttribute("groups", H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR))
                .write(H5::PredType::NATIVE_INT64, &three);
        },
        {"'/ops/layer1.0.conv1'", "do not describe a weight tensor"});
    expect_tampered(
        [](H5::H5File& f) {
            const H5::Group g = f.openGroup("/ops/conv1");
            g.removeAttr("kind");
            const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
            g.createAttribute("kind", type, H5::DataSpace(H5S_SCALAR))
                .write(type, std::string("swish"));
        },
        {"'/ops/conv1'", "unknown op kind 'swish'"});
}

TEST(H5Int8Graph, VersionOneFilesStillReadAsTheirChain) {
    const std::string path = std::string(TRISEG_SOURCE_DIR) + "/tests/data/int8_golden_model.h5";
    H5::H5File file(path, H5F_ACC_RDONLY);
    std::string format;
    const H5::Attribute attr = file.openGroup("/").openAttribute("format");
    attr.read(attr.getStrType(), format);
    ASSERT_EQ(format, kInt8ModelFormatV1) << "the golden fixture is the v1 file";
    const Int8Graph g = read_int8_graph(path);
    EXPECT_TRUE(models::is_chain(g));
    const models::Int8Model m = read_int8_model(path);
    EXPECT_EQ(models::graph_points(g).size(), m.convs.size());
}

} // namespace
} // namespace triseg::io
