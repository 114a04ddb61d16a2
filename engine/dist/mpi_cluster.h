// MpiCluster: Cluster over MPI_COMM_WORLD (the only file that includes <mpi.h> is its .cpp).
#pragma once

#include <cstddef>
#include <string>

#include "engine/dist/cluster.h"

namespace triseg::engine {

/// MPI_COMM_WORLD. Initializes MPI (MPI_THREAD_FUNNELED: only the main thread calls MPI,
/// OpenMP threads compute) unless already initialized, and finalizes it in the destructor
/// when it initialized it. Errors return codes (MPI_ERRORS_RETURN): a failure while starting
/// (every rank sees it) is an MpiError; a failed collective call, which only some ranks may
/// see while their peers wait, prints the rank and MPI's error text and aborts the whole job
/// (Cluster::abort, exit code 5), following the "one rank fails, all end" rule.
class MpiCluster final : public Cluster {
public:
    /// @param command the subcommand for messages ("search"). @throws MpiError when MPI
    /// cannot start or provides a lower thread level than MPI_THREAD_FUNNELED.
    explicit MpiCluster(std::string command = "");
    ~MpiCluster() override;
    MpiCluster(const MpiCluster&) = delete;
    MpiCluster& operator=(const MpiCluster&) = delete;

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    std::string kind() const override { return "mpi"; }
    void broadcast(Bytes& data) override;
    std::vector<Bytes> gather(const Bytes& data) override;
    int64_t all_max(int64_t value) override;
    void barrier() override;
    [[noreturn]] void abort(int code) override;

    /// The handling of every collective call's return code: MPI_SUCCESS returns; anything else
    /// prints "triseg <command> [rank r of n]: error: <what> failed: <MPI error string>" and
    /// aborts the job with exit code 5 (MpiError). Public so that tests can feed it a code.
    void check_call(int rc, const char* what);

private:
    /// `n` as MPI's int count; aborts the job when it does not fit.
    int to_int_count(size_t n);

    int rank_ = 0;
    int size_ = 1;
    bool owns_init_ = false;
    std::string command_;
};

/// Throws MpiError unless the MPI library's `provided` thread level (MPI_THREAD_* value, which
/// the standard orders SINGLE < FUNNELED < SERIALIZED < MULTIPLE) is at least `required`;
/// the message names both levels.
void check_thread_level(int provided, int required);

/// The name of an MPI_THREAD_* level ("MPI_THREAD_FUNNELED"), or the number when unknown.
std::string thread_level_name(int level);

} // namespace triseg::engine
