// Hostile input with the real executable: YAML alias bombs, unbounded files, crafted values and
// integrity downgrades each end in a prompt, clear error (exit 2 for a config, 3 for a file's
// content) that names the file, never a hang, a crash or a silently wrong result.
#include <gtest/gtest.h>

#include <H5Cpp.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/atomic_file.h"
#include "io/h5_util.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/search_run.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

constexpr int kUsage = 2;
constexpr int kInput = 3;
/// A command that hangs is killed after this many seconds (timeout(1) exits 124 then).
const std::string kTimeout = "timeout 60 ";

/// A YAML document whose aliases expand to 9^9 scalars ("billion laughs").
std::string alias_bomb(const std::string& section) {
    std::string y = "a: &a [x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'i'; ++c) {
        const char p = static_cast<char>(c - 1);
        y += std::string(1, c) + ": &" + c + " [*" + p + ", *" + p + ", *" + p + ", *" + p + ", *" +
             p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + "]\n";
    }
    return section + ":\n" + [&] {
        std::string indented;
        size_t at = 0;
        for (size_t nl = y.find('\n'); nl != std::string::npos; nl = y.find('\n', at)) {
            indented += "  " + y.substr(at, nl - at + 1);
            at = nl + 1;
        }
        return indented;
    }();
}

/// Runs `triseg <args>` under timeout(1): a hang fails the test instead of the suite.
Result triseg_timed(const std::string& args) {
    return shell(kTimeout + binary() + " " + args);
}

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
    const std::string path = dir.file(name);
    std::ofstream(path) << text;
    return path;
}

/// Sets the string attribute `name` of the root group of `path` to `value`.
void set_root_string(const std::string& path, const std::string& name, const std::string& value) {
    H5::Exception::dontPrint();
    H5::H5File file(path, H5F_ACC_RDWR);
    const H5::Group root = file.openGroup("/");
    root.removeAttr(name);
    const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
    root.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, value);
}

TEST(CliHostileInput, YamlAliasBombsAreRefusedPromptly) {
    TempDir dir;
    const std::string config = write(dir, "bomb.yaml", alias_bomb("train"));
    auto r = triseg_timed("train-float -c '" + config + "' -r '" + dir.file("run") + "'");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "YAML aliases")) << r.output;
    EXPECT_TRUE(contains(r.output, "bomb.yaml")) << r.output;

    r = triseg_timed("train-float -c configs/tiny.yaml -r '" + dir.file("run") +
                     "' --set 'train.lr=[&a [1,1,1,1], *a, *a, *a]'");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "YAML aliases")) << r.output;
    EXPECT_TRUE(contains(r.output, "--set")) << r.output;

    // The same in an integer model's model_yaml attribute: the model file is bad input.
    const std::string run = make_search_run(dir);
    set_root_string(run + "/int8/model.h5", "model_yaml", alias_bomb("x"));
    r = triseg_timed("eval-codes -r '" + run + "' --evenly-spaced --set data.test_limit=16");
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "YAML aliases")) << r.output;
    EXPECT_TRUE(contains(r.output, "int8/model.h5")) << r.output;
}

TEST(CliHostileInput, EndlessOrHugeFilesAreRefusedByTheirSize) {
    TempDir dir;
    auto r = triseg_timed("train-float -c /dev/zero -r '" + dir.file("run") + "'");
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "config file '/dev/zero' is larger than")) << r.output;
    const std::string run = make_search_run(dir);
    r = triseg_timed("eval-codes -r '" + run + "' --codes /dev/zero --set data.test_limit=16");
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "codes file '/dev/zero' is larger than")) << r.output;
    // A 100 MB value is quoted in part, not echoed whole.
    const std::string big = write(dir, "big.yaml", "train:\n  lr: " + std::string(3u << 20, 'x'));
    r = triseg_timed("train-float -c '" + big + "' -r '" + dir.file("run2") + "'");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_LT(r.output.size(), 2000u) << "the value was echoed in full";
    EXPECT_TRUE(contains(r.output, "characters)")) << r.output;
}

