// Tests of io/h5_int8_model: round trips, the on-disk schema, validation errors, atomicity.
#include "io/h5_int8_model.h"
#include "io/h5_util.h"

#include <H5Cpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "engine/core/requant.h"
#include "io/content_hash.h"
#include "tests/io/damage.h"
#include "tests/io/temp_dir.h"
#include "tests/require_all.h"

namespace triseg::io {
namespace {

using models::Int8ConvLayer;
using models::Int8LinearLayer;
using models::Int8Model;
using models::ModelArch;
using models::ModelOptions;
using models::QuantParams;
using test::expect_error;
using test::TempDir;

/// One conv block of a hand-written layout: name, out_channels, pool_after.
struct Block {
    std::string name;
    int64_t out_channels;
    bool pool_after;
};

/// vgg11 at width 0.03: stage widths round(64|128|256|512|512 * 0.03) = 2, 4, 8, 15, 15.
const std::vector<Block> kVgg11Width003 = {
    {"conv1_1", 2, true},   {"conv2_1", 4, true},  {"conv3_1", 8, false},  {"conv3_2", 8, true},
    {"conv4_1", 15, false}, {"conv4_2", 15, true}, {"conv5_1", 15, false}, {"conv5_2", 15, true}};

/// vgg16 at width 0.02: stage widths 1, 3, 5, 10, 10.
const std::vector<Block> kVgg16Width002 = {
    {"conv1_1", 1, false},  {"conv1_2", 1, true},  {"conv2_1", 3, false},  {"conv2_2", 3, true},
    {"conv3_1", 5, false},  {"conv3_2", 5, false}, {"conv3_3", 5, true},   {"conv4_1", 10, false},
    {"conv4_2", 10, false}, {"conv4_3", 10, true}, {"conv5_1", 10, false}, {"conv5_2", 10, false},
    {"conv5_3", 10, true}};

/// A random but valid Int8Model over `blocks`, with edge values (weights +-127, extreme
/// multipliers and shifts, int32 limits in biases) in the first channels.
Int8Model make_model(const ModelOptions& opts, const std::vector<Block>& blocks, unsigned seed) {
    std::mt19937 rng(seed);
    auto uniform_int = [&](int64_t lo, int64_t hi) {
        return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    auto quant = [&] {
        QuantParams q;
        q.scale = std::uniform_real_distribution<float>(1e-3f, 0.2f)(rng);
        q.zero_point = static_cast<int32_t>(uniform_int(0, 255));
        return q;
    };
    auto fill_weights = [&](std::vector<int8_t>& w, std::vector<float>& scale, size_t n,
                            size_t out) {
        for (size_t i = 0; i < n; ++i) {
            w.push_back(static_cast<int8_t>(uniform_int(-127, 127)));
        }
        w.front() = -127;
        w.back() = 127;
        for (size_t i = 0; i < out; ++i) {
            scale.push_back(std::uniform_real_distribution<float>(1e-4f, 0.05f)(rng));
        }
        scale.front() = 1e-10f; // the smallest scale a model may hold
    };

    Int8Model m;
    m.model = opts;
    m.input = quant();
    for (int64_t c = 0; c < opts.in_channels; ++c) {
        m.input_mean.push_back(std::uniform_real_distribution<float>(0.0f, 1.0f)(rng));
        m.input_std.push_back(std::uniform_real_distribution<float>(0.05f, 0.5f)(rng));
    }
    m.provenance = "synthetic test model, seed " + std::to_string(seed) + "\nutf-8: µ→σ";
    int64_t channels = opts.in_channels;
    QuantParams prev = m.input;
    for (const Block& b : blocks) {
        Int8ConvLayer l;
        l.name = b.name;
        l.in_channels = channels;
        l.out_channels = b.out_channels;
        l.pool_after = b.pool_after;
        const auto out = static_cast<size_t>(b.out_channels);
        fill_weights(l.weight, l.weight_scale, out * static_cast<size_t>(channels) * 9, out);
        l.input = prev;
        l.output = quant();
        for (size_t oc = 0; oc < out; ++oc) {
            l.bias.push_back(static_cast<int32_t>(uniform_int(-100000, 100000)));
            const double real = static_cast<double>(l.input.scale) * l.weight_scale[oc] /
                                static_cast<double>(l.output.scale);
            const auto fixed = engine::quantize_multiplier(std::max(real, std::ldexp(1.0, -31)));
            l.multiplier.push_back(fixed.multiplier);
            l.shift.push_back(fixed.shift);
        }
        l.bias.front() = std::numeric_limits<int32_t>::min();
        l.bias.back() = std::numeric_limits<int32_t>::max();
        l.multiplier.front() = int32_t{1} << 30;
        l.shift.front() = 62;
        l.multiplier.back() = std::numeric_limits<int32_t>::max();
        l.shift.back() = 1;
        m.convs.push_back(l);
        channels = b.out_channels;
        prev = l.output;
    }
    const int64_t side = opts.image_size / 32;
    Int8LinearLayer& c = m.classifier;
    c.in_features = channels * side * side;
    c.out_features = opts.num_classes;
    c.input = prev;
    fill_weights(c.weight, c.weight_scale, static_cast<size_t>(c.in_features * c.out_features),
                 static_cast<size_t>(c.out_features));
    for (int64_t o = 0; o < c.out_features; ++o) {
        c.bias.push_back(static_cast<int32_t>(uniform_int(-1000000, 1000000)));
    }
    return m;
}

ModelOptions vgg11_options() {
    ModelOptions o;
    o.arch = ModelArch::Vgg11;
    o.width = 0.03;
    o.in_channels = 3;
    o.num_classes = 10;
    o.image_size = 32;
    return o;
}

Int8Model small_vgg11(unsigned seed = 1) {
    return make_model(vgg11_options(), kVgg11Width003, seed);
}

Int8Model small_vgg16() {
    ModelOptions o;
    o.arch = ModelArch::Vgg16;
    o.width = 0.02;
    o.in_channels = 1;
    o.num_classes = 7;
    o.image_size = 64;
    return make_model(o, kVgg16Width002, 2);
}

void expect_same(const QuantParams& a, const QuantParams& b, const std::string& what) {
    EXPECT_EQ(a.scale, b.scale) << what;
    EXPECT_EQ(a.zero_point, b.zero_point) << what;
}

void expect_same(const Int8Model& a, const Int8Model& b) {
    EXPECT_TRUE(a.model == b.model);
    EXPECT_EQ(a.provenance, b.provenance);
    expect_same(a.input, b.input, "input");
    EXPECT_EQ(a.input_mean, b.input_mean);
    EXPECT_EQ(a.input_std, b.input_std);
    ASSERT_EQ(a.convs.size(), b.convs.size());
    for (size_t i = 0; i < a.convs.size(); ++i) {
        const Int8ConvLayer& x = a.convs[i];
        const Int8ConvLayer& y = b.convs[i];
        SCOPED_TRACE(x.name);
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.in_channels, y.in_channels);
        EXPECT_EQ(x.out_channels, y.out_channels);
        EXPECT_EQ(x.pool_after, y.pool_after);
        EXPECT_EQ(x.weight, y.weight);
        EXPECT_EQ(x.weight_scale, y.weight_scale);
        EXPECT_EQ(x.bias, y.bias);
        EXPECT_EQ(x.multiplier, y.multiplier);
        EXPECT_EQ(x.shift, y.shift);
        expect_same(x.input, y.input, "input");
        expect_same(x.output, y.output, "output");
    }
    const Int8LinearLayer& x = a.classifier;
    const Int8LinearLayer& y = b.classifier;
    EXPECT_EQ(x.in_features, y.in_features);
    EXPECT_EQ(x.out_features, y.out_features);
    EXPECT_EQ(x.weight, y.weight);
    EXPECT_EQ(x.weight_scale, y.weight_scale);
    EXPECT_EQ(x.bias, y.bias);
    expect_same(x.input, y.input, "classifier input");
}

size_t entries(const TempDir& dir) {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        (void)e;
        ++n;
    }
    return n;
}

/// Opens `path` read-write for `edit` (tampering with a valid file), silencing HDF5, then
/// recomputes the root attribute `metadata_sha256` as a deliberate editor could, so the
/// reader's own checks are what is tested.
void tamper(const std::string& path, const std::function<void(H5::H5File&)>& edit) {
    H5::Exception::dontPrint();
    {
        H5::H5File file(path, H5F_ACC_RDWR);
        edit(file);
        file.close();
    }
    h5::reseal_metadata(path);
}

/// Replaces the attribute `name` of `obj` by a scalar of `type` holding `value`.
template <typename T>
void set_attr(const H5::H5Object& obj,
              const std::string& name,
              const H5::PredType& type,
              T value,
              const H5::PredType& mem) {
    if (obj.attrExists(name)) {
        obj.removeAttr(name);
    }
    obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(mem, &value);
}

/// Writes a valid model to dir/name, applies `edit`, and expects read_int8_model to throw
/// InputError holding every needle.
void expect_tampered_error(const std::function<void(H5::H5File&)>& edit,
                           const std::vector<std::string>& needles) {
    TempDir dir;
    const std::string path = dir.file("model.h5");
    write_int8_model(small_vgg11(), path);
    tamper(path, edit);
    expect_error<InputError>([&] { read_int8_model(path); }, needles);
}

/// Runs a shell command, returns its exit status and stdout.
int run_command(const std::string& command, std::string& output) {
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return -1;
    }
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) {
        output.append(buf, n);
    }
    return pclose(pipe);
}

