// RunDir: the folder a pipeline run reads from and writes into, and its config snapshot.
#pragma once

#include <string>
#include <vector>

#include "cli/config/run_config.h"
#include "cli/options.h"

namespace triseg::cli {

/// A run folder:
///
///     <run-dir>/config.yaml         effective config (all keys) of the run
///     <run-dir>/float/              train-float: model.pt, last.pt, metrics.jsonl, metrics.json
///     <run-dir>/float/eval_<split>.json
///     <run-dir>/int8/model.h5       export-int8: the integer model (kInt8Model)
///
/// Invariant: every file in it is written atomically (see io/atomic_file.h).
class RunDir {
public:
    /// Resolves the folder and the effective config of a command:
    /// - the config is --config (+ --set), or else the folder's config.yaml (+ --set);
    /// - the folder is --run-dir, or else runs/<stem of --config>.
    /// @throws ConfigError when neither --config nor a snapshot in --run-dir exists.
    RunDir(const ConfigArgs& args);

    const std::string& path() const { return path_; }
    const cli::RunConfig& config() const { return config_; }

    /// `<run-dir>/<relative>`.
    std::string file(const std::string& relative) const;

    /// Creates `<run-dir>/<stage>` if needed and returns its path.
    std::string stage_dir(const std::string& stage) const;

    /// Parts of the config that finished or started stages depend on.
    enum class Guard { Data, Model, Train, Seed, Qat };

    /// Checks that an existing config.yaml agrees with the effective config on every
    /// `guarded` part, then writes the effective config as the new snapshot (other sections,
    /// e.g. `approx`, may change between commands). A disagreement is a ConfigError that names
    /// the sections and quotes the first differing line, and suggests the fixes.
    void update_snapshot(const std::vector<Guard>& guarded) const;

    static constexpr const char* kSnapshot = "config.yaml";
    /// The integer model export-int8 writes and the integer commands read by default.
    static constexpr const char* kInt8Model = "int8/model.h5";

private:
    std::string path_;
    cli::RunConfig config_;
};

} // namespace triseg::cli
