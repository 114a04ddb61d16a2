// Cluster collectives and the error contract under real mpirun (1, 2, 3 and 4 ranks).
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "engine/collective.h"
#include "engine/mpi_cluster.h"

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

} // namespace
} // namespace triseg::engine