// -------------------------------------------------------------------------------------------

TEST(H5Int8Model, RoundTripVgg11) {
    TempDir dir;
    const Int8Model model = small_vgg11();
    write_int8_model(model, dir.file("m.h5"));
    expect_same(read_int8_model(dir.file("m.h5")), model);
    EXPECT_EQ(entries(dir), 1u) << "temporary file left behind";
}

// The search's resume identity is the model file's SHA-256, so writing the same model again
// (a re-export, a later second) must give the same bytes: no modification times are stored.
TEST(H5Int8Model, SameModelGivesSameBytes) {
    TempDir dir;
    const auto model = small_vgg11();
    write_int8_model(model, dir.file("a.h5"));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100)); // HDF5 times have 1 s steps
    write_int8_model(model, dir.file("b.h5"));
    EXPECT_EQ(sha256_file(dir.file("a.h5")), sha256_file(dir.file("b.h5")));
}

TEST(H5Int8Model, RoundTripVgg16LargerImage) {
    TempDir dir;
    Int8Model model = small_vgg16();
    model.provenance.clear();
    write_int8_model(model, dir.file("m.h5"));
    const Int8Model back = read_int8_model(dir.file("m.h5"));
    expect_same(back, model);
    EXPECT_EQ(back.classifier.in_features, 10 * 2 * 2);
}

