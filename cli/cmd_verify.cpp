// `triseg verify`.
#include "cli/cmd_verify.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/config/resume_key.h"
#include "cli/run_dir.h"
#include "common/error.h"
#include "io/atomic_file.h"
#include "io/content_hash.h"
#include "io/dataset_factory.h"
#include "io/h5_activations.h"
#include "io/h5_int8_model.h"
#include "io/h5_percentiles.h"
#include "io/h5_search_checkpoint.h"
#include "search/driver/driver_checkpoint.h"

namespace triseg::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kSummary =
    "Check a run folder against what its stages recorded, without changing anything: every\n"
    "dataset file against the SHA-256s that train-float, train-qat, train-ste and each search\n"
    "recorded; float/model.pt against qat/input.json; int8/model.h5 against each search\n"
    "checkpoint, each train-ste folder and each int8 activation dump; and the checksums\n"
    "(Fletcher32, metadata_sha256) of every HDF5 file, reading each dataset whole. Prints one\n"
    "line per check (ok, CHANGED, DAMAGED) and exits 3 when anything changed or is damaged.\n"
    "The checksums catch accidents; the recorded SHA-256s tell whether an input is the one a\n"
    "stage used (docs/files.md, \"Shared folders: the threat model\").";

/// Rows of one activation layer read per call while verifying a dump's checksums.
constexpr int64_t kRowsPerRead = 256;

struct Report {
    bool quiet = false;
    int checks = 0;
    int failed = 0;

    void line(const char* status, const std::string& what, const std::string& detail = {}) {
        ++checks;
        const bool bad = std::string(status) != "ok";
        failed += bad ? 1 : 0;
        if (bad || !quiet) {
            std::printf("%-8s %s%s%s\n", status, what.c_str(), detail.empty() ? "" : ": ",
                        detail.c_str());
        }
    }
    /// Runs `check`; an Error it throws is a DAMAGED line with the message.
    void guarded(const std::string& what, const std::function<void()>& check) {
        try {
            check();
        } catch (const Error& e) {
            line("DAMAGED", what, e.what());
        }
    }
};

std::string relative(const RunDir& run, const std::string& path) {
    return fs::path(path).lexically_relative(run.path()).string();
}

/// Compares recorded dataset lines with the current files.
void check_data(Report& report,
                const std::string& what,
                const std::vector<std::string>& recorded,
                const std::vector<std::string>& now) {
    if (recorded == now) {
        report.line("ok", what, std::to_string(now.size()) + " dataset files");
        return;
    }
    for (size_t i = 0; i < std::max(recorded.size(), now.size()); ++i) {
        if (i >= recorded.size() || i >= now.size() || recorded[i] != now[i]) {
            const std::string& l = i < now.size() ? now[i] : recorded[i];
            report.line("CHANGED", what,
                        "dataset file '" + l.substr(0, l.find(' ')) +
                            "' differs from the one recorded");
            return;
        }
    }
}

std::string sha_or_empty(const std::string& path) {
    return io::file_exists(path) ? io::sha256_file(path) : std::string();
}

void check_model_sha(Report& report,
                     const std::string& what,
                     const std::string& recorded,
                     const std::string& now,
                     const std::string& model) {
    if (now.empty()) {
        report.line("missing", what, model + " does not exist");
    } else if (recorded == now) {
        report.line("ok", what, model);
    } else {
        report.line("CHANGED", what,
                    model + " is not the model it recorded (SHA-256 " + recorded.substr(0, 12) +
                        "..., now " + now.substr(0, 12) + "...)");
    }
}

/// Reads every row of every layer (Fletcher32 of every chunk) and the labels.
void read_whole_dump(const io::ActsReader& dump) {
    const auto& h = dump.header();
    dump.labels();
    dump.image_indices();
    for (size_t l = 0; l < h.layers.size(); ++l) {
        const auto size = static_cast<size_t>(h.layers[l].size());
        std::vector<uint8_t> codes;
        std::vector<float> floats;
        for (int64_t first = 0; first < h.images; first += kRowsPerRead) {
            const int64_t n = std::min(kRowsPerRead, h.images - first);
            if (h.kind == io::ActsKind::Int8) {
                codes.resize(static_cast<size_t>(n) * size);
                dump.read_codes(l, first, n, codes.data());
            } else {
                floats.resize(static_cast<size_t>(n) * size);
                dump.read_floats(l, first, n, floats.data());
            }
        }
    }
}

