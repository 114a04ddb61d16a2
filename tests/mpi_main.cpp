// GoogleTest main for MPI test binaries: every rank runs every test; rank 0 prints; the
// failure count is summed over ranks so that every rank returns the same exit code.
#include <mpi.h>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    ::testing::InitGoogleTest(&argc, argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0) {
        // Other ranks' failures still count (below) and print their own assertion text.
        auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
        delete listeners.Release(listeners.default_result_printer());
    }
    const int result = RUN_ALL_TESTS();
    int local_failed = result != 0 ? 1 : 0;
    int failed = 0;
    MPI_Allreduce(&local_failed, &failed, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && failed > 0) {
        std::fprintf(stderr, "%d rank(s) had failing tests\n", failed);
    }
    MPI_Finalize();
    return failed > 0 ? 1 : 0;
}
