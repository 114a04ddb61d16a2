// `triseg report`: one summary table over one or many run folders, and (--html) figures.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct ReportArgs {
    std::vector<std::string> run_dirs; ///< positional: run folders
    std::string json;                  ///< --json FILE: also write the rows as JSON
    std::string html;                  ///< --html DIR: also write the figures report there
    std::vector<std::string> codes;    ///< --codes FILE: result.json for the codes figure
};

void add_report_options(po::options_description& desc, ReportArgs& args);
int run_report(const ReportArgs& args);
int main_report(const std::vector<std::string>& args);

} // namespace triseg::cli
