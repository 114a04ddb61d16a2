// `triseg report`.
#include "cli/cmd_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include <boost/program_options/parsers.hpp>
#include <boost/program_options/variables_map.hpp>
#include <nlohmann/json.hpp>

#include "cli/report_fields.h"
#include "cli/report_figures.h"
#include "cli/report_fronts.h"
#include "common/error.h"
#include "io/atomic_file.h"
#include "io/jsonl_reader.h"
#include "io/stage_lock.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Summarize run folders in one table: float, QAT and INT8 test accuracy, and for every\n"
    "code evaluation (codes/eval_*.json) the student accuracy, drop and KD loss. Stages a\n"
    "run has not reached are shown as '-'. A second table lists every search\n"
    "(search/*/result.json, and train-ste's ste/*/result.json): method, seed, ranks,\n"
    "evaluations, wall time, held-out drop, and\n"
    "the test-set drop and KD loss when eval_test.json is there; then the comparison: per\n"
    "method the mean and sample sd over seeds of the test drop, test KD and held-out drop,\n"
    "with mean evaluations, int8 MACs and wall time, and the run's fixed code sets\n"
    "(codes/eval_*.json: evenly spaced, Lloyd-Max) as reference lines. Searches without a\n"
    "result.json yet (running, stopped or interrupted) are listed with their progress from\n"
    "history.jsonl; a last history line cut short by a killed writer is skipped with a note.\n"
    "Last, the fronts on the test set: every point measured on it (a search folder's\n"
    "eval_test.json, and every point of its eval_front_test.json from `eval-codes\n"
    "--all-points`), grouped per run by label (the method, +alloc for the allocation space)\n"
    "and seed, pooled over folders (a sweep of approx.tmax); per label the hypervolume of each\n"
    "seed's front in coverage [85%, 99%] x test drop [0, 5] points (1 = the whole box), mean\n"
    "+- sample sd over seeds, and for each pair of labels with 3 or more common seeds the\n"
    "exact paired sign-flip test on the seeds' hypervolume differences. A value of the wrong\n"
    "type (a record that is not an object, a field that is not a number ...) is a note naming\n"
    "the file, line and key, and is shown as '-'.\n\n"
    "With --html DIR it also writes a figures report: DIR/index.html with one SVG and one PNG\n"
    "per figure (search curves with PPO's update statistics, per-layer codes over code\n"
    "histograms, method comparison, sensitivity, activation statistics, nsga2 front, the\n"
    "accuracy-coverage fronts on the test set, STE diagnostics, training curves), drawn by\n"
    "matplotlib (report_html.py: $TRISEG_REPORT_SCRIPT, else the installed\n"
    "<prefix>/share/triseg/report/ beside bin/triseg, else scripts/report/ of the source tree;\n"
    "run with $TRISEG_PYTHON or /usr/bin/python3; needs python3-matplotlib and python3-h5py).\n"
    "Figures whose files are missing are listed in the page with the command that makes\n"
    "them. Run folders may be sweep folders (folders of run folders) for the figures.";

struct SearchRow {
    std::string run;
    std::string name;
    std::string folder; ///< search/<name> or ste/<name> of `run`
    nlohmann::json result;
    nlohmann::json test; ///< eval_test.json (eval-codes on the test set), or null
};

/// A search folder without result.json yet: its progress so far, from history.jsonl.
struct UnfinishedSearch {
    std::string run;
    std::string name;
    int64_t episodes = 0;
    double best_kd = 0.0; ///< lowest reward-set KD loss of an episode (when episodes > 0)
};

/// Most bytes of one JSON file the report reads (a front.json of many points is a few MB).
constexpr size_t kMaxReportJson = size_t{64} << 20;

/// `file` parsed, or null when it does not exist. @throws InputError when it is corrupt.
nlohmann::json read_json(const std::string& file) {
    if (!io::file_exists(file)) {
        return nullptr;
    }
    try {
        return nlohmann::json::parse(io::read_file(file, "JSON file", kMaxReportJson));
    } catch (const nlohmann::json::exception& e) {
        TRISEG_THROW(InputError, "'" << file << "' is not valid JSON: " << e.what());
    }
}