TEST(H5Int8Model, FileUsesFixedWidthLittleEndianTypesAndForwardOrder) {
    TempDir dir;
    const std::string path = dir.file("m.h5");
    const Int8Model model = small_vgg11();
    write_int8_model(model, path);

    H5::H5File file(path, H5F_ACC_RDONLY);
    const auto type_of = [&](const std::string& p) { return file.openDataSet(p).getDataType(); };
    EXPECT_TRUE(type_of("/ops/conv3_2/weight") == H5::PredType::STD_I8LE);
    EXPECT_TRUE(type_of("/ops/conv3_2/weight_scale") == H5::PredType::IEEE_F32LE);
    EXPECT_TRUE(type_of("/ops/conv3_2/bias") == H5::PredType::STD_I32LE);
    EXPECT_TRUE(type_of("/ops/conv3_2/multiplier") == H5::PredType::STD_I32LE);
    EXPECT_TRUE(type_of("/ops/conv3_2/shift") == H5::PredType::STD_I32LE);
    EXPECT_TRUE(type_of("/ops/classifier/weight") == H5::PredType::STD_I8LE);

    hsize_t dims[4] = {0, 0, 0, 0};
    file.openDataSet("/ops/conv3_2/weight").getSpace().getSimpleExtentDims(dims);
    EXPECT_EQ(std::vector<hsize_t>(dims, dims + 4), (std::vector<hsize_t>{8, 8, 3, 3}));

    // Normalization: float32 arrays of in_channels values on /input.
    for (const char* name : {"mean", "std"}) {
        const H5::Attribute a = file.openGroup("/input").openAttribute(name);
        EXPECT_TRUE(a.getDataType() == H5::PredType::IEEE_F32LE) << name;
        hsize_t n = 0;
        ASSERT_EQ(a.getSpace().getSimpleExtentNdims(), 1) << name;
        a.getSpace().getSimpleExtentDims(&n);
        EXPECT_EQ(n, 3u) << name;
    }

    std::string format;
    const H5::Attribute attr = file.openGroup("/").openAttribute("format");
    attr.read(attr.getStrType(), format);
    EXPECT_EQ(format, kInt8ModelFormat);

    // Groups under /ops iterate in creation (= forward) order for h5py users.
    const models::Int8Graph graph = models::graph_from_chain(model);
    const H5::Group ops = file.openGroup("/ops");
    ASSERT_EQ(ops.getNumObjs(), graph.ops.size());
    for (size_t i = 0; i < graph.ops.size(); ++i) {
        char name[64] = {};
        ASSERT_GT(H5Lget_name_by_idx(ops.getId(), ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, name,
                                     sizeof name, H5P_DEFAULT),
                  0);
        EXPECT_EQ(std::string(name), graph.ops[i].name);
    }
}

