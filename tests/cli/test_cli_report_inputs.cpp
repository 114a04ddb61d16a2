// `triseg report` on JSON of the wrong shape: valid JSON whose values have other types is a
// note naming the file (and line) and the key; the tables show what they can, exit 0.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/shell_quote.h"
#include "tests/cli/cli_runner.h"
#include "tests/io/temp_dir.h"

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
        GTEST_SKIP() << "/usr/bin/python3 lacks matplotlib or h5py (sudo apt-get install "
                        "python3-matplotlib python3-h5py): the --html half needs them";
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

} // namespace