std::string percent(const std::optional<double>& v);

/// A fixed code set evaluated on the test set (codes/eval_<name>.json): a reference line.
struct Reference {
    std::string name;
    double acc_drop = 0.0;
    double kd_loss = 0.0;
};

/// Mean and (sample) standard deviation of `v`, "-" when empty.
std::string mean_std(const std::vector<double>& v) {
    if (v.empty()) {
        return "-";
    }
    double m = 0.0;
    for (double x : v) {
        m += x;
    }
    m /= static_cast<double>(v.size());
    double var = 0.0;
    for (double x : v) {
        var += (x - m) * (x - m);
    }
    const double sd = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0.0;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f +- %.2f", m, sd);
    return buf;
}

/// Progress of an unfinished search from its history (a torn last line skipped, with a note).
UnfinishedSearch
read_progress(const std::string& dir, const std::string& name, const std::string& history) {
    const auto log = io::read_jsonl(history);
    if (log.torn_bytes > 0) {
        std::printf("note: skipped the last %llu bytes of %s: a record cut short (its writer was "
                    "killed, or is writing it now)\n",
                    static_cast<unsigned long long>(log.torn_bytes), history.c_str());
    }
    UnfinishedSearch u{dir, name, 0, 0.0};
    for (size_t i = 0; i < log.records.size(); ++i) {
        const ReportFields r(log.records[i], history, log.lines[i]);
        if (r.string("type") != "episode") {
            continue;
        }
        if (const auto kd = r.number("kd_loss")) {
            u.best_kd = u.episodes == 0 ? *kd : std::min(u.best_kd, *kd);
            ++u.episodes;
        }
    }
    return u;
}

/// Every search/<name>/result.json of `dir`, then every ste/<name>/result.json (train-ste,
/// named "ste/<name>"), sorted by name; search folders with only a history go to
/// `unfinished`.
std::vector<SearchRow> find_searches(const std::string& dir,
                                     std::vector<UnfinishedSearch>& unfinished) {
    std::vector<SearchRow> out;
    for (const std::string kind : {"search", "ste"}) {
        const std::string root = dir + "/" + kind;
        if (!std::filesystem::is_directory(root)) {
            continue;
        }
        std::vector<std::filesystem::path> folders;
        for (const auto& e : std::filesystem::directory_iterator(root)) {
            if (e.is_directory()) {
                folders.push_back(e.path());
            }
        }
        std::sort(folders.begin(), folders.end());
        const std::string prefix = kind == "ste" ? "ste/" : "";
        for (const auto& f : folders) {
            const std::string result = f.string() + "/result.json";
            const std::string history = f.string() + "/history.jsonl";
            const std::string name = prefix + f.filename().string();
            if (io::file_exists(result)) {
                out.push_back({dir, name, f.string(), read_json(result),
                               read_json(f.string() + "/eval_test.json")});
            } else if (kind == "search" && io::file_exists(history)) {
                unfinished.push_back(read_progress(dir, name, history));
            }
        }
    }
    return out;
}

void print_unfinished(const std::vector<UnfinishedSearch>& unfinished, nlohmann::json& rows) {
    if (unfinished.empty()) {
        return;
    }
    std::printf("\n%-28s %-18s %8s %9s  (unfinished: running, stopped or interrupted)\n", "run",
                "search", "episodes", "best KD");
    for (const auto& u : unfinished) {
        char best[32] = "-";
        if (u.episodes > 0) {
            std::snprintf(best, sizeof best, "%.5f", u.best_kd);
        }
        std::printf("%-28s %-18s %8lld %9s\n", u.run.c_str(), u.name.c_str(),
                    static_cast<long long>(u.episodes), best);
        nlohmann::json row = {{"run", u.run}, {"search", u.name}, {"episodes", u.episodes}};
        row["best_kd_loss"] = u.episodes > 0 ? nlohmann::json(u.best_kd) : nlohmann::json();
        rows.push_back(row);
    }
}

