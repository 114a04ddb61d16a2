// `triseg report` on JSON of the wrong shape: valid JSON whose values have other types is a
// note naming the file (and line) and the key; the tables show what they can, exit 0. And the
// fronts on the test set from hand-written evaluations: grouping by label and seed across
// folders, hypervolumes, the sign-flip test, old evaluation files and what is left out.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/shell_quote.h"
#include "tests/cli/cli_runner.h"
#include "tests/io/temp_dir.h"
#include "tests/require_all.h"

namespace {

using triseg::test::contains;
using triseg::test::triseg;

void write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
}

TEST(CliReport, ValuesOfTheWrongTypeAreNotesNamingTheFileLineAndKey) {
    triseg::test::TempDir dir;
    const std::string run = dir.file("run");
    write(run + "/config.yaml", "runtime: {seed: 0}\n");
    write(run + "/float/metrics.json", R"({"test_acc": "high"})");
    write(run + "/int8/eval.json", R"({"int8": 5})");
    write(run + "/codes/eval_even.json", R"({"acc_drop": "a", "kd_loss": 0.1, "split": 7})");
    write(run + "/search/ppo-seed0/result.json",
          R"({"method": "ppo", "metrics": "broken", "seed": 1.5, "evaluations": "10"})");
    write(run + "/search/ppo-seed0/eval_test.json", "[1, 2]");
    write(run + "/search/ppo-seed1/result.json",
          R"({"method": "ppo", "seed": 1, "metrics": {"acc_drop": 0.25, "acc_student": 90}})");
    const std::string history = run + "/search/random-seed0/history.jsonl";
    write(history, "5\n\"x\"\n[1]\n{\"type\": \"episode\", \"kd_loss\": \"0.1\"}\n"
                   "{\"type\": \"episode\", \"kd_loss\": 0.2}\n{\"type\": 3}\n");
    auto r = triseg("report " + triseg::shell_quote(run) + " --json " +
                    triseg::shell_quote(dir.file("rows.json")));
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string result = "'" + run + "/search/ppo-seed0/result.json': ";
    for (const std::string& note :
         {"'" + run + "/float/metrics.json': `test_acc` is a string, not a number",
          "'" + run + "/int8/eval.json': `int8` is a number, not an object",
          "'" + run + "/codes/eval_even.json': `acc_drop` is a string, not a number",
          "'" + run + "/codes/eval_even.json': `split` is a number, not a string",
          result + "`metrics` is a string, not an object; its values are shown as '-'",
          result + "`seed` is a fraction, not an integer",
          result + "`evaluations` is a string, not an integer",
          "'" + run + "/search/ppo-seed0/eval_test.json': the file is an array, not a JSON object",
          "line 1 of '" + history +
              "': the record is a number, not a JSON object; the record "
              "is skipped",
          "line 2 of '" + history + "': the record is a string",
          "line 3 of '" + history + "': the record is an array",
          "line 4 of '" + history + "': `kd_loss` is a string, not a number",
          "line 6 of '" + history + "': `type` is a number, not a string"}) {
        EXPECT_TRUE(contains(r.output, "note: " + note)) << note << "\n" << r.output;
    }
    // What is well formed is still tabulated: the other seed, and one episode of the history.
    EXPECT_TRUE(contains(r.output, "0.25")) << r.output;
    EXPECT_TRUE(contains(r.output, "0.20000")) << r.output;

    if (triseg::test::shell("/usr/bin/python3 -c 'import matplotlib, h5py'").code != 0) {
        TRISEG_SKIP_UNLESS_REQUIRED(
            "/usr/bin/python3 lacks matplotlib or h5py (sudo apt-get install "
            "python3-matplotlib python3-h5py): the --html half needs them");
    }
    const std::string out = dir.file("report");
    r = triseg("report " + triseg::shell_quote(run) + " --html " + triseg::shell_quote(out));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_FALSE(contains(r.output, "Traceback")) << r.output;
    std::ifstream in(out + "/index.html");
    const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& needle :
         {"skipped line 1 of " + history + ": the record is a number",
          "line 4 of " + history + ": `kd_loss` is a string, not a number",
          std::string("result.json: `metrics` is a string, not an object"),
          std::string("src=\"search_curves.svg\"")}) {
        EXPECT_TRUE(contains(page, needle)) << needle << "\n" << page;
    }
}

