// `triseg verify`: recompute every hash a run folder recorded and every file checksum.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct VerifyArgs {
    ConfigArgs config;
    bool quiet = false; ///< --quiet: print only what changed and the summary
};

void add_verify_options(po::options_description& desc, VerifyArgs& args);
/// @returns 0 when everything matches; throws InputError (exit 3) after listing what changed.
int run_verify(const VerifyArgs& args);
int main_verify(const std::vector<std::string>& args);

} // namespace triseg::cli