/// "12.3M" / "4.56G": a MAC count short enough for a table.
std::string short_count(double v) {
    char buf[32];
    if (v >= 1e9) {
        std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
    } else if (v >= 1e6) {
        std::snprintf(buf, sizeof buf, "%.1fM", v / 1e6);
    } else {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    }
    return buf;
}

double mean_of(const std::vector<double>& v) {
    double m = 0.0;
    for (double x : v) {
        m += x;
    }
    return v.empty() ? 0.0 : m / static_cast<double>(v.size());
}

/// Per method, the values over its seeds.
struct MethodColumn {
    size_t searches = 0;
    std::vector<double> held, test_drop, test_kd, evals, macs, wall;
};

void print_searches(const std::vector<SearchRow>& searches,
                    const std::vector<Reference>& references,
                    nlohmann::json& rows,
                    nlohmann::json& methods_json) {
    if (searches.empty()) {
        return;
    }
    std::printf("\n%-28s %-18s %-8s %4s %5s %6s %8s %9s %9s %6s %9s\n", "run", "search", "method",
                "seed", "ranks", "evals", "wall s", "held-out", "drop", "test", "test KD");
    std::map<std::string, MethodColumn> by_method;
    for (const auto& r : searches) {
        const auto& j = r.result;
        const ReportFields f(j, r.folder + "/result.json");
        const std::string method = f.string("method").value_or("?");
        auto& col = by_method[method];
        ++col.searches;
        const auto drop = f.number("metrics.acc_drop");
        const auto evaluations = f.integer("evaluations");
        const auto wall = f.number("wall_seconds");
        const auto macs = f.number("macs");
        if (drop) {
            col.held.push_back(*drop);
        }
        col.evals.push_back(static_cast<double>(evaluations.value_or(0)));
        col.wall.push_back(wall.value_or(0.0));
        if (macs) {
            col.macs.push_back(*macs);
        }
        const ReportFields t(r.test, r.folder + "/eval_test.json");
        const auto test_drop = t.number("acc_drop");
        const auto test_kd = t.number("kd_loss");
        if (test_drop && test_kd) {
            col.test_drop.push_back(*test_drop);
            col.test_kd.push_back(*test_kd);
        }
        const auto whole = [](const std::optional<int64_t>& v) {
            return v ? std::to_string(*v) : std::string("-");
        };
        std::printf("%-28s %-18s %-8s %4s %5s %6s %8s %9s %8s%s %6s %9s\n", r.run.c_str(),
                    r.name.c_str(), method.c_str(), whole(f.integer("seed")).c_str(),
                    whole(f.integer("ranks")).c_str(), whole(evaluations).c_str(),
                    fixed(wall, 1).c_str(), percent(f.number("metrics.acc_student")).c_str(),
                    fixed(drop, 2).c_str(), f.boolean("constraint_met").value_or(true) ? " " : "!",
                    fixed(test_drop, 2).c_str(), fixed(test_kd, 5).c_str());
        rows.push_back({{"run", r.run}, {"search", r.name}, {"result", j}, {"test", r.test}});
    }
    std::printf("(held-out: student accuracy on the search's held-out subset; drop in points; "
                "'!' = no candidate met approx.max_acc_drop; test, test KD: eval_test.json, the "
                "full test set)\n");
    // The comparison over seeds: one line per method, then the fixed code sets as references.
    std::printf("\n%-14s %5s %-16s %-18s %-16s %7s %8s %8s\n", "method", "seeds", "test drop",
                "test KD", "held-out drop", "evals", "MACs", "wall s");
    for (const auto& [method, c] : by_method) {
        const std::string kd = c.test_kd.empty() ? "-" : [&] {
            std::vector<double> scaled;
            for (double v : c.test_kd) {
                scaled.push_back(v * 1000.0);
            }
            return mean_std(scaled) + "e-3";
        }();
        std::printf("%-14s %5zu %-16s %-18s %-16s %7.0f %8s %8.1f\n", method.c_str(), c.searches,
                    mean_std(c.test_drop).c_str(), kd.c_str(), mean_std(c.held).c_str(),
                    mean_of(c.evals), c.macs.empty() ? "-" : short_count(mean_of(c.macs)).c_str(),
                    mean_of(c.wall));
        methods_json.push_back({{"method", method},
                                {"searches", c.searches},
                                {"test_drop", c.test_drop},
                                {"test_kd_loss", c.test_kd},
                                {"holdout_drop", c.held},
                                {"evaluations", c.evals},
                                {"macs", c.macs},
                                {"wall_seconds", c.wall}});
    }
    for (const auto& ref : references) {
        char kd[32];
        std::snprintf(kd, sizeof kd, "%.2fe-3", ref.kd_loss * 1000.0);
        std::printf("%-14s %5s %-16.2f %-18s %-16s %7s %8s %8s\n", ("= " + ref.name).c_str(), "-",
                    ref.acc_drop, kd, "-", "0", "-", "-");
    }
    std::printf(
        "(mean +- sample sd over seeds; test columns need each search's eval_test.json; "
        "'= name': a fixed code set's codes/eval_<name>.json on the test set, for "
        "reference; MACs: int8 multiply-accumulates the search executed, where recorded)\n");
}

