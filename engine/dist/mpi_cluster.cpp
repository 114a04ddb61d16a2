// MpiCluster over MPI_COMM_WORLD.
#include "engine/dist/mpi_cluster.h"

#include <mpi.h>

#include <climits>
#include <cstdio>
#include <string>
#include <utility>

#include "common/error.h"
#include "engine/dist/collective.h"

namespace triseg::engine {

namespace {

std::string error_text(int rc) {
    char text[MPI_MAX_ERROR_STRING] = {};
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) {
        return "MPI error code " + std::to_string(rc);
    }
    return std::string(text, static_cast<size_t>(len));
}

/// For the calls that start MPI, which every rank makes and sees fail alike.
void check_start(int rc, const char* what) {
    TRISEG_CHECK(rc == MPI_SUCCESS, MpiError, what << " failed: " << error_text(rc));
}

} // namespace

std::string thread_level_name(int level) {
    switch (level) {
    case MPI_THREAD_SINGLE:
        return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED:
        return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED:
        return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE:
        return "MPI_THREAD_MULTIPLE";
    default:
        return "thread level " + std::to_string(level);
    }
}

void check_thread_level(int provided, int required) {
    TRISEG_CHECK(provided >= required, MpiError,
                 "the MPI library provides " << thread_level_name(provided) << ", but triseg needs "
                                             << thread_level_name(required)
                                             << " (MPI calls from the main thread while "
                                                "compute threads run); use an MPI built with "
                                                "thread support");
}

MpiCluster::MpiCluster(std::string command) : command_(std::move(command)) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        int provided = MPI_THREAD_SINGLE;
        check_start(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided),
                    "MPI_Init_thread");
        owns_init_ = true;
        try {
            check_thread_level(provided, MPI_THREAD_FUNNELED);
        } catch (const MpiError&) {
            MPI_Finalize(); // every rank gets the same level: finalize together, then report
            owns_init_ = false;
            throw;
        }
    }
    // (Already initialized by someone else, e.g. a test main: that owner chose the level.)
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check_start(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check_start(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

int MpiCluster::to_int_count(size_t n) {
    if (n > static_cast<size_t>(INT_MAX)) { // seen by this rank alone: end the job
        abort_job(*this, command_.empty() ? "mpi" : command_,
                  "a message of " + std::to_string(n) +
                      " bytes is larger than MPI's int count allows; aborting every rank",
                  static_cast<int>(ExitCode::Mpi));
    }
    return static_cast<int>(n);
}

void MpiCluster::check_call(int rc, const char* what) {
    if (rc == MPI_SUCCESS) {
        return;
    }
    abort_job(*this, command_.empty() ? "mpi" : command_,
              std::string(what) + " failed: " + error_text(rc) + "; aborting every rank",
              static_cast<int>(ExitCode::Mpi));
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
    check_call(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast (size)");
    data.resize(static_cast<size_t>(n));
    if (n > 0) {
        check_call(MPI_Bcast(data.data(), to_int_count(data.size()), MPI_BYTE, 0, MPI_COMM_WORLD),
                   "MPI_Bcast");
    }
}

std::vector<Bytes> MpiCluster::gather(const Bytes& data) {
    const int n = to_int_count(data.size());
    std::vector<int> counts(rank_ == 0 ? static_cast<size_t>(size_) : 0);
    check_call(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD),
               "MPI_Gather (sizes)");
    std::vector<int> displs(counts.size());
    size_t total = 0;
    for (size_t r = 0; r < counts.size(); ++r) {
        displs[r] = to_int_count(total);
        total += static_cast<size_t>(counts[r]);
    }
    Bytes all(total);
    check_call(MPI_Gatherv(data.data(), n, MPI_BYTE, all.data(), counts.data(), displs.data(),
                           MPI_BYTE, 0, MPI_COMM_WORLD),
               "MPI_Gatherv");
    std::vector<Bytes> out;
    for (size_t r = 0; r < counts.size(); ++r) {
        out.emplace_back(all.begin() + displs[r], all.begin() + displs[r] + counts[r]);
    }
    return out;
}

int64_t MpiCluster::all_max(int64_t value) {
    int64_t out = 0;
    check_call(MPI_Allreduce(&value, &out, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD),
               "MPI_Allreduce");
    return out;
}

void MpiCluster::barrier() {
    check_call(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void MpiCluster::abort(int code) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
}

} // namespace triseg::engine