TEST(H5Int8Model, H5dumpShowsTheSchema) {
    std::string ignored;
    if (run_command("h5dump --version 2>&1", ignored) != 0) {
        TRISEG_SKIP_UNLESS_REQUIRED("h5dump is not installed (apt-get install hdf5-tools)");
    }
    TempDir dir;
    const std::string path = dir.file("m.h5");
    write_int8_model(small_vgg11(), path);

    std::string header;
    ASSERT_EQ(run_command("h5dump -H '" + path + "' 2>&1", header), 0) << header;
    for (const char* needle : {"GROUP \"ops\"", "GROUP \"tensors\"", "GROUP \"conv1_1\"",
                               "DATASET \"weight\"", "H5T_STD_I8LE", "ATTRIBUTE \"format\"",
                               "DATASET \"op_names\"", "DATASET \"tensor_names\""}) {
        EXPECT_NE(header.find(needle), std::string::npos) << needle << " not in\n" << header;
    }

    std::string weight;
    ASSERT_EQ(run_command("h5dump -H -d /ops/conv1_1/weight '" + path + "' 2>&1", weight), 0)
        << weight;
    EXPECT_NE(weight.find("DATASET \"/ops/conv1_1/weight\""), std::string::npos) << weight;
    EXPECT_NE(weight.find("( 2, 3, 3, 3 )"), std::string::npos) << weight;

    std::string format;
    ASSERT_EQ(run_command("h5dump -a /format '" + path + "' 2>&1", format), 0) << format;
    EXPECT_NE(format.find("\"triseg-int8-v2\""), std::string::npos) << format;
}

// -- errors when reading ----------------------------------------------------------------------

TEST(H5Int8Model, MissingFileIsIoError) {
    TempDir dir;
    expect_error<IoError>([&] { read_int8_model(dir.file("absent.h5")); },
                          {"absent.h5", "No such file"});
    expect_error<IoError>([&] { read_int8_model(dir.path().string()); }, {"folder"});
}

TEST(H5Int8Model, TextFileIsInputError) {
    TempDir dir;
    std::ofstream(dir.file("notes.h5")) << "just some text, not HDF5\n";
    expect_error<InputError>([&] { read_int8_model(dir.file("notes.h5")); },
                             {"notes.h5", "not an HDF5 file"});
}

TEST(H5Int8Model, HdfFileWithoutFormatIsInputError) {
    TempDir dir;
    const std::string path = dir.file("other.h5");
    {
        H5::H5File file(path, H5F_ACC_TRUNC);
        file.createGroup("/something");
    }
    expect_error<InputError>([&] { read_int8_model(path); },
                             {"other.h5", "not a triseg int8 model", "'format'"});
}

TEST(H5Int8Model, OtherFormatIsInputError) {
    expect_tampered_error(
        [](H5::H5File& f) {
            const H5::Group root = f.openGroup("/");
            root.removeAttr("format");
            const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
            root.createAttribute("format", type, H5::DataSpace(H5S_SCALAR))
                .write(type, std::string("triseg-int8-v9"));
        },
        {"unsupported format 'triseg-int8-v9'", "triseg-int8-v1"});
}

TEST(H5Int8Model, MissingDatasetIsNamed) {
    expect_tampered_error([](H5::H5File& f) { f.unlink("/ops/conv2_1/bias"); },
                          {"missing dataset '/ops/conv2_1/bias'"});
    expect_tampered_error([](H5::H5File& f) { f.unlink("/tensors"); },
                          {"missing group '/tensors'"});
}

TEST(H5Int8Model, MissingAttributeIsNamed) {
    expect_tampered_error(
        [](H5::H5File& f) { f.openGroup("/tensors/conv3_1").removeAttr("scale"); },
        {"missing attribute 'scale' of '/tensors/conv3_1'"});
    expect_tampered_error([](H5::H5File& f) { f.openGroup("/ops/conv3_1").removeAttr("groups"); },
                          {"missing attribute 'groups' of '/ops/conv3_1'"});
    expect_tampered_error([](H5::H5File& f) { f.openGroup("/").removeAttr("model_yaml"); },
                          {"missing attribute 'model_yaml' of '/'"});
    expect_tampered_error([](H5::H5File& f) { f.openGroup("/input").removeAttr("mean"); },
                          {"missing attribute 'mean' of '/input'"});
    expect_tampered_error([](H5::H5File& f) { f.openGroup("/input").removeAttr("std"); },
                          {"missing attribute 'std' of '/input'"});
}

TEST(H5Int8Model, NormalizationNeedsOneFloatPerChannel) {
    expect_tampered_error(
        [](H5::H5File& f) {
            const H5::Group input = f.openGroup("/input");
            input.removeAttr("std");
            const hsize_t n = 2;
            const float values[2] = {0.25f, 0.5f};
            input.createAttribute("std", H5::PredType::IEEE_F32LE, H5::DataSpace(1, &n))
                .write(H5::PredType::NATIVE_FLOAT, values);
        },
        {"attribute 'std' of '/input' has shape [2], expected [3]"});
    expect_tampered_error(
        [](H5::H5File& f) {
            const H5::Group input = f.openGroup("/input");
            input.removeAttr("mean");
            const hsize_t n = 3;
            const int32_t values[3] = {0, 1, 2};
            input.createAttribute("mean", H5::PredType::STD_I32LE, H5::DataSpace(1, &n))
                .write(H5::PredType::NATIVE_INT32, values);
        },
        {"attribute 'mean' of '/input' has type int32, expected float32"});
    expect_tampered_error(
        [](H5::H5File& f) {
            const H5::Group input = f.openGroup("/input");
            input.removeAttr("std");
            const hsize_t n = 3;
            const float values[3] = {0.25f, 0.0f, 0.5f};
            input.createAttribute("std", H5::PredType::IEEE_F32LE, H5::DataSpace(1, &n))
                .write(H5::PredType::NATIVE_FLOAT, values);
        },
        {"input_std[1] must be in [0.0001, 10000], got 0"});
}

