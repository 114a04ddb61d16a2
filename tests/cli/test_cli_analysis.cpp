// The analysis commands end to end on a tiny real pipeline: dump-acts (int8, float, and
// sharded under mpirun), collect-percentiles, analyze-variance, analyze-sensitivity (both
// modes), replay; valid tri-segment maps outside the search space accepted by eval-codes,
// replay and analyze-sensitivity, broken maps refused by each; files checked with h5dump /
// h5diff (standard HDF5), and errors with their exit codes.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <hdf5.h>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_runner.h"
#include "tests/io/small_disk.h"
#include "tests/io/temp_dir.h"
#include "tests/require_all.h"

namespace {

using triseg::test::contains;
using triseg::test::kH5Reserve;
using triseg::test::leaves_for;
using triseg::test::Result;
using triseg::test::shell;
using triseg::test::triseg;

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

/// The DATA section of `h5dump -d <dataset> <file>` (the header names the file).
std::string dump_data(const std::string& file, const std::string& dataset) {
    const Result r = shell(std::string(TRISEG_H5DUMP) + " -d " + dataset + " '" + file + "'");
    EXPECT_EQ(r.code, 0) << r.output;
    const auto at = r.output.find("DATA {");
    return at == std::string::npos ? std::string() : r.output.substr(at);
}

constexpr int kUsage = 2;
constexpr int kInput = 3;
constexpr int kIo = 4;
constexpr const char* kTestImages = "60";
/// Accuracies in percent written by two commands (the same count over the same images).
constexpr double kPercentTolerance = 1e-9;

/// One tiny trained, exported run shared by every test (made once: seconds).
class AnalysisCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<triseg::test::TempDir>();
        run_ = dir_->file("run");
        const std::string rd = " -r " + run_;
        const std::string tiny = "-c configs/tiny.yaml --set train.epochs=1 "
                                 "--set data.train_limit=256 --set data.val_size=0 "
                                 "--set data.test_limit=" +
                                 std::string(kTestImages) + " -q";
        for (const std::string& step :
             {"train-float " + tiny + rd,
              "train-qat" + rd + " --set qat.epochs=1 --set qat.calibration_batches=2 -q",
              "export-int8" + rd, "eval-int8" + rd, "eval-codes --evenly-spaced" + rd,
              "dump-acts" + rd}) {
            const Result r = triseg(step);
            ASSERT_EQ(r.code, 0) << step << "\n" << r.output;
        }
    }
    static void TearDownTestSuite() { dir_.reset(); }

    static std::string run() { return run_; }
    static std::string rd() { return " -r " + run_; }
    static std::string acts() { return run_ + "/acts/acts_int8.h5"; }

    static std::unique_ptr<triseg::test::TempDir> dir_;
    static std::string run_;
};

std::unique_ptr<triseg::test::TempDir> AnalysisCli::dir_;
std::string AnalysisCli::run_;

TEST_F(AnalysisCli, EveryCommandHasHelp) {
    for (const char* cmd : {"dump-acts", "collect-percentiles", "analyze-variance",
                            "analyze-sensitivity", "replay"}) {
        const Result r = triseg(std::string(cmd) + " --help");
        EXPECT_EQ(r.code, 0) << cmd;
        EXPECT_TRUE(contains(r.output, "Options")) << r.output;
    }
    const Result r = triseg("--help");
    EXPECT_TRUE(contains(r.output, "dump-acts") && contains(r.output, "replay")) << r.output;
}

TEST_F(AnalysisCli, Int8DumpIsStandardHdf5) {
    const Result h = shell(std::string(TRISEG_H5DUMP) + " -H '" + acts() + "'");
    ASSERT_EQ(h.code, 0) << h.output;
    for (const char* needle :
         {"DATASET \"conv1_1\"", "DATASET \"conv5_2\"", "H5T_STD_U8LE", "ATTRIBUTE \"scale\"",
          "ATTRIBUTE \"zero_point\"", "DATASET \"labels\"", "DATASET \"image_index\"",
          "ATTRIBUTE \"tool_version\"", "ATTRIBUTE \"created\"", "( 60, 8, 32, 32 )"}) {
        EXPECT_TRUE(contains(h.output, needle)) << needle << "\n" << h.output.substr(0, 3000);
    }
    const Result f = shell(std::string(TRISEG_H5DUMP) + " -a /format '" + acts() + "'");
    EXPECT_TRUE(contains(f.output, "triseg-acts-v1")) << f.output;
    const Result p = shell(std::string(TRISEG_H5DUMP) + " -p -H -d /acts/conv1_1 '" + acts() + "'");
    EXPECT_TRUE(contains(p.output, "CHUNKED") && contains(p.output, "DEFLATE")) << p.output;
}

