// `triseg train-ste`: the supervised STE baseline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct TrainSteArgs {
    ConfigArgs config;
    std::string variant;               ///< --variant original|lsq (sets ste.variant)
    std::string init;                  ///< --init FILE: start from a result.json's codes
    std::string out;                   ///< --out DIR (default <run-dir>/ste/<variant>-seed<N>)
    bool force = false;                ///< --force: discard this folder's earlier training
    bool quiet = false;                ///< --quiet: no progress bar or epoch lines
    std::optional<int64_t> stop_after; ///< --stop-after N: at most N epochs now
};

void add_train_ste_options(po::options_description& desc, TrainSteArgs& args);
int run_train_ste(const TrainSteArgs& args);
int main_train_ste(const std::vector<std::string>& args);

} // namespace triseg::cli
