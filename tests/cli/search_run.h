// A minimal run folder for CLI search tests: config.yaml and a random int8/model.h5.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/config/config.h"
#include "io/atomic_file.h"
#include "io/h5_int8_model.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {

/// `dir`/run with config.yaml (2000 train / 500 test images, 1 thread) and int8/model.h5, a
/// random VGG-11 of width 0.125 drawn from `model_seed`. Returns the run folder's path.
inline std::string make_search_run(const TempDir& dir, uint64_t model_seed = 3) {
    const std::string run = dir.file("run");
    cli::RunConfig cfg;
    const auto model = random_int8_model(0.125, model_seed);
    cfg.model = model.model;
    cfg.data.train_limit = 2000;
    cfg.data.test_limit = 500;
    cfg.runtime.threads = 1;
    io::ensure_directory(run + "/int8");
    io::write_file_atomic(run + "/config.yaml", cli::to_yaml(cfg));
    io::write_int8_model(model, run + "/int8/model.h5");
    return run;
}

/// A search's result.json without the facts of the run (wall time, ranks, threads), which may
/// differ between runs that must otherwise be identical.
inline nlohmann::json result_without_run_facts(const std::string& path) {
    auto j = nlohmann::json::parse(io::read_file(path));
    j.erase("wall_seconds");
    j.erase("ranks");
    j.erase("threads_per_rank");
    return j;
}

/// The records of one type ("episode", "eval", ...) of a history.jsonl file, in order.
inline std::vector<nlohmann::json> history_lines(const std::string& path, const std::string& type) {
    std::vector<nlohmann::json> out;
    const std::string text = io::read_file(path);
    size_t start = 0;
    while (start < text.size()) {
        const size_t end = text.find('\n', start);
        auto j = nlohmann::json::parse(text.substr(start, end - start));
        if (j.at("type") == type) {
            out.push_back(std::move(j));
        }
        start = end == std::string::npos ? text.size() : end + 1;
    }
    return out;
}

/// Episode records in a history.jsonl text.
inline int64_t episode_lines(const std::string& text) {
    int64_t n = 0;
    for (size_t p = text.find("\"type\":\"episode\""); p != std::string::npos;
         p = text.find("\"type\":\"episode\"", p + 1)) {
        ++n;
    }
    return n;
}

} // namespace triseg::test