TEST_F(AnalysisCli, FloatDump) {
    const std::string out = dir_->file("float.h5");
    const Result r = triseg("dump-acts --kind float --images 7 -o " + out + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    // The older spelling `--model float` still works, with a note; --model FILE names a file.
    const Result old =
        triseg("dump-acts --model float --images 7 -o " + dir_->file("old.h5") + rd());
    ASSERT_EQ(old.code, 0) << old.output;
    EXPECT_TRUE(contains(old.output, "older spelling of `--kind float`")) << old.output;
    const Result oh = shell(std::string(TRISEG_H5DUMP) + " -H '" + dir_->file("old.h5") + "'");
    EXPECT_TRUE(contains(oh.output, "H5T_IEEE_F32LE")) << oh.output.substr(0, 2000);
    const Result h = shell(std::string(TRISEG_H5DUMP) + " -H '" + out + "'");
    EXPECT_TRUE(contains(h.output, "H5T_IEEE_F32LE") && contains(h.output, "( 7, 8, 32, 32 )"))
        << h.output.substr(0, 3000);
    const Result bad = triseg("replay --acts " + out);
    EXPECT_EQ(bad.code, kInput);
    EXPECT_TRUE(contains(bad.output, "float activations")) << bad.output;
}

TEST_F(AnalysisCli, PercentilesFromTheModelEqualPercentilesFromTheDump) {
    const std::string a = dir_->file("p_model.h5");
    const std::string b = dir_->file("p_dump.h5");
    Result r = triseg("collect-percentiles -o " + a + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "p99.9") && contains(r.output, "conv4_2")) << r.output;
    r = triseg("collect-percentiles --acts " + acts() + " -o " + b); // offline: no run folder
    ASSERT_EQ(r.code, 0) << r.output;
    for (const char* ds : {"/histograms", "/percentiles", "/fraction_le_tmax", "/layer_names"}) {
        const std::string da = dump_data(a, ds);
        EXPECT_FALSE(da.empty());
        EXPECT_EQ(da, dump_data(b, ds)) << ds;
    }
}

