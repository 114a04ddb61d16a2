// Shared command-line plumbing: parsing with --help, the --config/--set/--run-dir trio.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/value_semantic.hpp>

#include "common/option_checks.h"

namespace triseg::cli {

namespace po = boost::program_options;

/// Options every pipeline command takes.
struct ConfigArgs {
    std::string config;            ///< --config FILE
    std::vector<std::string> sets; ///< --set section.key=value (repeatable)
    std::string run_dir;           ///< --run-dir DIR
};

/// A numeric option stored in `out` after a range check in po::notify: a value outside
/// [lo, hi] throws ConfigError "`--name` must be in [lo, hi], got v" (exit 2). Every numeric
/// option of every command goes through this (or `optional_in_range`), so that no value is
/// silently taken to mean something else.
template <typename T> po::typed_value<T>* in_range(T& out, const std::string& name, T lo, T hi) {
    return po::value<T>(&out)->notifier(
        [name, lo, hi](const T& v) { triseg::detail::check_range<T>("--" + name, v, lo, hi); });
}

/// Like `in_range` for an option without a default: `out` stays empty unless it is given.
template <typename T>
po::typed_value<T>* optional_in_range(std::optional<T>& out, const std::string& name, T lo, T hi) {
    return po::value<T>()->notifier([&out, name, lo, hi](const T& v) {
        triseg::detail::check_range<T>("--" + name, v, lo, hi);
        out = v;
    });
}

/// Adds --config, --set and --run-dir to `desc`, writing into `args`.
void add_config_options(po::options_description& desc, ConfigArgs& args);

/// Parses `args` (without the command name) into the variables `desc` points to.
/// Returns false when --help was given (the help text has then been printed).
/// @throws ConfigError for unknown options, missing values, or stray positionals, naming
/// the command and pointing to its --help.
bool parse_command_line(const std::string& command,
                        const std::string& summary,
                        po::options_description& desc,
                        const std::vector<std::string>& args);

/// The body of every `main_<command>`: parse into a fresh Args with `add`, print --help or
/// call `run`.
template <typename Args>
int parse_and_run(const char* command,
                  const char* summary,
                  void (*add)(po::options_description&, Args&),
                  int (*run)(const Args&),
                  const std::vector<std::string>& argv) {
    Args args;
    po::options_description desc("Options");
    add(desc, args);
    if (!parse_command_line(command, summary, desc, argv)) {
        return 0;
    }
    return run(args);
}

} // namespace triseg::cli