TEST(H5Int8Model, WrongDtypeIsNamed) {
    expect_tampered_error(
        [](H5::H5File& f) {
            f.unlink("/ops/classifier/bias");
            const hsize_t n = 10;
            f.createDataSet("/ops/classifier/bias", H5::PredType::IEEE_F32LE, H5::DataSpace(1, &n));
        },
        {"dataset '/ops/classifier/bias' has type float32, expected int32"});
    expect_tampered_error(
        [](H5::H5File& f) {
            f.unlink("/ops/conv1_1/weight");
            const hsize_t dims[4] = {2, 3, 3, 3};
            f.createDataSet("/ops/conv1_1/weight", H5::PredType::STD_I16LE, H5::DataSpace(4, dims));
        },
        {"'/ops/conv1_1/weight' has type int16, expected int8"});
    // h5py stores Python floats as float64: accepted only when the value is a float32.
    expect_tampered_error(
        [](H5::H5File& f) {
            set_attr(f.openGroup("/input"), "scale", H5::PredType::IEEE_F64LE, 0.1,
                     H5::PredType::NATIVE_DOUBLE);
        },
        {"attribute 'scale' of '/input'", "not a float32 value"});
}

TEST(H5Int8Model, Float64ScaleHoldingAFloat32IsAccepted) {
    TempDir dir;
    const std::string path = dir.file("m.h5");
    const Int8Model model = small_vgg11();
    write_int8_model(model, path);
    tamper(path, [&](H5::H5File& f) {
        set_attr(f.openGroup("/input"), "scale", H5::PredType::IEEE_F64LE,
                 static_cast<double>(model.input.scale), H5::PredType::NATIVE_DOUBLE);
    });
    expect_same(read_int8_model(path), model);
}

TEST(H5Int8Model, FixedLengthStringsAreAccepted) {
    // numpy byte strings written with h5py become fixed-length HDF5 strings.
    TempDir dir;
    const std::string path = dir.file("m.h5");
    const Int8Model model = small_vgg11();
    write_int8_model(model, path);
    tamper(path, [&](H5::H5File& f) {
        f.unlink("/op_names");
        const models::Int8Graph graph = models::graph_from_chain(model);
        const size_t width = 16; // "conv5_2.pool" + NUL padding
        const H5::StrType type(H5::PredType::C_S1, width);
        std::string packed;
        for (const models::Int8Op& op : graph.ops) {
            packed += op.name + std::string(width - op.name.size(), '\0');
        }
        const hsize_t n = graph.ops.size();
        f.createDataSet("/op_names", type, H5::DataSpace(1, &n)).write(packed.data(), type);

        const H5::Group root = f.openGroup("/");
        std::string yaml;
        root.openAttribute("model_yaml").read(root.openAttribute("model_yaml").getStrType(), yaml);
        root.removeAttr("model_yaml");
        const H5::StrType fixed(H5::PredType::C_S1, yaml.size());
        root.createAttribute("model_yaml", fixed, H5::DataSpace(H5S_SCALAR)).write(fixed, yaml);
    });
    expect_same(read_int8_model(path), model);
}

TEST(H5Int8Model, WrongShapeIsNamed) {
    expect_tampered_error(
        [](H5::H5File& f) {
            f.unlink("/ops/conv1_1/shift");
            const hsize_t n = 3;
            f.createDataSet("/ops/conv1_1/shift", H5::PredType::STD_I32LE, H5::DataSpace(1, &n));
        },
        {"dataset '/ops/conv1_1/shift' has shape [3], expected [2]"});
}

/// Overwrites element `index` of the int dataset at `path` with `value`.
void poke(H5::H5File& f, const std::string& path, size_t index, int64_t value) {
    const H5::DataSet ds = f.openDataSet(path);
    std::vector<int64_t> data(static_cast<size_t>(ds.getSpace().getSimpleExtentNpoints()));
    ds.read(data.data(), H5::PredType::NATIVE_INT64);
    data.at(index) = value;
    ds.write(data.data(), H5::PredType::NATIVE_INT64);
}

