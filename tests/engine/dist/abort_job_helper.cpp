// An MPI program for test_abort_job: rank 1 fails while rank 0 waits for it in a gather.
// No argument: abort_job with a message. "mpi-call": a failed MPI call's return code
// (MPI_ERR_TRUNCATE, as MPI would return it on that rank alone) goes through
// MpiCluster::check_call.
#include <mpi.h>

#include <string>

#include "engine/dist/collective.h"
#include "engine/dist/mpi_cluster.h"

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    triseg::engine::MpiCluster cluster("test");
    if (cluster.rank() == 1) {
        if (mode == "mpi-call") {
            cluster.check_call(MPI_ERR_TRUNCATE, "MPI_Gatherv");
        } else {
            triseg::engine::abort_job(cluster, "test", "a corrupt shard on this rank", 3);
        }
    }
    cluster.gather(triseg::engine::Bytes{1, 2, 3}); // rank 0 would wait here forever
    return 0;
}
