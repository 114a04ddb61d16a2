// `triseg report --html` end to end on a tiny real run: the page and every SVG are well-formed
// XML (xmllint), no figure PNG is blank, and headless Chromium renders index.html with every
// figure loaded (its DOM) into a screenshot that is not blank. Also a partial run, a missing
// matplotlib and a misused option.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/cli_runner.h"
#include "tests/io/temp_dir.h"
#include "tests/require_all.h"

namespace {

using triseg::test::contains;
using triseg::test::Result;
using triseg::test::shell;
using triseg::test::triseg;

constexpr int kUsage = 2;
/// The figures a run with searches (ppo over two seeds, nsga2), test evaluations (nsga2's
/// front with --all-points too), percentiles, a sensitivity analysis and float/QAT training has.
const std::vector<std::string> kFigures = {"search_curves", "comparison",  "nsga2_front",
                                           "test_fronts",   "codes_best",  "codes_methods",
                                           "sensitivity",   "activations", "training"};

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string xmllint() {
    return std::string("'") + TRISEG_XMLLINT + "'";
}

std::string python() {
    return std::string("'") + TRISEG_REPORT_PYTHON + "'";
}

/// One tiny trained, exported run with searches and analyses, made once (independent commands
/// run side by side).
class ReportCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<triseg::test::TempDir>();
        run_ = dir_->file("run");
        const std::string rd = " -r " + run_;
        const std::string search = " -q --episodes 18 --set search.reward_images=64"
                                   " --set search.eval_images=40 --set search.eval_every=6"
                                   " --set search.shard_images=16 --set nsga2.population=8";
        const std::string t = triseg::test::binary() + " ";
        const auto eval_test = [&](const std::string& name) {
            return t + "eval-codes" + rd + " --codes " + run_ + "/search/" + name +
                   "/result.json --out " + run_ + "/search/" + name + "/eval_test.json";
        };
        const std::vector<std::string> steps = {
            // train-float, train-qat, export-int8 and the evenly spaced reference in sequence
            t +
                "train-float -c configs/tiny.yaml --set train.epochs=2 --set data.train_limit=256"
                " --set data.val_size=0 --set data.test_limit=60 -q" +
                rd + " && " + t + "train-qat" + rd +
                " --set qat.epochs=2 --set qat.calibration_batches=2 -q && " + t + "export-int8" +
                rd + " && " + t + "eval-codes --evenly-spaced" + rd,
            // three searches side by side
            "(" + t + "search" + rd + search + " --method ppo -o " + run_ +
                "/search/ppo-seed0) & a=$!; (" + t + "search" + rd + search +
                " --method ppo --set runtime.seed=1 -o " + run_ + "/search/ppo-seed1) & b=$!; (" +
                t + "search" + rd + search + " --method nsga2 -o " + run_ +
                "/search/nsga2-seed0) & c=$!; wait $a && wait $b && wait $c",
            // their test evaluations and the analyses side by side
            "(" + eval_test("ppo-seed0") + ") & a=$!; (" + eval_test("ppo-seed1") + ") & b=$!; (" +
                eval_test("nsga2-seed0") + " && " + t + "eval-codes" + rd + " --codes " + run_ +
                "/search/nsga2-seed0/front.json --all-points) & c=$!; (" + t +
                "collect-percentiles" + rd + ") & d=$!; (" + t + "analyze-sensitivity --heuristic" +
                rd + ") & e=$!; wait $a && wait $b && wait $c && wait $d && wait $e",
        };
        for (const auto& step : steps) {
            const Result r = shell(step + " > /dev/null");
            ASSERT_EQ(r.code, 0) << step << "\n" << r.output;
        }
        report_ = dir_->file("report");
        made_ = triseg("report " + run_ + " --html " + report_);
    }
    static void TearDownTestSuite() { dir_.reset(); }

    static std::unique_ptr<triseg::test::TempDir> dir_;
    static std::string run_;
    static std::string report_; ///< `report run --html report_`, made once
    static Result made_;        ///< its exit code and output
};

std::unique_ptr<triseg::test::TempDir> ReportCli::dir_;
std::string ReportCli::run_;
std::string ReportCli::report_;
Result ReportCli::made_;