TEST_F(AnalysisCli, VarianceJson) {
    const std::string out = dir_->file("variance");
    const Result r = triseg("analyze-variance --out-dir " + out + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    const auto w = read_json(out + "/weight_variance.json");
    const auto a = read_json(out + "/activation_variance.json");
    EXPECT_EQ(w["layers"].size(), 8u);
    EXPECT_GT(w["layers"]["conv1_1"]["std"].get<double>(), 0.0);
    EXPECT_EQ(a["images"].get<int64_t>(), 60);
    EXPECT_GE(a["layers"]["conv5_2"]["min"].get<double>(), 0.0); // after ReLU
    const Result d = triseg("analyze-variance --acts " + acts() + " --out-dir " + out + "2" + rd());
    ASSERT_EQ(d.code, 0) << d.output;
    EXPECT_EQ(read_json(out + "2/activation_variance.json")["layers"],
              a["layers"]); // the same codes, read from the dump
}

TEST_F(AnalysisCli, SensitivityRanksLayers) {
    const std::string codes = run() + "/codes/evenly-spaced.json";
    Result r = triseg("analyze-sensitivity --codes " + codes + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "rank") && contains(r.output, "conv3_2") &&
                contains(r.output, "leave-one-out"))
        << r.output;
    const auto j = read_json(run() + "/analysis/sensitivity.json");
    EXPECT_EQ(j["mode"].get<std::string>(),
              "leave-one-out"); // the original's definition is the default
    ASSERT_EQ(j["ranking"].size(), 8u);
    EXPECT_LE(j["ranking"][0]["kd_loss"].get<double>(), j["ranking"][7]["kd_loss"].get<double>());
    EXPECT_TRUE(j.contains("all_approximated"));
    r = triseg("analyze-sensitivity --mode leave-one-in --codes " + codes + " -o " +
               dir_->file("in.json") + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    const auto in = read_json(dir_->file("in.json"));
    EXPECT_EQ(in["mode"].get<std::string>(), "leave-one-in");
    ASSERT_EQ(in["ranking"].size(), 8u);
    EXPECT_GE(in["ranking"][0]["kd_loss"].get<double>(), in["ranking"][7]["kd_loss"].get<double>());
    EXPECT_FALSE(in.contains("all_approximated"));

    const std::string pct = dir_->file("p_sens.h5");
    ASSERT_EQ(triseg("collect-percentiles -o " + pct + rd()).code, 0);
    r = triseg("analyze-sensitivity --heuristic --percentiles " + pct + " -o " +
               dir_->file("h.json") + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    r = triseg("analyze-sensitivity --heuristic -o " + dir_->file("h2.json") + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_json(dir_->file("h.json"))["ranking"],
              read_json(dir_->file("h2.json"))["ranking"]);

    r = triseg("analyze-sensitivity" + rd());
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "--heuristic")) << r.output;
    r = triseg("analyze-sensitivity --heuristic --mode leave-two-out" + rd());
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "leave-two-out") && contains(r.output, "leave-one-in"))
        << r.output;
    r = triseg("analyze-sensitivity --heuristic --percentiles " + acts() + rd());
    EXPECT_EQ(r.code, kInput);
    EXPECT_TRUE(contains(r.output, "triseg-percentiles-v1")) << r.output;
}

const char* const kLayers[] = {"conv1_1", "conv2_1", "conv3_1", "conv3_2",
                               "conv4_1", "conv4_2", "conv5_1", "conv5_2"};

/// A result.json layer entry.
nlohmann::json layer_codes(int t1, int v1, int t2, int v2, int tmax) {
    return {
        {"t1_code", t1}, {"v1_code", v1}, {"t2_code", t2}, {"v2_code", v2}, {"tmax_code", tmax}};
}

/// Writes `doc` as JSON to `path` and returns `path`.
std::string write_json(const std::string& path, const nlohmann::json& doc) {
    std::ofstream(path) << doc.dump(2);
    return path;
}

/// The original's supervised result (section 8.2): t1 2 v1 2 t2 5 v2 5 tmax 12, a valid
/// tri-segment map outside the search space (t1 = v1, t2 = v2, t2 < t1 + 4).
nlohmann::json document_layer() {
    return layer_codes(2, 2, 5, 5, 12);
}

/// Its table by hand: 0..2 -> 0, 3..5 -> 2, 6..12 -> 5, the rest unchanged.
int document_table(int c) {
    return c <= 2 ? 0 : c <= 5 ? 2 : c <= 12 ? 5 : c;
}

