// `triseg export-int8`: the QAT network in integer form, written to HDF5.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace triseg::cli {

struct ExportInt8Args {
    ConfigArgs config;
    std::string checkpoint; ///< --checkpoint FILE (default <run-dir>/qat/model.pt)
    std::string out;        ///< --out FILE (default <run-dir>/int8/model.h5)
};

void add_export_int8_options(po::options_description& desc, ExportInt8Args& args);
int run_export_int8(const ExportInt8Args& args);
int main_export_int8(const std::vector<std::string>& args);

} // namespace triseg::cli