TEST_F(ReportCli, HtmlReportIsValidAndEveryFigureRenders) {
    const std::string& out = report_;
    const Result& r = made_;
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "ppo") && contains(r.output, "test drop")) << r.output;
    EXPECT_TRUE(contains(r.output, "report: " + std::to_string(kFigures.size()) + " figures"))
        << r.output;
    // The fronts on the test set: ppo's seeds one point each, nsga2's whole front.
    EXPECT_TRUE(contains(r.output, "Fronts (test set)")) << r.output;
    const std::string index = read_text(out + "/index.html");
    // Well-formed XML (the page is written as polyglot XHTML), and every figure's SVG too.
    Result x = shell(xmllint() + " --noout '" + out + "/index.html'");
    EXPECT_EQ(x.code, 0) << x.output;
    std::string pngs;
    for (const auto& f : kFigures) {
        const std::string svg = out + "/" + f + ".svg";
        ASSERT_TRUE(std::filesystem::exists(svg)) << f << "\n" << r.output;
        x = shell(xmllint() + " --noout '" + svg + "' && head -c 400 '" + svg +
                  "' | grep -q '<svg'");
        EXPECT_EQ(x.code, 0) << svg << "\n" << x.output;
        EXPECT_TRUE(contains(index, "src=\"" + f + ".svg\"")) << f;
        pngs += " '" + out + "/" + f + ".png'";
    }
    // No figure is blank.
    x = shell(python() + " tests/scripts/check_report_images.py" + pngs);
    EXPECT_EQ(x.code, 0) << x.output;
    // The methods table from the same rows as `report --json`, and the fronts table.
    EXPECT_TRUE(contains(index, "<td>nsga2</td>")) << index.substr(0, 3000);
    EXPECT_TRUE(contains(index, "<h2>Fronts (test set)</h2>")) << index.substr(0, 3000);
}

TEST_F(ReportCli, ChromiumRendersEveryFigure) {
    if (shell("command -v chromium").code != 0) {
        TRISEG_SKIP_UNLESS_REQUIRED(
            "chromium is not installed (sudo apt-get install --no-install-recommends "
            "chromium): this test renders index.html in headless Chromium");
    }
    ASSERT_EQ(made_.code, 0) << made_.output;
    const std::string url = "file://" + report_ + "/index.html";
    const std::string chromium = "chromium --headless --no-sandbox --disable-gpu "
                                 "--hide-scrollbars --user-data-dir='" +
                                 dir_->file("chromium-profile") + "' ";
    // One browser run: a screenshot, and the DOM after load with the page's own check (every
    // <img> loaded with a size) as the body's data-images.
    const std::string shot = dir_->file("screenshot.png");
    Result r = shell(chromium + "--window-size=1300,2400 --screenshot='" + shot + "' --dump-dom '" +
                     url + "' 2>/dev/null");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "data-images=\"ok " + std::to_string(kFigures.size()) + "\""))
        << r.output.substr(0, 2000);
    ASSERT_TRUE(std::filesystem::exists(shot)) << r.output.substr(0, 2000);
    r = shell(python() + " tests/scripts/check_report_images.py '" + shot + "'");
    EXPECT_EQ(r.code, 0) << r.output;
}

// A partial run: only float/ and an interrupted search with a torn last history line. The
// report is written, with notes saying what is missing and how to make it; --codes draws a
// chosen result's codes.
TEST_F(ReportCli, PartialRunGivesNotesNotErrors) {
    const std::string part = dir_->file("partial");
    std::filesystem::create_directories(part + "/search/ppo-seed0");
    std::filesystem::copy(run_ + "/float", part + "/float",
                          std::filesystem::copy_options::recursive);
    std::filesystem::copy(run_ + "/config.yaml", part + "/config.yaml");
    {
        std::ofstream h(part + "/search/ppo-seed0/history.jsonl");
        h << read_text(run_ + "/search/ppo-seed0/history.jsonl") << "{\"type\":\"epi";
    }
    const std::string out = dir_->file("report_partial");
    const Result r = triseg("report " + part + " --html " + out + " --codes " + run_ +
                            "/search/ppo-seed1/result.json");
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string index = read_text(out + "/index.html");
    for (const char* needle :
         {"cut short", "triseg collect-percentiles", "analyze-sensitivity",
          "src=\"search_curves.svg\"", "src=\"training.svg\"", "src=\"codes_ppo-seed1.svg\""}) {
        EXPECT_TRUE(contains(index, needle)) << needle << "\n" << index;
    }
    EXPECT_FALSE(std::filesystem::exists(out + "/comparison.svg"));
    EXPECT_EQ(shell(xmllint() + " --noout '" + out + "/index.html'").code, 0);
}

// Without matplotlib (a python3 that ignores site packages) the tables still print and the
// command says how to install it, with exit 2.
TEST_F(ReportCli, MissingMatplotlibSaysHowToInstall) {
    const std::string wrapper = dir_->file("python-without-site");
    {
        std::ofstream w(wrapper);
        w << "#!/bin/sh\nexec " << TRISEG_REPORT_PYTHON << " -S \"$@\"\n";
    }
    std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
    const Result r = shell("TRISEG_PYTHON='" + wrapper + "' " + triseg::test::binary() +
                           " report " + run_ + " --html " + dir_->file("report_nolib"));
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "apt-get install") && contains(r.output, "python3-matplotlib"))
        << r.output;
    EXPECT_TRUE(contains(r.output, "test drop")) << r.output; // the comparison table
}

TEST_F(ReportCli, CodesNeedHtml) {
    const Result r =
        triseg("report " + run_ + " --codes " + run_ + "/search/ppo-seed0/result.json");
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(contains(r.output, "--html")) << r.output;
}

} // namespace
