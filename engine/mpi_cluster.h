// MpiCluster: Cluster over MPI_COMM_WORLD (the only file that includes <mpi.h> is its .cpp).
#pragma once

#include "engine/cluster.h"

namespace triseg::engine {

/// MPI_COMM_WORLD. Initializes MPI (MPI_THREAD_FUNNELED: only the main thread calls MPI,
/// OpenMP threads compute) unless already initialized, and finalizes it in the destructor
/// when it initialized it. Errors return codes (MPI_ERRORS_RETURN) and become MpiError.
class MpiCluster final : public Cluster {
public:
    /// @throws MpiError when MPI cannot start.
    MpiCluster();
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

private:
    int rank_ = 0;
    int size_ = 1;
    bool owns_init_ = false;
};

} // namespace triseg::engine