std::vector<std::string> sorted_entries(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        out.push_back(it->path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> json_lines(const std::string& path, const char* key) {
    const auto j = nlohmann::json::parse(io::read_file(path, "", io::kMaxSmallFileBytes));
    return j.contains(key) ? j.at(key).get<std::vector<std::string>>() : std::vector<std::string>{};
}

} // namespace

void add_verify_options(po::options_description& desc, VerifyArgs& args) {
    add_config_options(desc, args.config);
    desc.add_options()("quiet,q", po::bool_switch(&args.quiet),
                       "print only what changed or is damaged, and the summary");
}

int run_verify(const VerifyArgs& args) {
    const RunDir run(args.config);
    const auto& cfg = run.config();
    Report report;
    report.quiet = args.quiet;
    std::vector<std::string> data_now;
    report.guarded("dataset", [&] {
        const auto data = io::load_dataset(cfg.data, static_cast<uint64_t>(cfg.runtime.seed));
        data_now = io::source_lines(data.sources);
    });
    const std::string int8_model = run.file(RunDir::kInt8Model);
    const std::string int8_sha = sha_or_empty(int8_model);

    for (const char* stage : {"float", "qat"}) {
        const std::string record = run.file(std::string(stage) + "/input.json");
        if (!io::file_exists(record)) {
            continue;
        }
        const std::string what = std::string(stage) + "/input.json";
        report.guarded(what, [&] {
            const auto j = nlohmann::json::parse(io::read_file(record, "", io::kMaxSmallFileBytes));
            if (j.contains("data")) {
                check_data(report, what, j.at("data").get<std::vector<std::string>>(), data_now);
            }
            if (j.contains("sha256")) {
                const std::string input = j.at("file").get<std::string>();
                check_model_sha(report, what, j.at("sha256").get<std::string>(),
                                sha_or_empty(run.file(input)), input);
            }
        });
    }
    if (io::file_exists(int8_model)) {
        report.guarded(RunDir::kInt8Model, [&] {
            io::read_int8_model(int8_model);
            report.line("ok", RunDir::kInt8Model, "checksums");
        });
    }
    for (const auto& dir : sorted_entries(run.file("search"))) {
        const std::string checkpoint = dir + "/checkpoint.h5";
        if (!io::file_exists(checkpoint)) {
            continue;
        }
        const std::string what = relative(run, checkpoint);
        report.guarded(what, [&] {
            const auto file = io::read_search_checkpoint(checkpoint);
            report.line("ok", what, "checksums");
            const auto model =
                search::lines_with(file.config_yaml, "# integer model file sha256: ");
            if (!model.empty()) {
                check_model_sha(report, what, model.front(), int8_sha, RunDir::kInt8Model);
            }
            const auto data = search::lines_with(file.config_yaml, kDataFileLine);
            if (!data.empty()) {
                check_data(report, what, data, data_now);
            }
        });
    }
    for (const auto& dir : sorted_entries(run.file("ste"))) {
        if (io::file_exists(dir + "/ste_key.json")) {
            const std::string what = relative(run, dir + "/ste_key.json");
            report.guarded(what, [&] {
                const auto key = nlohmann::json::parse(
                    io::read_file(dir + "/ste_key.json", "", io::kMaxSmallFileBytes));
                check_model_sha(report, what, key.at("int8_model").get<std::string>(), int8_sha,
                                RunDir::kInt8Model);
                check_model_sha(report, what, key.at("qat_model").get<std::string>(),
                                sha_or_empty(run.file("qat/model.pt")), "qat/model.pt");
            });
        }
        if (io::file_exists(dir + "/data.json")) {
            const std::string what = relative(run, dir + "/data.json");
            report.guarded(what, [&] {
                check_data(report, what, json_lines(dir + "/data.json", "data"), data_now);
            });
        }
    }
    for (const auto& path : sorted_entries(run.file("acts"))) {
        const std::string name = fs::path(path).filename().string();
        if (fs::path(path).extension() != ".h5" || name.front() == '.' ||
            io::temporary_pid(name) > 0) {
            continue;
        }
        const std::string what = relative(run, path);
        report.guarded(what, [&] {
            if (name == "percentiles.h5") {
                io::read_percentiles(path);
                report.line("ok", what, "checksums");
                return;
            }
            const io::ActsReader dump(path);
            read_whole_dump(dump);
            report.line("ok", what, "checksums");
            const auto& h = dump.header();
            if (!h.model_sha256.empty()) {
                check_model_sha(report, what, h.model_sha256, sha_or_empty(h.model), h.model);
            }
        });
    }
    std::printf("%d checks, %d changed or damaged\n", report.checks, report.failed);
    TRISEG_CHECK(report.failed == 0, InputError,
                 "'" << run.path() << "': " << report.failed
                     << " check(s) failed (listed above); redo the stages whose inputs changed, "
                        "or use their --force");
    return 0;
}

int main_verify(const std::vector<std::string>& argv) {
    return parse_and_run<VerifyArgs>("verify", kSummary, add_verify_options, run_verify, argv);
}

} // namespace triseg::cli
