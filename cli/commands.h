// The table of `triseg` subcommands; each entry parses its own options.
#pragma once

#include <string>
#include <vector>

namespace triseg::cli {

/// One subcommand: `entry` receives the arguments after the command name and returns the
/// exit code (it may also throw triseg::Error, which main maps to an exit code).
struct Command {
    const char* name;
    const char* summary;
    int (*entry)(const std::vector<std::string>& args);
};

/// Every subcommand, in pipeline order.
const std::vector<Command>& commands();

} // namespace triseg::cli