std::string percent(const std::optional<double>& v) {
    return v ? fixed(v, 2) + "%" : "-";
}

/// The evaluations of run folder `dir`, printed as its lines of the first table; its row of the
/// JSON rows. Fixed code sets evaluated on the test set are added to `references`.
nlohmann::json print_run(const std::string& dir, std::vector<Reference>& references) {
    const auto fl = read_json(dir + "/float/metrics.json");
    const auto qat = read_json(dir + "/qat/metrics.json");
    const auto int8 = read_json(dir + "/int8/eval.json");
    nlohmann::json row = {{"run", dir}, {"float", fl}, {"qat", qat}, {"int8", int8}};
    const std::string fl_acc =
        percent(ReportFields(fl, dir + "/float/metrics.json").number("test_acc"));
    const std::string qat_acc =
        percent(ReportFields(qat, dir + "/qat/metrics.json").number("test_acc"));
    const std::string int8_acc =
        percent(ReportFields(int8, dir + "/int8/eval.json").number("int8.accuracy"));
    std::vector<std::filesystem::path> evals;
    if (std::filesystem::is_directory(dir + "/codes")) {
        for (const auto& e : std::filesystem::directory_iterator(dir + "/codes")) {
            const auto name = e.path().filename().string();
            if (name.rfind("eval_", 0) == 0 && e.path().extension() == ".json") {
                evals.push_back(e.path());
            }
        }
    }
    std::sort(evals.begin(), evals.end());
    row["codes"] = nlohmann::json::object();
    if (evals.empty()) {
        std::printf("%-28s %8s %8s %8s %-22s %8s %7s %9s\n", dir.c_str(), fl_acc.c_str(),
                    qat_acc.c_str(), int8_acc.c_str(), "-", "-", "-", "-");
    }
    for (size_t i = 0; i < evals.size(); ++i) {
        const auto e = read_json(evals[i].string());
        const ReportFields f(e, evals[i].string());
        const std::string name = evals[i].stem().string().substr(5);
        row["codes"][name] = e;
        const auto split = f.string("split").value_or("test"); // "fashion-mnist/test"
        const auto drop = f.number("acc_drop");
        const auto kd = f.number("kd_loss");
        if (drop && kd && split.size() >= 4 && split.compare(split.size() - 4, 4, "test") == 0) {
            references.push_back({name, *drop, *kd});
        }
        std::printf("%-28s %8s %8s %8s %-22s %8s %7s %9s\n", i == 0 ? dir.c_str() : "",
                    i == 0 ? fl_acc.c_str() : "", i == 0 ? qat_acc.c_str() : "",
                    i == 0 ? int8_acc.c_str() : "", name.c_str(),
                    percent(f.number("acc_student")).c_str(), fixed(drop, 2).c_str(),
                    fixed(kd, 5).c_str());
    }
    return row;
}

} // namespace

