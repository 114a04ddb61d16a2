// `triseg report --html`: the figures report, drawn by a matplotlib script (scripts/report/).
#pragma once

#include <string>
#include <vector>

namespace triseg::cli {

/// What the figures script draws and where (docs/files.md, "Report folder").
struct FiguresReportArgs {
    std::string out_dir;               ///< report folder: index.html, one SVG and PNG per figure
    std::vector<std::string> run_dirs; ///< run or sweep folders
    std::string rows_json;             ///< `report --json` rows for the page's methods table
    std::vector<std::string> codes;    ///< result.json files for the per-layer codes figure
};

/// The Python interpreter that runs the script: $TRISEG_PYTHON, else Debian's /usr/bin/python3
/// (where apt installs python3-matplotlib), else python3 on PATH.
std::string report_python();

/// Where report_html.py is looked for when $TRISEG_REPORT_SCRIPT is unset, in this order: the
/// installed copy beside the executable (`<exe dir>/../share/triseg/report/`, as
/// `cmake --install` and the Debian package lay it out), then scripts/report/ of the source tree
/// the binary was built from (a build-tree binary).
std::vector<std::string> report_script_candidates();

/// The script: $TRISEG_REPORT_SCRIPT, else the first of report_script_candidates() that exists;
/// empty when none does.
std::string report_script();

/// Runs the script (no shell; its output goes to ours) and waits for it.
/// @throws ConfigError (exit 2) when the interpreter, matplotlib or h5py is missing, saying how
/// to install them; IoError (exit 4) when the script is missing or fails.
void write_figures_report(const FiguresReportArgs& args);

} // namespace triseg::cli
