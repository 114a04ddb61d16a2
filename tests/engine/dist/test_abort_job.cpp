// abort_job under real mpirun: a failure on one rank ends every rank; nothing hangs.
#include <gtest/gtest.h>

#include <string>

#include "tests/cli/cli_runner.h"

namespace triseg::test {
namespace {

TEST(AbortJob, AFailureOnOneRankEndsTheWholeJobWithItsMessage) {
    // `timeout` turns a hang into exit code 124, which the test rejects.
    const auto r = shell(std::string("timeout 120 mpirun -np 2 '") + TRISEG_ABORT_HELPER + "'");
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_NE(r.code, 124) << "the job hung: " << r.output;
    EXPECT_TRUE(contains(r.output, "triseg test [rank 1 of 2]: error: a corrupt shard"))
        << r.output;
}

TEST(AbortJob, AFailedMpiCallOnOneRankPrintsTheRankAndMpiErrorAndEndsTheJob) {
    // Before: MpiCluster threw an MpiError on rank 1 only, and rank 0 waited in the gather.
    const auto r =
        shell(std::string("timeout 120 mpirun -np 2 '") + TRISEG_ABORT_HELPER + "' mpi-call");
    EXPECT_EQ(r.code, 5) << r.output; // MpiError's exit code through MPI_Abort
    EXPECT_TRUE(contains(r.output, "triseg test [rank 1 of 2]: error: MPI_Gatherv failed: "))
        << r.output;
    EXPECT_TRUE(contains(r.output, "MPI_ERR_TRUNCATE")) << r.output; // MPI's own error text
}

} // namespace
} // namespace triseg::test