void add_report_options(po::options_description& desc, ReportArgs& args) {
    auto add = desc.add_options();
    add("run-dir,r", po::value(&args.run_dirs)->composing()->value_name("DIR"),
        "run folder (repeatable; plain arguments are run folders too)");
    add("json", po::value(&args.json)->value_name("FILE"),
        "also write the rows as JSON: {\"runs\": [...], \"searches\": [...], \"methods\": [...], "
        "\"unfinished\": [...], \"fronts\": {...}} (docs/files.md, Report rows)");
    add("html", po::value(&args.html)->value_name("DIR"),
        "also write the figures report into DIR (index.html, <figure>.svg and .png, "
        "report.json; docs/files.md, Report folder)");
    add("codes", po::value(&args.codes)->composing()->value_name("FILE"),
        "with --html: a result.json to draw in the per-layer codes figure (repeatable; default: "
        "the best search by test drop)");
}

int run_report(const ReportArgs& args) {
    TRISEG_CHECK(!args.run_dirs.empty(), ConfigError,
                 "give at least one run folder, e.g. `triseg report runs/fmnist-vgg16`");
    nlohmann::json rows = nlohmann::json::array();
    std::vector<SearchRow> searches;
    std::vector<UnfinishedSearch> unfinished;
    std::vector<Reference> references; // codes/eval_*.json on the test set
    TRISEG_CHECK(args.codes.empty() || !args.html.empty(), ConfigError,
                 "--codes only selects what the figures report draws; add --html DIR");
    for (const auto& c : args.codes) {
        TRISEG_CHECK(io::file_exists(c), IoError, "codes file '" << c << "' does not exist");
    }
    std::optional<io::StageLock> lock;
    if (!args.json.empty()) {
        lock.emplace(args.json, io::StageLock::Scope::File, "report");
    }
    std::optional<io::StageLock> html_lock;
    if (!args.html.empty()) {
        html_lock.emplace(args.html, io::StageLock::Scope::Folder, "report");
    }
    std::printf("%-28s %8s %8s %8s %-22s %8s %7s %9s\n", "run", "float", "qat", "int8", "codes",
                "student", "drop", "KD loss");
    for (const auto& dir : args.run_dirs) {
        TRISEG_CHECK(std::filesystem::is_directory(dir), IoError,
                     "run folder '" << dir << "' does not exist");
        rows.push_back(print_run(dir, references));
        const auto found = find_searches(dir, unfinished);
        searches.insert(searches.end(), found.begin(), found.end());
    }
    nlohmann::json search_rows = nlohmann::json::array();
    nlohmann::json method_rows = nlohmann::json::array();
    print_searches(searches, references, search_rows, method_rows);
    nlohmann::json unfinished_rows = nlohmann::json::array();
    print_unfinished(unfinished, unfinished_rows);
    std::vector<FrontSource> front_sources;
    for (const auto& s : searches) {
        front_sources.push_back(
            {s.run, s.folder, s.result, s.test, read_json(s.folder + "/eval_front_test.json")});
    }
    const nlohmann::json fronts = report_fronts(front_sources);
    rows = {{"runs", rows},
            {"searches", search_rows},
            {"methods", method_rows},
            {"unfinished", unfinished_rows},
            {"fronts", fronts}};
    if (!args.json.empty()) {
        io::write_file_atomic(args.json, rows.dump(2) + "\n");
        std::printf("wrote %s\n", args.json.c_str());
    }
    if (!args.html.empty()) {
        const std::string rows_file = args.html + "/report.json";
        io::write_file_atomic(rows_file, rows.dump(2) + "\n");
        write_figures_report({args.html, args.run_dirs, rows_file, args.codes});
    }
    return 0;
}

int main_report(const std::vector<std::string>& argv) {
    ReportArgs args;
    po::options_description desc("Options");
    add_report_options(desc, args);
    desc.add_options()("help,h", "show this help and exit");
    po::positional_options_description pos;
    pos.add("run-dir", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argv).options(desc).positional(pos).run(), vm);
        if (vm.count("help")) {
            std::printf("Usage: triseg report [options] RUN_DIR...\n\n%s\n\n", kSummary);
            std::cout << desc << "\n";
            return 0;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        TRISEG_THROW(ConfigError, "triseg report: " << e.what() << "; see `triseg report --help`");
    }
    return run_report(args);
}

} // namespace triseg::cli
