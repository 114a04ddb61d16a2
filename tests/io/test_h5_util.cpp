// Tests of io/h5_util: round trips of every helper, type and shape checks, error translation.
#include "io/h5_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/io/temp_dir.h"

namespace triseg::io::h5 {
namespace {

using test::expect_error;
using test::TempDir;

constexpr const char* kName = "test file 'x.h5'";

/// Writes a file with `write(root)`, then returns it opened read-only.
template <typename F> File written(const TempDir& dir, F&& write) {
    const std::string path = dir.file("x.h5");
    File out = File::create(path, kName);
    write(out.root());
    out.close();
    return File::open(path, kName);
}

TEST(H5Util, DatasetsRoundTripWithAwkwardShapes) {
    const H5Silence silence;
    TempDir dir;
    const std::vector<int8_t> i8 = {-128, -1, 0, 1, 127, 5};
    const std::vector<uint8_t> u8 = {0, 255, 7};
    const std::vector<int32_t> i32 = {std::numeric_limits<int32_t>::min(), 0,
                                      std::numeric_limits<int32_t>::max()};
    const std::vector<uint64_t> u64 = {std::numeric_limits<uint64_t>::max()};
    std::vector<float> f32(2 * 3 * 5);
    for (size_t i = 0; i < f32.size(); ++i) {
        f32[i] = static_cast<float>(i) * 0.1f - 1.0f;
    }
    const std::vector<double> f64 = {1e-300};
    const std::vector<std::string> text = {"conv1_1", "", "µ→σ"};

    File in = written(dir, [&](const Node& root) {
        const Node g = create_group(root, "g");
        write_dataset(g, "i8", {2, 3}, i8);
        write_dataset(g, "u8", {3}, u8);
        write_dataset(g, "i32", {3, 1}, i32);
        write_dataset(root, "u64", {}, u64); // scalar
        write_dataset(g, "f32", {2, 3, 5}, f32);
        write_dataset(g, "f64", {1, 1, 1}, f64);
        write_dataset(g, "empty", {0, 4}, std::vector<int16_t>{});
        write_string_dataset(root, "names", text);
    });
    const Node g = open_group(in.root(), "g");
    EXPECT_EQ(read_dataset<int8_t>(g, "i8", {2, 3}), i8);
    EXPECT_EQ(read_dataset<uint8_t>(g, "u8", {3}), u8);
    EXPECT_EQ(read_dataset<int32_t>(g, "i32", {3, 1}), i32);
    EXPECT_EQ(read_dataset<uint64_t>(in.root(), "u64", {}), u64);
    EXPECT_EQ(read_dataset<float>(g, "f32", {2, 3, 5}), f32);
    EXPECT_EQ(read_dataset<double>(g, "f64", {1, 1, 1}), f64);
    EXPECT_TRUE(read_dataset<int16_t>(g, "empty", {0, 4}).empty());
    EXPECT_EQ(read_string_dataset(in.root(), "names", 1, 3), text);
    EXPECT_EQ(num_links(g), 6u);
    EXPECT_TRUE(has_link(in.root(), "names"));
    EXPECT_FALSE(has_link(in.root(), "absent"));
}

TEST(H5Util, AttributesRoundTrip) {
    const H5Silence silence;
    TempDir dir;
    const std::vector<float> mean = {0.4914f, 0.4822f, 0.4465f};
    File in = written(dir, [&](const Node& root) {
        write_attribute<int32_t>(root, "i32", -7);
        write_attribute<int64_t>(root, "i64", std::numeric_limits<int64_t>::max());
        write_attribute<uint8_t>(root, "u8", 1);
        write_attribute<float>(root, "f32", 0.1f);
        write_attribute<double>(root, "f64", 0.1);
        write_attribute<float>(root, "mean", mean);
        write_attribute<int32_t>(root, "shape", std::vector<int32_t>{2, 3});
        write_string_attribute(root, "text", "utf-8: µ→σ\nsecond line");
    });
    const Node& root = in.root();
    EXPECT_TRUE(has_attribute(root, "i32"));
    EXPECT_FALSE(has_attribute(root, "absent"));
    EXPECT_EQ(read_int_attribute(root, "i32", -10, 10), -7);
    EXPECT_EQ(read_int_attribute(root, "i64", 0, std::numeric_limits<int64_t>::max()),
              std::numeric_limits<int64_t>::max());
    EXPECT_EQ(read_int_attribute(root, "u8", 0, 1), 1);
    EXPECT_EQ(read_float32_attribute(root, "f32"), 0.1f);
    EXPECT_EQ(read_float_attribute(root, "f32"), static_cast<double>(0.1f));
    EXPECT_EQ(read_float_attribute(root, "f64"), 0.1);
    EXPECT_EQ(read_float32_array_attribute(root, "mean", 3), mean);
    EXPECT_EQ(read_attribute<float>(root, "mean", {3}), mean);
    EXPECT_EQ(read_attribute<int32_t>(root, "shape", {2}), (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(read_attribute<double>(root, "f64", {}), std::vector<double>{0.1});
    EXPECT_EQ(read_string_attribute(root, "text"), "utf-8: µ→σ\nsecond line");
}

TEST(H5Util, GroupsListInCreationOrder) {
    const H5Silence silence;
    TempDir dir;
    const std::vector<std::string> names = {"conv2_1", "conv10_1", "a", "conv1_1"};
    File in = written(dir, [&](const Node& root) {
        const Node g = create_group(root, "layers");
        for (const std::string& name : names) {
            create_group(g, name);
        }
    });
    const Node layers = open_group(in.root(), "layers");
    EXPECT_EQ(layers.path, "/layers");
    EXPECT_EQ(layers.child("a"), "/layers/a");
    for (size_t i = 0; i < names.size(); ++i) {
        char name[64] = {};
        ASSERT_GT(H5Lget_name_by_idx(layers.group.getId(), ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i,
                                     name, sizeof name, H5P_DEFAULT),
                  0);
        EXPECT_EQ(std::string(name), names[i]);
    }
}

TEST(H5Util, TypeAndShapeMismatchesAreInputErrors) {
    const H5Silence silence;
    TempDir dir;
    File in = written(dir, [&](const Node& root) {
        const Node g = create_group(root, "g");
        write_dataset(g, "bias", {2}, std::vector<int32_t>{1, 2});
        write_attribute<double>(g, "scale", 0.1);
        write_attribute<double>(g, "scales", std::vector<double>{0.5, 0.1});
        write_attribute<int64_t>(g, "count", 300);
        write_string_attribute(g, "name", "x");
    });
    const Node g = open_group(in.root(), "g");
    expect_error<InputError>([&] { read_dataset<float>(g, "bias", {2}); },
                             {kName, "dataset '/g/bias' has type int32, expected float32"});
    expect_error<InputError>(
        [&] {
            read_dataset<int32_t>(g, "bias", {2, 1});
        },
        {kName, "dataset '/g/bias' has shape [2], expected [2, 1]"});
    expect_error<InputError>([&] { read_dataset<int32_t>(g, "absent", {2}); },
                             {kName, "missing dataset '/g/absent'"});
    expect_error<InputError>([&] { read_dataset<int32_t>(in.root(), "g", {2}); },
                             {"'/g' is not a dataset"});
    expect_error<InputError>([&] { open_group(g, "bias"); }, {"'/g/bias' is not a group"});
    expect_error<InputError>([&] { open_group(g, "absent"); }, {"missing group '/g/absent'"});
    expect_error<InputError>([&] { read_string_dataset(g, "bias", 1, 5); },
                             {"dataset '/g/bias' has type int32, expected string"});
    expect_error<InputError>([&] { read_float32_attribute(g, "scale"); },
                             {"attribute 'scale' of '/g'", "not a float32 value"});
    expect_error<InputError>([&] { read_float32_array_attribute(g, "scales", 2); },
                             {"attribute 'scales' of '/g'[1]", "not a float32 value"});
    expect_error<InputError>([&] { read_float32_array_attribute(g, "scales", 3); },
                             {"attribute 'scales' of '/g' has shape [2], expected [3]"});
    expect_error<InputError>([&] { read_attribute<float>(g, "scale", {}); },
                             {"attribute 'scale' of '/g' has type float64, expected float32"});
    expect_error<InputError>([&] { read_int_attribute(g, "count", 0, 255); },
                             {"attribute 'count' of '/g' is 300, expected a value in [0, 255]"});
    expect_error<InputError>([&] { read_int_attribute(g, "name", 0, 255); },
                             {"attribute 'name' of '/g' has type string, expected integer"});
    expect_error<InputError>([&] { read_float_attribute(g, "scales"); },
                             {"attribute 'scales' of '/g' holds 2 values, expected one float"});
    expect_error<InputError>([&] { read_string_attribute(g, "absent"); },
                             {kName, "missing attribute 'absent' of '/g'"});
}

TEST(H5Util, WriteSizeMismatchIsALogicError) {
    const H5Silence silence;
    TempDir dir;
    File out = File::create(dir.file("x.h5"), kName);
    EXPECT_THROW(write_dataset(out.root(), "d", {2, 2}, std::vector<float>(3)),
                 std::invalid_argument);
}

TEST(H5Util, HdfFailuresBecomeTrisegErrorsNamingFileAndObject) {
    const H5Silence silence;
    TempDir dir;
    File out = File::create(dir.file("x.h5"), kName);
    write_attribute<int32_t>(out.root(), "a", 1);
    // A second attribute of the same name: HDF5 refuses, reported as IoError.
    expect_error<IoError>([&] { write_attribute<int32_t>(out.root(), "a", 2); },
                          {kName, "cannot write attribute 'a' of '/'"});
    create_group(out.root(), "g");
    expect_error<IoError>([&] { create_group(out.root(), "g"); },
                          {kName, "cannot write group '/g'"});

    const H5::GroupIException e("func", "detail");
    expect_error<InputError>([&] { rethrow(e, Access::Read, kName, "dataset '/d'"); },
                             {kName, "cannot read dataset '/d'", "func: detail"});
    expect_error<IoError>([&] { rethrow(e, Access::Write, kName, ""); },
                          {"cannot write test file 'x.h5'", "func: detail"});
}

TEST(H5Util, OpenReportsMissingAndNonHdfFiles) {
    const H5Silence silence;
    TempDir dir;
    expect_error<IoError>([&] { File::open(dir.file("absent.h5"), "f 'absent.h5'"); },
                          {"cannot read f 'absent.h5'", "No such file"});
    expect_error<IoError>([&] { File::open(dir.path().string(), "f"); }, {"folder"});
    test::write_plain(dir.file("t.h5"), {'h', 'i', '\n'});
    expect_error<InputError>([&] { File::open(dir.file("t.h5"), "f 't.h5'"); },
                             {"f 't.h5' is not an HDF5 file"});
    expect_error<IoError>([&] { File::create(dir.file("no/such/x.h5"), "f 'x.h5'"); },
                          {"cannot write f 'x.h5'"});
}

TEST(H5Util, SilenceNestsAndRestoresTheHandler) {
    H5E_auto2_t before = nullptr;
    void* before_data = nullptr;
    H5Eget_auto2(H5E_DEFAULT, &before, &before_data);
    EXPECT_EQ(H5Silence::current(), nullptr);
    {
        const H5Silence outer;
        EXPECT_EQ(H5Silence::current(), &outer);
        {
            const H5Silence inner;
            EXPECT_EQ(H5Silence::current(), &inner);
        }
        EXPECT_EQ(H5Silence::current(), &outer);
    }
    EXPECT_EQ(H5Silence::current(), nullptr);
    H5E_auto2_t after = nullptr;
    void* after_data = nullptr;
    H5Eget_auto2(H5E_DEFAULT, &after, &after_data);
    EXPECT_EQ(after, before);
    EXPECT_EQ(after_data, before_data);
}

} // namespace
} // namespace triseg::io::h5