TEST(H5Int8Model, OutOfRangeValuesNameTheLayer) {
    expect_tampered_error([](H5::H5File& f) { poke(f, "/ops/conv2_1/weight", 5, -128); },
                          {"'conv2_1'", "weight[5]", "-128", "[-127, 127]"});
    expect_tampered_error([](H5::H5File& f) { poke(f, "/ops/classifier/weight", 7, -128); },
                          {"classifier", "weight[7]", "-128"});
    expect_tampered_error([](H5::H5File& f) { poke(f, "/ops/conv3_2/multiplier", 1, 12345); },
                          {"'conv3_2'", "multiplier[1] = 12345", "[2^30, 2^31)"});
    expect_tampered_error([](H5::H5File& f) { poke(f, "/ops/conv4_1/shift", 2, 0); },
                          {"'conv4_1'", "shift[2] = 0", "[1, 62]"});
    expect_tampered_error([](H5::H5File& f) { poke(f, "/ops/conv4_1/shift", 2, 63); },
                          {"'conv4_1'", "shift[2] = 63"});
}

TEST(H5Int8Model, MaxPoolMustKeepItsInputQuantization) {
    expect_tampered_error(
        [](H5::H5File& f) {
            const H5::Group g = f.openGroup("/tensors/conv2_1.pool");
            int32_t zp = 0;
            g.openAttribute("zero_point").read(H5::PredType::NATIVE_INT32, &zp);
            set_attr(g, "zero_point", H5::PredType::STD_I32LE, (zp + 1) % 256,
                     H5::PredType::NATIVE_INT32);
        },
        {"'conv2_1.pool' (maxpool)", "keeps its input's quantization"});
}

/// Rewrites the 1-D string dataset `path` with `edit` applied to its values.
void edit_names(H5::H5File& f,
                const std::string& path,
                const std::function<void(std::vector<std::string>&)>& edit) {
    const H5::DataSet ds = f.openDataSet(path);
    const H5::StrType type = ds.getStrType();
    const auto n = static_cast<size_t>(ds.getSpace().getSimpleExtentNpoints());
    std::vector<char*> names(n, nullptr);
    ds.read(names.data(), type);
    std::vector<std::string> text(names.begin(), names.end());
    H5Dvlen_reclaim(type.getId(), ds.getSpace().getId(), H5P_DEFAULT, names.data());
    edit(text);
    std::vector<const char*> ptrs;
    for (const auto& s : text) {
        ptrs.push_back(s.c_str());
    }
    ds.write(ptrs.data(), type);
}

TEST(H5Int8Model, LayerOrderFollowsTheVggLayout) {
    // Rename op conv2_1 to conv1_2 consistently (group and /op_names): readable, but not vgg11.
    expect_tampered_error(
        [](H5::H5File& f) {
            f.move("/ops/conv2_1", "/ops/conv1_2");
            edit_names(f, "/op_names",
                       [](std::vector<std::string>& names) { names[2] = "conv1_2"; });
        },
        {"conv layer 1 is named 'conv1_2', expected 'conv2_1'", "vgg11"});
}

TEST(H5Int8Model, LayerNamesMustMatchTheGroups) {
    expect_tampered_error([](H5::H5File& f) { f.createGroup("/ops/extra"); },
                          {"'/ops' holds 15 objects, but /op_names lists 14"});
    expect_tampered_error([](H5::H5File& f) { f.move("/ops/conv3_1", "/ops/conv3_x"); },
                          {"missing group '/ops/conv3_1'"});
    expect_tampered_error(
        [](H5::H5File& f) {
            set_attr(f.openGroup("/ops/conv3_1"), "index", H5::PredType::STD_I32LE, 7,
                     H5::PredType::NATIVE_INT32);
        },
        {"attribute 'index' of '/ops/conv3_1' is 7", "position 4"});
    expect_tampered_error(
        [](H5::H5File& f) {
            edit_names(f, "/tensor_names",
                       [](std::vector<std::string>& names) { names[1] = "../x"; });
        },
        {"/tensor_names[1] = '../x' is not a name"});
}

TEST(H5Int8Model, DuplicatedRootAttributesMustAgreeWithModelYaml) {
    expect_tampered_error(
        [](H5::H5File& f) {
            set_attr(f.openGroup("/"), "in_channels", H5::PredType::STD_I64LE, int64_t{1},
                     H5::PredType::NATIVE_INT64);
        },
        {"root attribute 'in_channels' is 1 but model_yaml says 3"});
    expect_tampered_error(
        [](H5::H5File& f) {
            const H5::Group root = f.openGroup("/");
            root.removeAttr("model_yaml");
            const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
            root.createAttribute("model_yaml", type, H5::DataSpace(H5S_SCALAR))
                .write(type, std::string("arch: vgg11\nwidth: 9\n"));
        },
        {"model_yaml", "model.width"});
}

// -- errors when writing, atomicity -----------------------------------------------------------