TEST_F(AnalysisCli, TheOriginalsSupervisedResultIsAcceptedByEveryCommand) {
    nlohmann::json doc = {{"layers", nlohmann::json::object()}};
    for (const char* l : kLayers) {
        doc["layers"][l] = document_layer();
    }
    const std::string all = write_json(dir_->file("document.json"), doc);
    // One layer from the document, the rest from a result in the search space.
    nlohmann::json mixed = read_json(run() + "/codes/evenly-spaced.json");
    mixed["layers"]["conv3_1"] = document_layer();
    const std::string one = write_json(dir_->file("mixed.json"), mixed);
    const std::string front =
        write_json(dir_->file("front.json"), {{"points", nlohmann::json::array({mixed, doc})}});

    // eval-codes: the codes as given, through the whole network.
    Result r = triseg("eval-codes --codes " + all + " -o " + dir_->file("ev.json") + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    const auto ev = read_json(dir_->file("ev.json"));
    for (const char* l : kLayers) {
        const auto& e = ev["layers"][l];
        EXPECT_EQ(e["t1_code"].get<int>(), 2);
        EXPECT_EQ(e["v2_code"].get<int>(), 5);
        EXPECT_GT(e["fraction_changed"].get<double>(), 0.0) << l;
        EXPECT_GE(e["fraction_in_range"].get<double>(), e["fraction_changed"].get<double>()) << l;
    }
    r = triseg("eval-codes --codes " + front + " --point 1 -o " + dir_->file("ev1.json") + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_json(dir_->file("ev1.json"))["acc_student"], ev["acc_student"]);
    EXPECT_EQ(read_json(dir_->file("ev1.json"))["kd_loss"], ev["kd_loss"]);
    r = triseg("eval-codes --codes " + one + " -o " + dir_->file("ev_mixed.json") + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_json(dir_->file("ev_mixed.json"))["layers"]["conv3_1"]["t2_code"].get<int>(), 5);

    // replay: each stored layer through the document's table, checked against the table by hand.
    r = triseg("replay --acts " + acts() + " --codes " + all + " -o " + dir_->file("rp.json"));
    ASSERT_EQ(r.code, 0) << r.output;
    const auto rp = read_json(dir_->file("rp.json"));
    for (const char* l : kLayers) {
        const auto before = rp["layers"][l]["histogram_before"].get<std::vector<int64_t>>();
        const auto after = rp["layers"][l]["histogram_after"].get<std::vector<int64_t>>();
        ASSERT_EQ(before.size(), 256u);
        std::vector<int64_t> want(256, 0);
        for (int c = 0; c < 256; ++c) {
            want[static_cast<size_t>(document_table(c))] += before[static_cast<size_t>(c)];
        }
        EXPECT_EQ(after, want) << l;
        EXPECT_GT(before[4] + before[9], 0) << l << ": the dump does not exercise the table";
    }
    r = triseg("replay --acts " + acts() + " --codes " + one + " -o " + dir_->file("rp1.json"));
    ASSERT_EQ(r.code, 0) << r.output;

    // analyze-sensitivity, both modes: leave-one-out's "all approximated" is eval-codes' student,
    // leave-one-in's row of layer k is the replay of layer k alone.
    r = triseg("analyze-sensitivity --codes " + all + " -o " + dir_->file("out.json") + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    const auto out = read_json(dir_->file("out.json"));
    EXPECT_EQ(out["mode"].get<std::string>(), "leave-one-out");
    EXPECT_NEAR(out["all_approximated"]["acc_student"].get<double>(),
                ev["acc_student"].get<double>(), kPercentTolerance);
    EXPECT_NEAR(out["all_approximated"]["kd_loss"].get<double>(), ev["kd_loss"].get<double>(),
                1e-9);
    r = triseg("analyze-sensitivity --mode leave-one-in --codes " + all + " -o " +
               dir_->file("in1.json") + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    const auto in = read_json(dir_->file("in1.json"));
    ASSERT_EQ(in["ranking"].size(), 8u);
    for (const auto& row : in["ranking"]) {
        const auto& l = rp["layers"][row["layer"].get<std::string>()];
        EXPECT_NEAR(row["acc_student"].get<double>(), l["acc_student"].get<double>(),
                    kPercentTolerance)
            << row["layer"];
        EXPECT_NEAR(row["kd_loss"].get<double>(), l["kd_loss"].get<double>(), 1e-9) << row["layer"];
        EXPECT_NEAR(row["fraction_changed"].get<double>(), l["fraction_changed"].get<double>(),
                    1e-12)
            << row["layer"];
    }
    r = triseg("analyze-sensitivity --codes " + one + " -o " + dir_->file("out1.json") + rd());
    ASSERT_EQ(r.code, 0) << r.output;
}

TEST_F(AnalysisCli, BrokenMapsAreRefusedByEveryCommand) {
    struct Case {
        nlohmann::json layer;
        std::string why;
    };
    const std::vector<Case> cases = {
        {layer_codes(6, 2, 5, 5, 12), "t2 must be >= t1 = 6, got 5"},
        {layer_codes(2, 2, 5, 5, 256), "tmax_code must be an integer code in [0, 255], got 256"},
        {layer_codes(2, -1, 5, 5, 12), "v1_code must be an integer code in [0, 255], got -1"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        nlohmann::json doc = read_json(run() + "/codes/evenly-spaced.json");
        doc["layers"]["conv4_1"] = cases[i].layer;
        const std::string file =
            write_json(dir_->file("broken" + std::to_string(i) + ".json"), doc);
        for (const std::string& cmd :
             {"eval-codes --codes " + file + " -o " + dir_->file("b.json") + rd(),
              "replay --acts " + acts() + " --codes " + file + " -o " + dir_->file("b.json"),
              "analyze-sensitivity --codes " + file + " -o " + dir_->file("b.json") + rd(),
              "analyze-sensitivity --mode leave-one-in --codes " + file + " -o " +
                  dir_->file("b.json") + rd()}) {
            const Result r = triseg(cmd);
            EXPECT_EQ(r.code, kInput) << cmd << "\n" << r.output;
            EXPECT_TRUE(contains(r.output, file) && contains(r.output, "conv4_1") &&
                        contains(r.output, cases[i].why))
                << cmd << "\n"
                << r.output;
        }
    }
}

TEST_F(AnalysisCli, ExactReplayReproducesTheTeacher) {
    const std::string out = dir_->file("exact.json");
    const Result r = triseg("replay --acts " + acts() + " -o " + out);
    ASSERT_EQ(r.code, 0) << r.output;
    const auto j = read_json(out);
    const auto eval = read_json(run() + "/int8/eval.json");
    EXPECT_NEAR(j["acc_teacher"].get<double>(), eval["int8"]["accuracy"].get<double>(),
                kPercentTolerance);
    for (const auto& [name, l] : j["layers"].items()) {
        EXPECT_EQ(l["kd_loss"].get<double>(), 0.0) << name;
        EXPECT_EQ(l["agreement"].get<double>(), 100.0) << name;
        EXPECT_EQ(l["fraction_changed"].get<double>(), 0.0) << name;
        EXPECT_EQ(l["histogram_before"], l["histogram_after"]) << name;
    }
}

TEST_F(AnalysisCli, ReplayWithCodes) {
    const std::string codes = run() + "/codes/evenly-spaced.json";
    const Result r = triseg("replay --acts " + acts() + " --codes " + codes);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "code MSE")) << r.output;
    const auto j = read_json(run() + "/acts/replay_evenly-spaced.json");
    double changed = 0.0;
    for (const auto& [name, l] : j["layers"].items()) {
        changed += l["fraction_changed"].get<double>();
        EXPECT_EQ(l["codes"]["tmax_code"].get<int>(), 32) << name;
        EXPECT_EQ(l["histogram_after"][5].get<int64_t>(), 0) << name; // (4, 16] -> 10
    }
    EXPECT_GT(changed, 0.0);
}

TEST_F(AnalysisCli, ClearErrorsForBadDumps) {
    Result r = triseg("replay --acts " + dir_->file("absent.h5"));
    EXPECT_EQ(r.code, kIo);
    r = triseg("replay");
    EXPECT_EQ(r.code, kUsage);
    r = triseg("replay --acts " + run() + "/int8/model.h5");
    EXPECT_EQ(r.code, kInput);
    EXPECT_TRUE(contains(r.output, "format 'triseg-int8-v2', expected 'triseg-acts-v1'"))
        << r.output;
    const std::string cut = dir_->file("cut.h5");
    std::filesystem::copy_file(acts(), cut);
    std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
    r = triseg("replay --acts " + cut);
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, "cut.h5")) << r.output;
    r = triseg("collect-percentiles --acts " + cut + " -o " + dir_->file("x.h5"));
    EXPECT_EQ(r.code, kInput) << r.output;
    r = triseg("dump-acts --kind int4" + rd());
    EXPECT_EQ(r.code, kUsage);
    EXPECT_TRUE(contains(r.output, "int8 or float")) << r.output;
    r = triseg("dump-acts --compression 12" + rd());
    EXPECT_EQ(r.code, kUsage);
}

