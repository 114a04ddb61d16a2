// An MPI program for test_abort_job: rank 1 fails while rank 0 waits for it in a gather.
#include <string>

#include "engine/collective.h"
#include "engine/mpi_cluster.h"

int main() {
    triseg::engine::MpiCluster cluster;
    if (cluster.rank() == 1) {
        triseg::engine::abort_job(cluster, "test", "a corrupt shard on this rank", 3);
    }
    cluster.gather(triseg::engine::Bytes{1, 2, 3}); // rank 0 would wait here forever
    return 0;
}
