// `triseg replay`: offline analysis of a stored int8 activation dump (no dataset, no float
// model): what codes do to each layer, and the network replayed from each stored layer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct ReplayArgs {
    std::string acts;         ///< --acts FILE (required)
    std::string codes;        ///< --codes result.json (optional)
    std::string model_file;   ///< --model-file (default: the model the dump names)
    std::string out;          ///< --out FILE (default <dump folder>/replay_<codes>.json)
    double temperature = 2.0; ///< --temperature
    int threads = 0;          ///< --threads (0 = all cores)
    int64_t batch = 256;      ///< --batch
};

void add_replay_options(po::options_description& desc, ReplayArgs& args);
int run_replay(const ReplayArgs& args);
int main_replay(const std::vector<std::string>& args);

} // namespace triseg::cli