TEST_F(AnalysisCli, ShardsUnderMpirunEqualASingleDumpBitForBit) {
    const std::string out = dir_->file("mpi/acts.h5");
    const Result r = shell(std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                                       "TRISEG_NO_PROGRESS=1 OMP_WAIT_POLICY=PASSIVE ") +
                           TRISEG_MPIEXEC + " -np 2 --oversubscribe '" + TRISEG_BINARY +
                           "' dump-acts -o " + out + rd());
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "2 rank(s)")) << r.output;
    for (const char* shard : {"acts.shard-0-of-2.h5", "acts.shard-1-of-2.h5"}) {
        EXPECT_TRUE(std::filesystem::exists(dir_->file(std::string("mpi/") + shard))) << shard;
    }
    std::string objects = "/labels /image_index";
    for (const char* l :
         {"conv1_1", "conv2_1", "conv3_1", "conv3_2", "conv4_1", "conv4_2", "conv5_1", "conv5_2"}) {
        objects += std::string(" /acts/") + l;
    }
    std::istringstream names(objects);
    std::string name;
    while (names >> name) {
        const Result d = shell(std::string(TRISEG_H5DIFF) + " '" + acts() + "' '" + out + "' " +
                               name + " " + name);
        EXPECT_EQ(d.code, 0) << name << "\n" << d.output;
    }
    // h5dump follows the virtual datasets of the index too.
    EXPECT_EQ(dump_data(out, "/acts/conv5_2"), dump_data(acts(), "/acts/conv5_2"));
    const Result rep = triseg("replay --acts " + out + " -o " + dir_->file("mpi.json"));
    ASSERT_EQ(rep.code, 0) << rep.output;
    EXPECT_NEAR(read_json(dir_->file("mpi.json"))["acc_teacher"].get<double>(),
                read_json(run() + "/int8/eval.json")["int8"]["accuracy"].get<double>(),
                kPercentTolerance);
}

