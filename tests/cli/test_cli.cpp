// The triseg executable end to end: exit codes and messages on bad input, a tiny real run.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include "common/shell_quote.h"
#include "tests/cli/cli_runner.h"
#include "tests/io/temp_dir.h"

namespace {

using triseg::test::contains;
using triseg::test::triseg;

constexpr int kUsage = 2;
constexpr int kInput = 3;
constexpr int kIo = 4;

const std::string kTiny = "-c configs/tiny.yaml --set train.epochs=1 --set data.train_limit=256 "
                          "--set data.test_limit=100 --set data.val_size=0 -q";

TEST(Cli, HelpAndUnknownCommands) {
    auto r = triseg("");
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "train-float")) << r.output;
    r = triseg("--help");
    EXPECT_EQ(r.code, 0);
    r = triseg("bogus");
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "unknown command 'bogus'")) << r.output;
    r = triseg("train-float --help");
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(contains(r.output, "--set") && contains(r.output, "--run-dir")) << r.output;
    r = triseg("eval --help");
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(contains(r.output, "--checkpoint")) << r.output;
}

TEST(Cli, BadOptionsAndConfigs) {
    triseg::test::TempDir dir;
    const std::string rd = " -r " + dir.file("run");
    auto r = triseg("train-float --bogus");
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "bogus") && contains(r.output, "--help")) << r.output;

    r = triseg("train-float -c " + dir.file("missing.yaml") + rd);
    EXPECT_EQ(r.code, kIo);
    EXPECT_TRUE(contains(r.output, "missing.yaml")) << r.output;

    r = triseg("train-float " + kTiny + " --set train.lrr=1" + rd);
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "train.lrr") && contains(r.output, "batch_size")) << r.output;

    r = triseg("train-float " + kTiny + " --set train.epochs=abc" + rd);
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "train.epochs") && contains(r.output, "integer")) << r.output;

    r = triseg("train-float " + kTiny + " --set train.momentum=1.5" + rd);
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "train.momentum")) << r.output;

    r = triseg("train-float " + kTiny + " --set data.dataset=cifar10" + rd);
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "data.root")) << r.output;

    r = triseg("train-float " + kTiny + " --set data.root=" + dir.path().string() + rd);
    EXPECT_EQ(r.code, kIo);
    EXPECT_TRUE(contains(r.output, "train-images-idx3-ubyte")) << r.output;

    r = triseg("train-float " + kTiny + " --set runtime.device=cuda" + rd);
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "runtime.device")) << r.output;

    r = triseg("eval -r " + dir.file("nothing-here"));
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "config.yaml")) << r.output;

    r = triseg("eval");
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "--config")) << r.output;
}

// A command that a message suggests quotes its paths: pasted into a shell, it passes a hostile
// run folder name as one word and runs nothing hidden in it.
TEST(Cli, SuggestedCommandsQuoteTheirPaths) {
    triseg::test::TempDir dir;
    const std::string victim = dir.file("victim");
    const std::string run = dir.file("it's a run; touch " + victim + " $(touch " + victim + ")");
    const auto r = triseg("eval-int8 -c configs/tiny.yaml -r " + triseg::shell_quote(run));
    EXPECT_EQ(r.code, kIo) << r.output;
    const std::string head = "run `triseg export-int8 ";
    const size_t at = r.output.find(head);
    const size_t end = r.output.find("` first", at);
    ASSERT_TRUE(at != std::string::npos && end != std::string::npos) << r.output;
    const std::string args = r.output.substr(at + head.size(), end - at - head.size());
    EXPECT_TRUE(contains(args, "'")) << args;
    // The suggested arguments, pasted after printf: exactly --run-dir and the folder.
    const auto pasted = triseg::test::shell("printf '%s\\n' " + args);
    EXPECT_EQ(pasted.output, "--run-dir\n" + run + "\n") << args;
    EXPECT_FALSE(std::filesystem::exists(victim)) << args;
}

TEST(Cli, TrainEvalAndRunFolderRules) {
    triseg::test::TempDir dir;
    const std::string run = dir.file("run");
    auto r = triseg("train-float " + kTiny + " -r " + run);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "test accuracy")) << r.output;
    for (const char* f : {"config.yaml", "float/model.pt", "float/last.pt", "float/metrics.jsonl",
                          "float/metrics.json"}) {
        EXPECT_TRUE(std::filesystem::exists(run + "/" + f)) << f;
    }

    r = triseg("train-float " + kTiny + " -r " + run);
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(contains(r.output, "already trained")) << r.output;

    r = triseg("train-float " + kTiny + " --set train.lr=0.01 -r " + run);
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "another train config") && contains(r.output, "lr")) << r.output;

    r = triseg("eval -r " + run);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "accuracy")) << r.output;
    EXPECT_TRUE(std::filesystem::exists(run + "/float/eval_test.json"));

    r = triseg("eval -r " + run + " --split val");
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "val_size")) << r.output;

    r = triseg("eval -r " + run + " --split nope");
    EXPECT_EQ(r.code, kUsage);

    std::ofstream(dir.file("bad.pt")) << "garbage";
    r = triseg("eval -r " + run + " --checkpoint " + dir.file("bad.pt"));
    EXPECT_EQ(r.code, kInput);
    EXPECT_TRUE(contains(r.output, "bad.pt")) << r.output;

    r = triseg("eval -r " + run + " --checkpoint " + dir.file("absent.pt"));
    EXPECT_EQ(r.code, kIo);
    EXPECT_TRUE(contains(r.output, "absent.pt")) << r.output;
}