/// The hypervolumes below are sums of a few products of decimals: exact to rounding.
constexpr double kVolumeTolerance = 1e-12;

std::string point(double covered, double drop) {
    return "{\"covered\": " + std::to_string(covered) + ", \"acc_drop\": " + std::to_string(drop) +
           "}";
}

// Three seeds of a tmax sweep of sga (two folders per seed, one point each) and three seeds of
// an nsga2 front in the allocation space (all its points in eval_front_test.json).
TEST(CliReport, FrontsOnTheTestSetPerLabelAndSeedWithHypervolumeAndSignFlipTest) {
    triseg::test::TempDir dir;
    const std::string run = dir.file("run");
    write(run + "/config.yaml", "runtime: {seed: 0}\n");
    for (int seed = 0; seed < 3; ++seed) {
        const std::string s = std::to_string(seed);
        const std::string sga40 = run + "/search/sga-tmax40-seed" + s;
        const std::string sga56 = run + "/search/sga-tmax56-seed" + s;
        write(sga40 + "/result.json", R"({"method": "sga", "seed": )" + s + "}");
        write(sga56 + "/result.json", R"({"method": "sga", "seed": )" + s + "}");
        if (seed == 2) { // written before `covered`: 0.6 of 100 and 1.0 of 300 codes = 0.9
            write(sga40 + "/eval_test.json",
                  R"({"acc_drop": 1.0, "layers": {"conv1_1": {"codes_seen": 100,)"
                  R"( "fraction_in_range": 0.6}, "conv2_1": {"codes_seen": 300,)"
                  R"( "fraction_in_range": 1.0}}})");
        } else {
            write(sga40 + "/eval_test.json", point(0.90, 1.0));
        }
        write(sga56 + "/eval_test.json", point(0.95, 2.0 + 0.5 * seed));
        const std::string nsga2 = run + "/search/nsga2-seed" + s;
        write(nsga2 + "/result.json",
              R"({"method": "nsga2", "space": "allocation", "seed": )" + s + "}");
        write(nsga2 + "/eval_front_test.json",
              R"({"method": "nsga2", "seed": )" + s + R"(, "space": "allocation", "points": [)" +
                  point(0.92, 0.5) + ", " + point(0.97, 1.5) + ", " + point(0.88, 3.0) + "]}");
    }
    // Left out, with a note: no coverage at all; a front point without one.
    write(run + "/search/ppo-seed0/result.json", R"({"method": "ppo", "seed": 0})");
    write(run + "/search/ppo-seed0/eval_test.json", R"({"acc_drop": 1.0})");
    write(run + "/search/random-seed0/result.json", R"({"method": "random", "seed": 0})");
    write(run + "/search/random-seed0/eval_front_test.json",
          R"({"points": [{"acc_drop": 1.0}, )" + point(0.9, 1.0) + "]}");
    const std::string rows = dir.file("rows.json");
    const auto r =
        triseg("report " + triseg::shell_quote(run) + " --json " + triseg::shell_quote(rows));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "Fronts (test set)")) << r.output;
    EXPECT_TRUE(contains(r.output, "note: '" + run +
                                       "/search/ppo-seed0/eval_test.json': left out of the fronts: "
                                       "it has no `covered`"))
        << r.output;
    EXPECT_TRUE(contains(r.output, "note: '" + run +
                                       "/search/random-seed0/eval_front_test.json' point '0': "
                                       "left out of the fronts"))
        << r.output;
    std::ifstream in(rows);
    const auto j = nlohmann::json::parse(in).at("fronts");
    EXPECT_EQ(j.at("box").at("covered"), nlohmann::json({0.85, 0.99}));
    EXPECT_EQ(j.at("box").at("acc_drop"), nlohmann::json({0.0, 5.0}));
    const auto& labels = j.at("labels");
    ASSERT_EQ(labels.size(), 3u) << labels.dump(1); // nsga2+alloc, random, sga
    const auto& nsga2 = labels[0];
    EXPECT_EQ(nsga2.at("label"), "nsga2+alloc");
    EXPECT_EQ(nsga2.at("space"), "allocation");
    EXPECT_EQ(nsga2.at("seeds"), 3);
    EXPECT_EQ(nsga2.at("points"), 9);
    // (0.88, 3) is dominated by (0.92, 0.5); [0.92, 0.97] x [1.5, 5] + [0.85, 0.92] x [0.5, 5]
    // = 0.175 + 0.315 of 0.7.
    EXPECT_NEAR(nsga2.at("hypervolume_mean").get<double>(), 0.7, kVolumeTolerance);
    EXPECT_NEAR(nsga2.at("hypervolume_sd").get<double>(), 0.0, kVolumeTolerance);
    EXPECT_EQ(nsga2.at("per_seed")[0].at("front").size(), 2u);
    EXPECT_EQ(nsga2.at("per_seed")[0].at("points")[2].at("point"), 2);
    EXPECT_EQ(labels[1].at("label"), "random");
    EXPECT_EQ(labels[1].at("points"), 1);
    EXPECT_TRUE(labels[1].at("hypervolume_sd").is_null()); // one seed
    const auto& sga = labels[2];
    EXPECT_EQ(sga.at("label"), "sga");
    EXPECT_EQ(sga.at("space"), "codes"); // no space in result.json
    EXPECT_EQ(sga.at("seeds"), 3);
    EXPECT_EQ(sga.at("points"), 6);
    // Seed s: [0.90, 0.95] x [2 + s / 2, 5] + [0.85, 0.90] x [1, 5] = 0.05 (3 - s / 2) + 0.2.
    const double want[] = {0.35 / 0.7, 0.325 / 0.7, 0.3 / 0.7};
    for (int s = 0; s < 3; ++s) {
        const auto& seed = sga.at("per_seed")[static_cast<size_t>(s)];
        EXPECT_EQ(seed.at("seed"), s);
        EXPECT_NEAR(seed.at("hypervolume").get<double>(), want[s], kVolumeTolerance) << s;
        EXPECT_EQ(seed.at("points").size(), 2u) << s;
    }
    // The old file's coverage, from its layers: 360 of 400 codes.
    EXPECT_EQ(sga.at("per_seed")[2].at("points")[0].at("covered"), 0.9);
    // Mean front of sga: at 0.90 the seeds' best drops are 1, 1, 1; at 0.95 2, 2.5, 3.
    EXPECT_EQ(sga.at("mean_front"), nlohmann::json::parse(R"([{"covered": 0.9, "acc_drop": 1.0},
                                                              {"covered": 0.95, "acc_drop": 2.5}])"));
    // nsga2+alloc beats sga on all three seeds: 2 of the 8 sign patterns are as extreme.
    ASSERT_EQ(j.at("comparisons").size(), 1u) << j.at("comparisons").dump();
    const auto& c = j.at("comparisons")[0];
    EXPECT_EQ(c.at("a"), "nsga2+alloc");
    EXPECT_EQ(c.at("b"), "sga");
    EXPECT_EQ(c.at("seeds"), nlohmann::json({0, 1, 2}));
    EXPECT_EQ(c.at("p_value"), 0.25);
    EXPECT_NEAR(c.at("mean_difference").get<double>(), 0.7 - (0.35 + 0.325 + 0.3) / 2.1,
                kVolumeTolerance);
    EXPECT_TRUE(contains(r.output, "nsga2+alloc      sga                  3")) << r.output;

    if (triseg::test::shell("/usr/bin/python3 -c 'import matplotlib, h5py'").code != 0) {
        TRISEG_SKIP_UNLESS_REQUIRED(
            "/usr/bin/python3 lacks matplotlib or h5py (sudo apt-get install "
            "python3-matplotlib python3-h5py): the --html half needs them");
    }
    const std::string out = dir.file("report");
    const auto h =
        triseg("report " + triseg::shell_quote(run) + " --html " + triseg::shell_quote(out));
    ASSERT_EQ(h.code, 0) << h.output;
    EXPECT_TRUE(std::filesystem::exists(out + "/test_fronts.svg")) << h.output;
    EXPECT_TRUE(std::filesystem::exists(out + "/test_fronts.png")) << h.output;
    std::ifstream page_in(out + "/index.html");
    const std::string page((std::istreambuf_iterator<char>(page_in)),
                           std::istreambuf_iterator<char>());
    for (const std::string needle :
         {"Accuracy-coverage fronts on the test set", "src=\"test_fronts.svg\"",
          "<h2>Fronts (test set)</h2>", "<td>nsga2+alloc</td>", "<td>0.2500</td>"}) {
        EXPECT_TRUE(contains(page, needle)) << needle << "\n" << page;
    }
}

} // namespace