// -- full disk --------------------------------------------------------------------------------

/// Lines of `text` that contain `needle`.
int count_lines(const std::string& text, const std::string& needle) {
    std::istringstream in(text);
    int n = 0;
    for (std::string line; std::getline(in, line);) {
        n += contains(line, needle) ? 1 : 0;
    }
    return n;
}

/// Runs `command` (which writes `out` on `disk`) with each of `leaves` bytes left free. Each
/// run must succeed, or exit 4 with one error line naming `out` and "no space left" and no
/// HDF5 noise, leaving the previous `out` (a copy of `old`) intact and no temporary file.
/// Returns the free-space amounts that failed.
std::vector<int64_t> sweep_full_disk(triseg::test::SmallDisk& disk,
                                     const std::string& command,
                                     const std::string& out,
                                     const std::string& old,
                                     const std::vector<int64_t>& leaves) {
    std::vector<int64_t> failed;
    const std::string before = triseg::test::file_bytes(old);
    for (const int64_t leave : leaves) {
        std::filesystem::copy_file(old, out, std::filesystem::copy_options::overwrite_existing);
        disk.fill(leave);
        const Result r = triseg(command);
        const std::string at = command + " with " + std::to_string(leave) + " bytes free:\n";
        EXPECT_TRUE(r.code == 0 || r.code == kIo) << at << r.output;
        for (const char* noise : {"HDF5", "infinite loop", "FL,FL", "H5Dclose", "::~"}) {
            EXPECT_FALSE(contains(r.output, noise)) << at << r.output;
        }
        if (r.code == kIo) {
            failed.push_back(leave);
            EXPECT_EQ(count_lines(r.output, "error"), 1) << at << r.output;
            EXPECT_EQ(count_lines(r.output, "no space left on device"), 1) << at << r.output;
            EXPECT_TRUE(contains(r.output, out)) << at << r.output;
            EXPECT_TRUE(triseg::test::file_bytes(out) == before) << at << "old file changed";
        }
        EXPECT_TRUE(disk.temporaries().empty()) << at << disk.temporaries().front();
        disk.fill(int64_t{1} << 40); // empty the filler
    }
    return failed;
}

/// Expects failures at 0 and kH5Reserve / 2 free (creation), at least one failure with the
/// reserve and some more free (during the write), and success with plenty of space.
void expect_every_kind(const std::vector<int64_t>& failed, const std::vector<int64_t>& leaves) {
    ASSERT_GE(failed.size(), 3U);
    EXPECT_EQ(failed[0], 0);
    EXPECT_EQ(failed[1], kH5Reserve / 2);
    EXPECT_GT(failed.back(), kH5Reserve + 4096) << "no failure during the write";
    EXPECT_NE(failed.back(), leaves.back()) << "failed with plenty of space";
}

