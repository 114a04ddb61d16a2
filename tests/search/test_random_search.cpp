// RandomSearch: the four standard algorithm tests.
#include <gtest/gtest.h>

#include "common/error.h"
#include "search/random_search.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

using namespace triseg::search::testing;

CodeSpace space() {
    return CodeSpace{13, 32};
}

TEST(RandomSearch, BadOptionsThrow) {
    EXPECT_THROW(RandomSearch(space(), 0, 0), ConfigError);
    EXPECT_THROW(RandomSearch(CodeSpace{13, 8}, 0, 4), ConfigError);
    EXPECT_THROW(RandomSearch(CodeSpace{0, 32}, 0, 4), ConfigError);
}

TEST(RandomSearch, SameSeedGivesIdenticalHistory) {
    const SensitivityObjective f(space(), 1);
    expect_deterministic([] { return std::make_unique<RandomSearch>(space(), 7, 3); },
                         [] { return std::make_unique<RandomSearch>(space(), 8, 3); }, f, 40);
    RandomSearch a(space(), 7, 3);
    expect_valid(run_history(a, f, 200), space());
}

TEST(RandomSearch, SaveLoadContinueEqualsAnUninterruptedRun) {
    const SensitivityObjective f(space(), 1);
    // 10 is not a multiple of the generation (3): the checkpoint falls after a partial tell.
    expect_resume_equal([] { return std::make_unique<RandomSearch>(space(), 7, 3); }, f, 10, 20);
}

TEST(RandomSearch, GetsCloseOnAToyObjectiveWithManySamples) {
    // Random search does not learn: its best of N only improves slowly with N. On one layer
    // the best of 3000 draws must be within a small distance of the optimum.
    const CodeSpace one{1, 32};
    const SensitivityObjective f(one, 2);
    RandomSearch a(one, 3, 16);
    const auto h = run_history(a, f, 3000);
    EXPECT_LT(best_loss(h), 0.05);
    EXPECT_GT(mean_loss(h, 0, 3000), 0.3); // and its average stays that of random draws
}

TEST(RandomSearch, LoadRejectsAnotherMethodsCheckpoint) {
    RandomSearch a(space(), 1, 2);
    Checkpoint other;
    other.entries["ppo/format"] = "triseg-ppo/1";
    EXPECT_THROW(a.load(other), InputError);
}

} // namespace
} // namespace triseg::search
