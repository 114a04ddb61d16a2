// Selection rules of the search driver: best reward, held-out candidates, constrained best
// within the drop limit (with kDropSlack), the closest candidate when none meets it, and the
// highest coverage within a target drop, the candidates that reach a coverage target, and no
// best that leaves a layer exact.
#include <gtest/gtest.h>

#include <stdexcept>

#include "search/driver/selection.h"

namespace triseg::search {
namespace {

CodeSet codes(int32_t t1) {
    CodeSet c;
    c.layers.push_back({t1, 0, t1 + 1, 1, 32});
    return c;
}

/// A candidate with codes(id) scored on the held-out subset: student `acc`, teacher `teacher`.
ScoredCodes
scored(int32_t id, double acc, double kd = 1.0, int64_t episode = 0, double teacher = 100.0) {
    ScoredCodes s;
    s.codes = codes(id);
    s.reward.kd_loss = kd;
    Fitness h;
    h.acc_teacher = teacher;
    h.acc_student = acc;
    h.kd_loss = kd;
    s.holdout = h;
    s.episode = episode;
    return s;
}

TEST(Selection, KeepBestRewardTakesOnlyAStrictlyHigherReward) {
    std::optional<ScoredCodes> best;
    keep_best_reward(best, scored(1, 90, 0.5, 0));
    ASSERT_TRUE(best);
    EXPECT_EQ(best->episode, 0);
    keep_best_reward(best, scored(2, 90, 0.5, 1)); // equal reward: the first stays
    EXPECT_EQ(best->episode, 0);
    keep_best_reward(best, scored(3, 90, 0.7, 2)); // lower reward (higher KD)
    EXPECT_EQ(best->episode, 0);
    keep_best_reward(best, scored(4, 90, 0.4, 3));
    EXPECT_EQ(best->episode, 3);
    EXPECT_EQ(best->codes, codes(4));
}

TEST(Selection, KeepBestRewardNeverKeepsCodesThatLeaveALayerExact) {
    std::optional<ScoredCodes> best;
    ScoredCodes partial = scored(1, 99, 0.01, 0);
    partial.codes.layers.push_back(LayerCodes{}); // the identity: PPO's layer curriculum
    keep_best_reward(best, partial);
    EXPECT_FALSE(best);
    keep_best_reward(best, scored(2, 90, 0.5, 1));
    keep_best_reward(best, partial); // a far lower KD, still not a result
    ASSERT_TRUE(best);
    EXPECT_EQ(best->episode, 1);
}

TEST(Selection, HoldoutCandidatesSkipWhatWasScoredAndDuplicates) {
    const std::vector<ScoredCodes> evaluated = {scored(1, 90)};
    std::vector<ScoredCodes> fresh;
    add_holdout_candidate(fresh, evaluated, std::nullopt, "best-reward");
    EXPECT_TRUE(fresh.empty());
    add_holdout_candidate(fresh, evaluated, scored(1, 80), "best-reward"); // scored before
    EXPECT_TRUE(fresh.empty());
    add_holdout_candidate(fresh, evaluated, scored(2, 80), "best-reward");
    add_holdout_candidate(fresh, evaluated, scored(2, 70), "period-best"); // same codes
    add_holdout_candidate(fresh, evaluated, scored(3, 70), "proposal");
    ASSERT_EQ(fresh.size(), 2u);
    EXPECT_EQ(fresh[0].codes, codes(2));
    EXPECT_EQ(fresh[0].source, "best-reward");
    EXPECT_EQ(fresh[1].codes, codes(3));
    EXPECT_EQ(fresh[1].source, "proposal");
}

TEST(Selection, FindScoredReturnsTheLastEntryWithTheCodes) {
    const std::vector<ScoredCodes> evaluated = {scored(1, 90, 1, 4), scored(2, 90),
                                                scored(1, 80, 1, 9)};
    ASSERT_NE(find_scored(evaluated, codes(1)), nullptr);
    EXPECT_EQ(find_scored(evaluated, codes(1))->episode, 9);
    EXPECT_EQ(find_scored(evaluated, codes(7)), nullptr);
}

TEST(Selection, ConstrainedBestIsTheMostAccurateWithinTheDropLimit) {
    // Drops 1.5 (at the limit), 3, 2 and 2: the most accurate (codes 3, drop 2) is over the
    // limit of 1.5, so the most accurate within it wins.
    const std::vector<ScoredCodes> evaluated = {scored(1, 98.5), scored(2, 97),
                                                scored(3, 99, 1.0, 0, 101.0), scored(4, 98)};
    const std::optional<ScoredCodes> best = scored(2, 97);
    const auto sel = select_results(evaluated, best, 1.5);
    EXPECT_TRUE(sel.constraint_met);
    EXPECT_EQ(sel.constrained->codes, codes(1));
    EXPECT_EQ(sel.unconstrained->codes, codes(2));
    const auto loose = select_results(evaluated, best, 2.0);
    EXPECT_TRUE(loose.constraint_met);
    EXPECT_EQ(loose.constrained->codes, codes(3));
}

TEST(Selection, TheDropLimitHasASlackOfkDropSlack) {
    constexpr double kLimit = 2.0;
    // Drop 2 + slack/2 meets the limit; drop 2 + 2 * slack does not.
    const std::vector<ScoredCodes> within = {scored(1, 98.0 - kDropSlack / 2)};
    const std::vector<ScoredCodes> beyond = {scored(1, 98.0 - 2 * kDropSlack)};
    const std::optional<ScoredCodes> best = scored(1, 0);
    EXPECT_TRUE(select_results(within, best, kLimit).constraint_met);
    EXPECT_FALSE(select_results(beyond, best, kLimit).constraint_met);
}

TEST(Selection, TiesInAccuracyGoToTheLowerKdLossThenToTheEarlier) {
    const std::vector<ScoredCodes> evaluated = {scored(1, 99, 0.3), scored(2, 99, 0.2),
                                                scored(3, 99, 0.2), scored(4, 95, 0.01)};
    const auto sel = select_results(evaluated, scored(4, 95), 2.0);
    EXPECT_TRUE(sel.constraint_met);
    EXPECT_EQ(sel.constrained->codes, codes(2));
}

TEST(Selection, WithoutACandidateWithinTheLimitTheClosestIsReported) {
    // Drops 5, 3, 3 and 4 against a limit of 1: the first of the smallest drops.
    const std::vector<ScoredCodes> evaluated = {scored(1, 95), scored(2, 97, 0.9),
                                                scored(3, 97, 0.1), scored(4, 96)};
    ScoredCodes unscored;
    unscored.codes = codes(5); // no held-out score: ignored
    auto with_unscored = evaluated;
    with_unscored.insert(with_unscored.begin(), unscored);
    const auto sel = select_results(with_unscored, scored(1, 95), 1.0);
    EXPECT_FALSE(sel.constraint_met);
    EXPECT_EQ(sel.constrained->codes, codes(2));
    EXPECT_EQ(sel.unconstrained->codes, codes(1));
}

TEST(Selection, NothingScoredOnTheHoldoutIsALogicError) {
    const std::optional<ScoredCodes> best = scored(1, 90);
    EXPECT_THROW(select_results({}, best, 2.0), std::logic_error);
    // The best-reward codes must have a held-out entry.
    EXPECT_THROW(select_results({scored(2, 99)}, best, 2.0), std::logic_error);
    EXPECT_THROW(select_results({scored(2, 99)}, std::nullopt, 2.0), std::logic_error);
}

/// scored() with a held-out coverage.
ScoredCodes covering(int32_t id, double acc, double covered, double kd = 1.0) {
    ScoredCodes s = scored(id, acc, kd);
    s.holdout->covered = covered;
    return s;
}

TEST(Selection, ATargetDropPicksTheHighestCoverageWithinIt) {
    const std::vector<ScoredCodes> evaluated = {
        covering(1, 99.5, 0.90),       // drop 0.5: the most accurate
        covering(2, 99.0, 0.95),       // drop 1.0
        covering(3, 98.0, 0.97),       // drop 2.0: beyond a target of 1.0
        covering(4, 99.0, 0.95, 0.5)}; // as 2, lower KD loss
    const auto best = scored(1, 99.5);
    const auto sel = select_results(evaluated, best, 2.0, 1.0);
    EXPECT_TRUE(sel.constraint_met);
    EXPECT_EQ(sel.constrained->codes, codes(4)); // coverage first, then the lower KD loss
    EXPECT_EQ(select_results(evaluated, best, 2.0, 2.0).constrained->codes, codes(3));
    // Without a target drop the rule is the accuracy one.
    EXPECT_EQ(select_results(evaluated, best, 2.0).constrained->codes, codes(1));
    // A target of 0 accepts only candidates without a drop: none here, so the closest.
    const auto none = select_results(evaluated, best, 2.0, 0.0);
    EXPECT_FALSE(none.constraint_met);
    EXPECT_EQ(none.constrained->codes, codes(1));
}

TEST(Selection, ACoverageTargetLimitsTheChoiceToTheCandidatesThatReachIt) {
    // 1 is the most accurate but fell short of the target on the reward set (a penalty).
    auto short_of = scored(1, 99.5);
    short_of.reward.penalty = 0.1;
    const std::vector<ScoredCodes> evaluated = {short_of, scored(2, 99.0), scored(3, 98.8)};
    const auto best = scored(2, 99.0);
    const auto sel = select_results(evaluated, best, 2.0, -1.0, true);
    EXPECT_TRUE(sel.coverage_met);
    EXPECT_TRUE(sel.constraint_met);
    EXPECT_EQ(sel.constrained->codes, codes(2));
    // Without the flag the target plays no part.
    EXPECT_EQ(select_results(evaluated, best, 2.0).constrained->codes, codes(1));
    // Beyond the drop limit, the closest among those that reach the target.
    const auto tight = select_results(evaluated, best, 0.5, -1.0, true);
    EXPECT_FALSE(tight.constraint_met);
    EXPECT_EQ(tight.constrained->codes, codes(2));
    // When none reaches it, every candidate takes part and the selection says so.
    auto all_short = evaluated;
    for (auto& e : all_short) {
        e.reward.penalty = 0.2;
    }
    const auto none = select_results(all_short, best, 2.0, -1.0, true);
    EXPECT_FALSE(none.coverage_met);
    EXPECT_EQ(none.constrained->codes, codes(1));
}

} // namespace
} // namespace triseg::search