TEST(H5Int8Model, WriterRejectsInvalidModelsAndLeavesTheOldFile) {
    TempDir dir;
    const std::string path = dir.file("m.h5");
    const Int8Model good = small_vgg11();
    write_int8_model(good, path);

    const std::vector<std::pair<std::function<void(Int8Model&)>, std::vector<std::string>>> cases =
        {
            {[](Int8Model& m) { m.convs[3].input.zero_point += 1; },
             {"layer conv3_2", "output quantization of conv3_1"}},
            {[](Int8Model& m) { m.convs[1].name = "conv1_2"; }, {"named 'conv1_2'", "conv2_1"}},
            {[](Int8Model& m) { m.convs.pop_back(); }, {"7 conv layers", "vgg11 has 8"}},
            {[](Int8Model& m) { m.convs[2].weight[0] = -128; }, {"layer conv3_1", "-128"}},
            {[](Int8Model& m) { m.convs[0].multiplier[1] = 5; }, {"layer conv1_1", "multiplier"}},
            {[](Int8Model& m) { m.convs[4].bias.pop_back(); },
             {"layer conv4_1", "bias holds 14 values, expected 15"}},
            {[](Int8Model& m) { m.convs[4].in_channels = 9; }, {"layer conv4_1", "in_channels"}},
            {[](Int8Model& m) { m.convs[0].weight_scale[0] = 0; }, {"layer conv1_1"}},
            {[](Int8Model& m) { m.classifier.in_features = 16; }, {"classifier", "in_features"}},
            {[](Int8Model& m) { m.classifier.weight.pop_back(); }, {"classifier", "weight"}},
            {[](Int8Model& m) { m.input.zero_point = 300; }, {"input zero_point", "300"}},
            {[](Int8Model& m) { m.model.width = 0; }, {"model.width"}},
            {[](Int8Model& m) { m.input_mean.clear(); }, {"input_mean holds 0 values, expected 3"}},
            {[](Int8Model& m) { m.input_std.push_back(1); },
             {"input_std holds 4 values, expected 3"}},
            {[](Int8Model& m) { m.input_std[2] = -1; },
             {"input_std[2] must be in [0.0001, 10000]"}},
            {[](Int8Model& m) { m.input_mean[0] = std::numeric_limits<float>::quiet_NaN(); },
             {"input_mean[0] must be in [-10000, 10000]"}},
        };
    for (const auto& [edit, needles] : cases) {
        Int8Model bad = good;
        edit(bad);
        expect_error<InputError>([&] { write_int8_model(bad, path); }, needles);
    }
    expect_same(read_int8_model(path), good);
    EXPECT_EQ(entries(dir), 1u);
}

TEST(H5Int8Model, WritingIntoMissingFolderIsIoErrorAndLeavesNothing) {
    TempDir dir;
    expect_error<IoError>([&] { write_int8_model(small_vgg11(), dir.file("no/such/m.h5")); },
                          {"no/such/m.h5", "cannot write", "No such file"});
    EXPECT_EQ(entries(dir), 0u);
}

TEST(H5Int8Model, OverwritingReplacesTheWholeModel) {
    TempDir dir;
    const std::string path = dir.file("m.h5");
    write_int8_model(small_vgg16(), path);
    const Int8Model second = small_vgg11(7);
    write_int8_model(second, path);
    expect_same(read_int8_model(path), second);
    EXPECT_EQ(entries(dir), 1u);

    std::ofstream(path) << "garbage over the model";
    write_int8_model(second, path);
    expect_same(read_int8_model(path), second);
}

// -- integrity: Fletcher32 on datasets, SHA-256 of the attributes ------------------------------

TEST(H5Int8Model, FlippedWeightByteIsADamagedFileError) {
    TempDir dir;
    const std::string path = dir.file("m.h5");
    const Int8Model model = small_vgg11();
    write_int8_model(model, path);
    for (const char* ds : {"/ops/conv3_1/weight", "/ops/classifier/weight", "/ops/conv1_1/bias"}) {
        write_int8_model(model, path);
        test::flip_in_dataset(path, ds);
        expect_error<InputError>(
            [&] { read_int8_model(path); },
            {path, "is damaged", "checksum mismatch", ds, "triseg export-int8"});
    }
}

TEST(H5Int8Model, FlippedScaleAttributeIsADamagedFileError) {
    TempDir dir;
    const std::string path = dir.file("m.h5");
    Int8Model model = small_vgg11();
    // A distinctive scale, so that its 4 bytes occur once in the file.
    model.input.scale = 0.0123456789f;
    model.convs[0].input.scale = model.input.scale;
    write_int8_model(model, path);
    std::string pattern(sizeof(float), '\0');
    std::memcpy(pattern.data(), &model.input.scale, sizeof(float));
    // Stored twice (input scale, conv1_1 input_scale): flip the low mantissa byte of the first.
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = bytes.find(pattern);
    ASSERT_NE(at, std::string::npos);
    test::flip_byte(path, at, 0x01);
    // HDF5's own object-header checksum or our metadata_sha256, whichever sees it first.
    expect_error<InputError>([&] { read_int8_model(path); },
                             {path, "is damaged", "checksum mismatch"});
}