TEST_F(AnalysisCli, FullDiskIsOneClearErrorForEveryHdf5Writer) {
    triseg::test::SmallDisk disk("24m");
    if (!disk.mounted()) {
        TRISEG_SKIP_UNLESS_REQUIRED(disk.why());
    }
    struct Case {
        std::string command;
        std::string out;
        std::string old;
    };
    const std::string pct = dir_->file("full_disk_pct.h5");
    ASSERT_EQ(triseg("collect-percentiles -o " + pct + rd()).code, 0);
    const std::vector<Case> cases = {
        {"export-int8" + rd() + " -o " + disk.file("model.h5"), disk.file("model.h5"),
         run() + "/int8/model.h5"},
        {"dump-acts" + rd() + " -o " + disk.file("acts.h5"), disk.file("acts.h5"), acts()},
        {"collect-percentiles --acts " + acts() + " -o " + disk.file("pct.h5"), disk.file("pct.h5"),
         pct},
    };
    for (const Case& c : cases) {
        const auto leaves = leaves_for(static_cast<int64_t>(std::filesystem::file_size(c.old)));
        const auto failed = sweep_full_disk(disk, c.command, c.out, c.old, leaves);
        expect_every_kind(failed, leaves);
    }
    // The file written with plenty of space is whole.
    EXPECT_EQ(triseg("replay --acts " + disk.file("acts.h5") + " -o " + dir_->file("fd.json")).code,
              0);
}

TEST_F(AnalysisCli, DamagedShardsOfAShardedDumpAreClearErrors) {
    const std::string dir = dir_->file("shards");
    const auto dump = [&](const std::string& out) {
        const Result r =
            shell(std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                              "TRISEG_NO_PROGRESS=1 OMP_WAIT_POLICY=PASSIVE ") +
                  TRISEG_MPIEXEC + " -np 2 --oversubscribe '" + TRISEG_BINARY + "' dump-acts -o " +
                  out + rd());
        ASSERT_EQ(r.code, 0) << r.output;
    };
    dump(dir + "/a/acts.h5");
    dump(dir + "/b/acts.h5");
    const std::string index = dir + "/a/acts.h5";
    const std::string shard = dir + "/a/acts.shard-1-of-2.h5";
    const std::string good = dir + "/good-shard.h5";
    std::filesystem::copy_file(shard, good);
    const auto restore = [&] {
        std::filesystem::copy_file(good, shard, std::filesystem::copy_options::overwrite_existing);
    };
    const auto expect_refused = [&](const std::string& what, const std::string& needle) {
        for (const std::string& cmd :
             {"replay --acts " + index + " -o " + dir + "/r.json",
              "collect-percentiles --acts " + index + " -o " + dir + "/p.h5"}) {
            const Result r = triseg(cmd);
            EXPECT_EQ(r.code, kInput) << what << ": " << cmd << "\n" << r.output;
            EXPECT_TRUE(contains(r.output, shard)) << what << "\n" << r.output;
            EXPECT_TRUE(contains(r.output, "dump-acts")) << what << "\n" << r.output;
            EXPECT_TRUE(contains(r.output, needle)) << what << "\n" << r.output;
        }
    };
    ASSERT_EQ(triseg("replay --acts " + index + " -o " + dir + "/r.json").code, 0);

    std::filesystem::resize_file(shard, std::filesystem::file_size(shard) * 2 / 3);
    expect_refused("cut short", "damaged or incomplete");
    restore();

    std::filesystem::resize_file(shard, 0);
    expect_refused("empty file", "damaged or incomplete");
    restore();

    const hid_t empty = H5Fcreate(shard.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(empty, 0);
    ASSERT_GE(H5Fclose(empty), 0);
    expect_refused("empty HDF5 file", "not a triseg activation dump");
    restore();

    std::filesystem::copy_file(dir + "/b/acts.shard-1-of-2.h5", shard,
                               std::filesystem::copy_options::overwrite_existing);
    expect_refused("shard of another dump", "another dump");
    restore();
    ASSERT_EQ(triseg("replay --acts " + index + " -o " + dir + "/r.json").code, 0);
}

} // namespace
