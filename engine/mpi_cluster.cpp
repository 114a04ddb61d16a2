// MpiCluster over MPI_COMM_WORLD.
#include "engine/mpi_cluster.h"

#include <mpi.h>

#include <climits>
#include <cstdio>
#include <string>

#include "common/error.h"

namespace triseg::engine {

namespace {

void check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) {
        return;
    }
    char text[MPI_MAX_ERROR_STRING] = {};
    int len = 0;
    MPI_Error_string(rc, text, &len);
    TRISEG_THROW(MpiError, what << " failed: " << std::string(text, static_cast<size_t>(len)));
}

int to_int_count(size_t n) {
    TRISEG_CHECK(n <= static_cast<size_t>(INT_MAX), MpiError,
                 "a message of " << n << " bytes is larger than MPI's int count allows");
    return static_cast<int>(n);
}

} // namespace

MpiCluster::MpiCluster() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        int provided = 0;
        check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
        owns_init_ = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

MpiCluster::~MpiCluster() {
    if (owns_init_) {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) {
            MPI_Finalize();
        }
    }
}

void MpiCluster::broadcast(Bytes& data) {
    uint64_t n = data.size();
    check(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast (size)");
    data.resize(static_cast<size_t>(n));
    if (n > 0) {
        check(MPI_Bcast(data.data(), to_int_count(data.size()), MPI_BYTE, 0, MPI_COMM_WORLD),
              "MPI_Bcast");
    }
}

std::vector<Bytes> MpiCluster::gather(const Bytes& data) {
    const int n = to_int_count(data.size());
    std::vector<int> counts(rank_ == 0 ? static_cast<size_t>(size_) : 0);
    check(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD),
          "MPI_Gather (sizes)");
    std::vector<int> displs(counts.size());
    size_t total = 0;
    for (size_t r = 0; r < counts.size(); ++r) {
        displs[r] = to_int_count(total);
        total += static_cast<size_t>(counts[r]);
    }
    Bytes all(total);
    check(MPI_Gatherv(data.data(), n, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE,
                      0, MPI_COMM_WORLD),
          "MPI_Gatherv");
    std::vector<Bytes> out;
    for (size_t r = 0; r < counts.size(); ++r) {
        out.emplace_back(all.begin() + displs[r], all.begin() + displs[r] + counts[r]);
    }
    return out;
}

int64_t MpiCluster::all_max(int64_t value) {
    int64_t out = 0;
    check(MPI_Allreduce(&value, &out, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    return out;
}

void MpiCluster::barrier() {
    check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void MpiCluster::abort(int code) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
}

} // namespace triseg::engine
