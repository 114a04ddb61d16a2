// Cluster collectives and the error contract under real mpirun (1, 2, 3 and 4 ranks).
#include <mpi.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "common/error.h"
#include "engine/dist/collective.h"
#include "engine/dist/mpi_cluster.h"

namespace triseg::engine {
namespace {

MpiCluster& world() {
    static MpiCluster cluster;
    return cluster;
}

TEST(MpiCluster, BroadcastReplacesEveryRanksDataWithRootsOfAnyLength) {
    auto& c = world();
    Bytes data(static_cast<size_t>(c.rank() + 3), static_cast<uint8_t>(c.rank()));
    if (c.is_root()) {
        data = {7, 8, 9, 10, 11};
    }
    c.broadcast(data);
    EXPECT_EQ(data, (Bytes{7, 8, 9, 10, 11}));
    Bytes empty;
    if (!c.is_root()) {
        empty = {1, 2};
    }
    c.broadcast(empty);
    EXPECT_TRUE(empty.empty());
}

TEST(MpiCluster, GatherReturnsEveryRanksBytesInRankOrderOnRootOnly) {
    auto& c = world();
    const Bytes mine(static_cast<size_t>(c.rank()), static_cast<uint8_t>(100 + c.rank()));
    const auto all = c.gather(mine);
    if (c.is_root()) {
        ASSERT_EQ(static_cast<int>(all.size()), c.size());
        for (int r = 0; r < c.size(); ++r) {
            EXPECT_EQ(all[static_cast<size_t>(r)],
                      Bytes(static_cast<size_t>(r), static_cast<uint8_t>(100 + r)));
        }
    } else {
        EXPECT_TRUE(all.empty());
    }
}

TEST(MpiCluster, AllMaxAgreesOnEveryRank) {
    auto& c = world();
    EXPECT_EQ(c.all_max(10 * c.rank() - 3), 10 * (c.size() - 1) - 3);
    c.barrier();
}

TEST(RunCollectively, NoFailureReturnsNormally) {
    auto& c = world();
    int calls = 0;
    run_collectively(c, [&] { ++calls; });
    EXPECT_EQ(calls, 1);
}

TEST(RunCollectively, AFailureOnTheLastRankIsThrownOnEveryRankWithItsCode) {
    auto& c = world();
    const int last = c.size() - 1;
    try {
        run_collectively(c, [&] {
            if (c.rank() == last) {
                throw IoError("cannot read shard.h5");
            }
        });
        FAIL() << "expected an error on every rank";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), static_cast<int>(ExitCode::Io));
        EXPECT_NE(std::string(e.what()).find("cannot read shard.h5"), std::string::npos)
            << e.what();
        if (c.rank() != last) {
            EXPECT_NE(std::string(e.what()).find("rank " + std::to_string(last)), std::string::npos)
                << e.what();
        }
    }
}

TEST(RunCollectively, TheLowestFailingRankDecidesTheExitCode) {
    auto& c = world();
    try {
        run_collectively(c, [&] {
            if (c.rank() == 0) {
                throw ConfigError("bad key");
            }
            throw InputError("bad data");
        });
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), static_cast<int>(ExitCode::Usage)) << e.what();
        EXPECT_NE(std::string(e.what()).find("bad key"), std::string::npos) << e.what();
    }
}

TEST(MpiCluster, ThreadLevelBelowFunneledIsRefusedNamingBothLevels) {
    // MPI_Init_thread may return a lower `provided` level than asked for; it used to be ignored.
    EXPECT_NO_THROW(check_thread_level(MPI_THREAD_FUNNELED, MPI_THREAD_FUNNELED));
    EXPECT_NO_THROW(check_thread_level(MPI_THREAD_MULTIPLE, MPI_THREAD_FUNNELED));
    try {
        check_thread_level(MPI_THREAD_SINGLE, MPI_THREAD_FUNNELED);
        ADD_FAILURE() << "MPI_THREAD_SINGLE was accepted";
    } catch (const MpiError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("provides MPI_THREAD_SINGLE"), std::string::npos) << what;
        EXPECT_NE(what.find("needs MPI_THREAD_FUNNELED"), std::string::npos) << what;
    }
}

TEST(MpiCluster, SlurmTasksWithAWorldOfOneAreRefused) {
    // Only the environment matters: a world of one with srun's variables for 2 tasks.
    ::setenv("SLURM_STEP_NUM_TASKS", "2", 1);
    ::setenv("SLURM_PROCID", "1", 1);
    const char* ompi = std::getenv("OMPI_COMM_WORLD_SIZE");
    const std::string saved = ompi ? ompi : "";
    ::unsetenv("OMPI_COMM_WORLD_SIZE");
    EXPECT_THROW(check_slurm_world(1), MpiError);
    EXPECT_NO_THROW(check_slurm_world(2)); // srun with PMIx: MPI sees the tasks
    ::setenv("SLURM_STEP_NUM_TASKS", "1", 1);
    EXPECT_NO_THROW(check_slurm_world(1)); // srun -n 1
    ::setenv("SLURM_STEP_NUM_TASKS", "2", 1);
    ::setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
    EXPECT_NO_THROW(check_slurm_world(1)); // mpirun -np 1 decided the world
    ::unsetenv("SLURM_STEP_NUM_TASKS");
    ::unsetenv("SLURM_PROCID");
    if (ompi) {
        ::setenv("OMPI_COMM_WORLD_SIZE", saved.c_str(), 1);
    } else {
        ::unsetenv("OMPI_COMM_WORLD_SIZE");
    }
}

} // namespace
} // namespace triseg::engine