TEST(CliHostileInput, ACodesFileWithADuplicateKeyIsRefused) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg("search -r '" + run + "' -o '" + dir.file("s") +
                    "' -q --method lloyd --set search.reward_images=40"
                    " --set search.eval_images=30");
    ASSERT_EQ(r.code, 0) << r.output;
    std::string text = io::read_file(dir.file("s/result.json"));
    const auto at = text.find("\"t1_code\"");
    ASSERT_NE(at, std::string::npos);
    text.insert(at, "\"t1_code\": 99, ");
    const std::string codes = write(dir, "dup.json", text);
    r = triseg("eval-codes -r '" + run + "' --codes '" + codes + "' --set data.test_limit=16");
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "dup.json")) << r.output;
    EXPECT_TRUE(contains(r.output, "\"t1_code\" twice")) << r.output;
}

TEST(CliHostileInput, CraftedValuesAreRefusedAndNamed) {
    TempDir dir;
    // Normalization that makes images non-finite.
    for (const char* std_value : {"[.inf]", "[1e-45]", "[.nan]", "[0.0]"}) {
        const auto r = triseg("train-float -c configs/tiny.yaml -r '" + dir.file("run") +
                              "' --set 'data.std=" + std_value + "' --set 'data.mean=[0.5]'");
        EXPECT_EQ(r.code, kUsage) << std_value << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "`data.std[0]` must be in")) << r.output;
        EXPECT_FALSE(contains(r.output, "train.lr")) << r.output;
    }
    // A denormal or huge input scale in an integer model.
    const std::string run = make_search_run(dir);
    const std::string model = run + "/int8/model.h5";
    const std::string original = io::read_file(model);
    for (float scale : {1e-40f, 3e38f}) {
        {
            H5::Exception::dontPrint();
            H5::H5File file(model, H5F_ACC_RDWR);
            const H5::Group input = file.openGroup("/input");
            H5::Attribute a = input.openAttribute("scale");
            a.write(H5::PredType::NATIVE_FLOAT, &scale);
        }
        io::h5::reseal_metadata(model); // as a deliberate editor would
        const auto r =
            triseg("eval-codes -r '" + run + "' --evenly-spaced --set data.test_limit=16");
        EXPECT_EQ(r.code, kInput) << scale << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "input scale must be in")) << r.output;
        io::write_file_atomic(model, original);
    }
}

TEST(CliHostileInput, DumpLabelsOutsideTheClassesAreRefusedByReplay) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg("dump-acts -r '" + run + "' --images 16 --split test");
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string dump = run + "/acts/acts_int8.h5";
    const std::string original = io::read_file(dump);
    for (int64_t label : {int64_t{99}, int64_t{-1}}) {
        {
            H5::Exception::dontPrint();
            H5::H5File file(dump, H5F_ACC_RDWR);
            H5::DataSet labels = file.openDataSet("/labels");
            std::vector<int64_t> values(16);
            labels.read(values.data(), H5::PredType::NATIVE_INT64);
            values[5] = label;
            labels.write(values.data(), H5::PredType::NATIVE_INT64);
        }
        r = triseg("replay --acts '" + dump + "'");
        EXPECT_EQ(r.code, kInput) << label << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "label " + std::to_string(label) + " of image 5"))
            << r.output;
        io::write_file_atomic(dump, original);
    }
}

TEST(CliHostileInput, AModelWithoutItsChecksumsIsRefused) {
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string model = run + "/int8/model.h5";
    const std::string original = io::read_file(model);
    const std::string eval = "eval-codes -r '" + run + "' --evenly-spaced --set data.test_limit=16";
    // Zeroed weights stored without Fletcher32; the metadata digest is left as it was.
    {
        H5::Exception::dontPrint();
        H5::H5File file(model, H5F_ACC_RDWR);
        H5::DataSet old = file.openDataSet("/ops/conv1_1/weight");
        const H5::DataSpace space = old.getSpace();
        old.close();
        file.unlink("/ops/conv1_1/weight");
        const hsize_t n = static_cast<hsize_t>(space.getSimpleExtentNpoints());
        std::vector<int8_t> zeros(n, 0);
        file.createDataSet("/ops/conv1_1/weight", H5::PredType::STD_I8LE, space)
            .write(zeros.data(), H5::PredType::NATIVE_INT8);
    }
    auto r = triseg(eval);
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "'/ops/conv1_1/weight' has no checksum")) << r.output;
    // The digest of attributes and strings removed ("a legacy file").
    io::write_file_atomic(model, original);
    {
        H5::Exception::dontPrint();
        H5::H5File file(model, H5F_ACC_RDWR);
        file.openGroup("/").removeAttr("metadata_sha256");
    }
    r = triseg(eval);
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "has no checksum of its attributes")) << r.output;
}

} // namespace
} // namespace triseg::test
