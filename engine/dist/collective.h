// Errors under MPI: the "all" and "one" contract (as in LAMMPS) on top of Cluster.
#pragma once

#include <functional>
#include <string>

#include "engine/dist/cluster.h"

namespace triseg::engine {

/// Runs `step` on every rank, then lets every rank learn whether any rank failed, so that
/// a failure seen by some ranks only (a file missing on one node) cannot leave the others
/// waiting in the next collective call. When a rank failed, every rank throws: the failing
/// ranks their own error, the others an MpiError naming the first failing rank and its
/// message (rank 0 gets that text through a gather), all with the first failing rank's exit
/// code, so the job's ranks agree on the exit code. Collective.
void run_collectively(Cluster& cluster, const std::function<void()>& step);

/// For a failure only this rank sees inside a loop where its peers wait in collective
/// calls: prints "triseg <command> [rank r]: error: <what>" to stderr and ends the whole job
/// with `code` (Cluster::abort). On a single rank it just prints and exits.
[[noreturn]] void
abort_job(Cluster& cluster, const std::string& command, const std::string& what, int code);

} // namespace triseg::engine