TEST(H5Int8Model, FlippedStringAttributeIsADamagedFileError) {
    TempDir dir;
    const std::string path = dir.file("m.h5");
    write_int8_model(small_vgg11(), path);
    // Variable-length strings live in the global heap, which HDF5 does not checksum: only
    // metadata_sha256 sees this change of the provenance text ("seed 1" -> "seed 0").
    test::flip_byte(path, test::find_unique(path, "test model, seed 1") + 17, 0x01);
    expect_error<InputError>([&] { read_int8_model(path); },
                             {path, "is damaged", "checksum mismatch in its attributes or strings",
                              "triseg export-int8"});
}

TEST(H5Int8Model, ChecksumsCannotBeSwitchedOffByDeletingThem) {
    TempDir dir;
    const std::string path = dir.file("m.h5");
    write_int8_model(small_vgg11(), path);
    // Zeroed weights stored without Fletcher32; the metadata digest still matches (it covers
    // attributes and strings only).
    {
        H5::Exception::dontPrint();
        H5::H5File f(path, H5F_ACC_RDWR);
        const H5::DataSpace space = f.openDataSet("/ops/conv1_1/weight").getSpace();
        f.unlink("/ops/conv1_1/weight");
        std::vector<int8_t> zeros(static_cast<size_t>(space.getSimpleExtentNpoints()), 0);
        f.createDataSet("/ops/conv1_1/weight", H5::PredType::STD_I8LE, space)
            .write(zeros.data(), H5::PredType::NATIVE_INT8);
    }
    expect_error<InputError>([&] { read_int8_model(path); },
                             {path, "'/ops/conv1_1/weight' has no checksum", "export-int8"});
    // The digest deleted: a "legacy" file is not read either.
    write_int8_model(small_vgg11(), path);
    {
        H5::H5File f(path, H5F_ACC_RDWR);
        f.openGroup("/").removeAttr("metadata_sha256");
    }
    expect_error<InputError>([&] { read_int8_model(path); },
                             {path, "has no checksum of its attributes", "export-int8"});
}

TEST(H5Int8Model, WeightsAreChunkedWithFletcher32) {
    TempDir dir;
    const std::string path = dir.file("m.h5");
    write_int8_model(small_vgg11(), path);
    const H5::H5File f(path, H5F_ACC_RDONLY);
    const H5::DSetCreatPropList dcpl = f.openDataSet("/ops/conv1_1/weight").getCreatePlist();
    EXPECT_EQ(dcpl.getLayout(), H5D_CHUNKED);
    EXPECT_TRUE(dcpl.allFiltersAvail());
    ASSERT_EQ(dcpl.getNfilters(), 1);
    unsigned flags = 0;
    size_t n = 0;
    unsigned config = 0;
    char name[64];
    EXPECT_EQ(dcpl.getFilter(0, flags, n, nullptr, sizeof name, name, config),
              H5Z_FILTER_FLETCHER32);
}

// -- docs/int8-model.md ------------------------------------------------------------------------

TEST(H5Int8Model, DocsWorkedRequantizationExample) {
    const double m =
        static_cast<double>(0.05f) * static_cast<double>(0.002f) / static_cast<double>(0.1f);
    const engine::FixedPointMultiplier fixed = engine::quantize_multiplier(m);
    EXPECT_EQ(fixed.multiplier, 1099511680);
    EXPECT_EQ(fixed.shift, 40);
    EXPECT_EQ(engine::apply_multiplier(12345, fixed), 12);
    EXPECT_EQ(engine::requantize_relu(12345, fixed, 3), 15);
    EXPECT_EQ(engine::requantize_relu(-12345, fixed, 3), 3);

    const engine::FixedPointMultiplier half{int32_t{1} << 30, 31}; // M = 0.5
    EXPECT_EQ(engine::apply_multiplier(5, half), 3);               //  2.5 -> 3
    EXPECT_EQ(engine::apply_multiplier(-5, half), -2);             // -2.5 -> -2
    EXPECT_EQ(engine::apply_multiplier(-3, half), -1);             // -1.5 -> -1
    EXPECT_EQ(engine::requantize_relu(-5, half, 3), 3);            //  3 - 2 -> ReLU -> 3
    EXPECT_EQ(engine::requantize_relu(600, half, 3), 255);         //  3 + 300 -> 255
}

} // namespace
} // namespace triseg::io