TEST(Cli, StopAfterThenResume) {
    triseg::test::TempDir dir;
    const std::string run = dir.file("run");
    const std::string two = "-c configs/tiny.yaml --set train.epochs=2 --set data.train_limit=256 "
                            "--set data.test_limit=100 -r " +
                            run;
    auto r = triseg("train-float " + two + " --stop-after 1");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "run again to continue")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(run + "/float/model.pt"));
    r = triseg("train-float " + two);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "resuming")) << r.output;
    EXPECT_TRUE(std::filesystem::exists(run + "/float/model.pt"));
}

} // namespace

namespace {

/// A result.json for the 8 layers of vgg11 with `edit` applied to the text.
std::string vgg11_result(const std::string& first_layer, const std::string& t1) {
    const char* names[] = {"conv2_1", "conv3_1", "conv3_2", "conv4_1",
                           "conv4_2", "conv5_1", "conv5_2"};
    std::string s = "{\"layers\": {\"" + first_layer + "\": {\"t1_code\": " + t1 +
                    ", \"v1_code\": 10, \"t2_code\": 16, \"v2_code\": 24, \"tmax_code\": 32}";
    for (const char* n : names) {
        s += std::string(", \"") + n +
             "\": {\"t1_code\": 4, \"v1_code\": 10, \"t2_code\": 16, \"v2_code\": 24, "
             "\"tmax_code\": 32}";
    }
    return s + "}, \"backend\": \"fbgemm\", \"selection\": \"hand\", \"metrics\": {}}";
}

TEST(Cli, Int8PipelineAndCodeErrors) {
    triseg::test::TempDir dir;
    const std::string run = " -r " + dir.file("run");
    auto r = triseg("export-int8" + run);
    EXPECT_EQ(r.code, kUsage) << r.output; // no config.yaml yet
    ASSERT_EQ(triseg("train-float " + kTiny + run).code, 0);
    r = triseg("export-int8" + run);
    EXPECT_EQ(r.code, kIo);
    EXPECT_TRUE(contains(r.output, "train-qat")) << r.output;

    r = triseg("train-qat" + run + " --set qat.epochs=1 --set qat.calibration_batches=2 -q");
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg("export-int8" + run);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "conv5_2")) << r.output;
    r = triseg("eval-int8" + run);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "int8") && contains(r.output, "qat")) << r.output;

    r = triseg("eval-codes" + run + " --evenly-spaced");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "KD loss") && contains(r.output, "conv1_1")) << r.output;
    const std::string codes = dir.file("run/codes/evenly-spaced.json");
    ASSERT_TRUE(std::filesystem::exists(codes));
    r = triseg("eval-codes" + run + " --codes " + codes);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(std::filesystem::exists(dir.file("run/codes/eval_evenly-spaced.json")));

    r = triseg("eval-codes" + run + " --codes " + codes + " --evenly-spaced");
    EXPECT_EQ(r.code, kUsage) << r.output;

    auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream(dir.file(name)) << text;
        return dir.file(name);
    };
    r = triseg("eval-codes" + run + " --codes " + write("bad.json", "{\"layers\": {"));
    EXPECT_EQ(r.code, kInput);
    EXPECT_TRUE(contains(r.output, "bad.json") && contains(r.output, "JSON")) << r.output;
    r = triseg("eval-codes" + run + " --codes " +
               write("unknown.json", vgg11_result("conv9_9", "4")));
    EXPECT_EQ(r.code, kInput);
    EXPECT_TRUE(contains(r.output, "conv9_9") && contains(r.output, "conv1_1")) << r.output;
    r = triseg("eval-codes" + run + " --codes " +
               write("rule.json", vgg11_result("conv1_1", "20")));
    EXPECT_EQ(r.code, kInput);
    EXPECT_TRUE(contains(r.output, "conv1_1") && contains(r.output, "t2 must be >= t1 = 20"))
        << r.output;
    r = triseg("eval-codes" + run + " --codes " + dir.file("absent.json"));
    EXPECT_EQ(r.code, kIo);

    r = triseg("report " + dir.file("run"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "evenly-spaced")) << r.output;
}

} // namespace
