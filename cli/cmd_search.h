// `triseg search`: distributed search for tri-segment codes (PPO or random) under MPI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct SearchArgs {
    ConfigArgs config;
    std::string method;                ///< --method (overrides search.method)
    std::optional<int64_t> episodes;   ///< --episodes (overrides search.episodes when given)
    std::optional<double> target_drop; ///< --target-drop X (sets search.target_drop)
    std::string init_policy;           ///< --init-policy FILE (sets ppo.init_policy)
    std::string model;                 ///< --model FILE (default <run-dir>/int8/model.h5)
    std::string out;                   ///< --out DIR (default <run-dir>/search/<method>-seed<seed>)
    bool resume = false;               ///< --resume: require a checkpoint to continue from
    bool force = false;                ///< --force: delete the out folder and start over
    std::optional<int64_t> stop_after; ///< --stop-after N >= 1 generations, then exit 0 (resumable)
    std::string cluster = "auto";      ///< --cluster auto|local|mpi
    bool quiet = false;                ///< --quiet: no progress bar, no periodic lines
};

void add_search_options(po::options_description& desc, SearchArgs& args);
int run_search(const SearchArgs& args);
int main_search(const std::vector<std::string>& args);

} // namespace triseg::cli
