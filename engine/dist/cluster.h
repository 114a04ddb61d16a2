// Cluster: the few collective operations the search needs, with MPI kept out of view.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace triseg::engine {

/// Bytes exchanged between ranks.
using Bytes = std::vector<uint8_t>;

/// Ranks 0..size()-1 that run the same program. Every function except rank(), size() and
/// abort() is collective: all ranks call it, in the same order.
///
/// Single-rank behaviour (LocalCluster, or MPI with one rank): broadcast leaves the data as
/// it is, gather returns {data}, barrier returns at once, all_max returns its argument.
class Cluster {
public:
    virtual ~Cluster() = default;

    /// This process's rank, 0 .. size()-1.
    virtual int rank() const = 0;
    /// Number of ranks (>= 1).
    virtual int size() const = 0;
    /// "local" or "mpi".
    virtual std::string kind() const = 0;

    /// Rank 0's `data` replaces `data` on every rank (any length).
    /// @throws MpiError when communication fails.
    virtual void broadcast(Bytes& data) = 0;
    /// Rank 0 receives every rank's `data`, in rank order; other ranks receive {}.
    virtual std::vector<Bytes> gather(const Bytes& data) = 0;
    /// The largest `value` over all ranks, returned on every rank.
    virtual int64_t all_max(int64_t value) = 0;
    /// Waits for every rank.
    virtual void barrier() = 0;
    /// Ends every rank of the job at once with exit `code` (after the caller printed why).
    /// Used for errors that only one rank sees, so that no peer waits forever.
    [[noreturn]] virtual void abort(int code) = 0;

    bool is_root() const { return rank() == 0; }
};

/// One process, no communication.
class LocalCluster final : public Cluster {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    std::string kind() const override { return "local"; }
    void broadcast(Bytes&) override {}
    std::vector<Bytes> gather(const Bytes& data) override { return {data}; }
    int64_t all_max(int64_t value) override { return value; }
    void barrier() override {}
    [[noreturn]] void abort(int code) override;
};

/// True when this process was started by an MPI launcher (mpirun/mpiexec, or srun with a
/// PMI/PMIx plugin): one of OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK, PMI_SIZE is set.
bool launched_by_mpi();

/// This process's rank as the launcher announces it in the environment (OMPI_COMM_WORLD_RANK,
/// PMIX_RANK, PMI_RANK or SLURM_PROCID), before MPI starts; 0 when none is set. Used to
/// print command-line errors once instead of once per rank.
int launcher_rank();

/// How `make_cluster` chooses.
enum class ClusterKind { Auto, Local, Mpi };

/// Parses "auto", "local" or "mpi". @throws ConfigError listing the allowed values.
ClusterKind parse_cluster_kind(const std::string& text, const std::string& key);

/// Refuses a world of one process that SLURM started as one task of several: `srun -n N`
/// without a PMI plugin for MPI (no `--mpi=pmix`, or slurm.conf's MpiDefault=none) starts N
/// independent single-rank programs that would all write the same files. Reads
/// SLURM_STEP_NUM_TASKS (set by srun for the tasks of a step, not in a batch script) and
/// SLURM_PROCID; a process started by mpirun (OMPI_COMM_WORLD_SIZE set) is left alone.
/// @throws MpiError naming the task, the task count and the fix (`srun --mpi=pmix`).
void check_slurm_world(int world_size);

/// Auto = MPI when launched_by_mpi(), else local. Initializes MPI for the Mpi kind; it is
/// finalized when the returned object is destroyed. Then check_slurm_world() for every kind.
/// @param command the subcommand, for messages of errors seen by one rank.
/// @throws MpiError when MPI fails to start, or srun started several tasks of a world of one.
std::unique_ptr<Cluster> make_cluster(ClusterKind kind, const std::string& command = "");

} // namespace triseg::engine
