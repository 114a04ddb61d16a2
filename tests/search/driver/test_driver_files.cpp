// The driver's file formats: history lines, the driver state in the checkpoint, and the
// message that quotes a changed config line.
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "io/atomic_file.h"
#include "search/driver/driver_checkpoint.h"
#include "search/driver/driver_json.h"
#include "search/driver/history_writer.h"
#include "tests/io/temp_dir.h"

namespace triseg::search {
namespace {

using test::TempDir;

ScoredCodes candidate(int32_t t1, bool with_holdout) {
    ScoredCodes s;
    s.codes.layers = {{t1, 2, 9, 30, 32}, {1, 0, 3, 4, 32}};
    s.reward.kd_loss = 0.25;
    s.reward.acc_student = 90.5;
    s.reward.acc_teacher = 91;
    s.reward.agreement = 97.5;
    s.reward.coverage = 0.125;
    s.reward.zeroed = 0.0625;
    s.reward.images = 70;
    if (with_holdout) {
        s.holdout = s.reward;
        s.holdout->acc_student = 89;
        s.holdout->images = 50;
    }
    s.episode = 12;
    s.source = "period-best";
    return s;
}

TEST(DriverFiles, HistoryLinesHaveTheirDocumentedFields) {
    TempDir dir;
    const std::string path = dir.file("history.jsonl");
    {
        HistoryLog log(path, 0);
        const auto s = candidate(4, true);
        auto reward = s.reward;
        reward.macs = 123;
        write_episode_line(log, 3, 1, reward, s.codes, 4567);
        write_algorithm_line(log, 6, {"update", {{"loss", 0.5}, {"entropy", 1.25}}});
        write_eval_line(log, 14, s);
    }
    EXPECT_EQ(io::read_file(path),
              "{\"acc_student\":90.5,\"agreement\":97.5,\"codes\":[[4,2,9,30,32],[1,0,3,4,32]],"
              "\"coverage\":0.125,\"covered\":0.0,\"episode\":3,\"generation\":1,\"kd_loss\":0.25,"
              "\"macs\":123,\"reward\":-0.25,\"total_macs\":4567,\"type\":\"episode\"}\n"
              "{\"entropy\":1.25,\"episode\":6,\"loss\":0.5,\"type\":\"update\"}\n"
              "{\"codes\":[[4,2,9,30,32],[1,0,3,4,32]],\"episode\":14,\"found_at_episode\":12,"
              "\"holdout\":{\"acc_student\":89.0,\"acc_teacher\":91.0,\"agreement\":97.5,"
              "\"coverage\":0.125,\"covered\":0.0,\"images\":50,\"kd_loss\":0.25,\"macs\":0,"
              "\"zeroed\":0.0625},"
              "\"reward_kd_loss\":0.25,\"source\":\"period-best\",\"type\":\"eval\"}\n");
}

TEST(DriverFiles, TheDriverStateRoundTripsThroughItsJson) {
    DriverState s;
    s.episodes = 20;
    s.evaluations = 19;
    s.extra_evaluations = 2;
    s.holdout_evaluations = 5;
    s.generations = 7;
    s.next_eval_at = 21;
    s.elapsed = 1.5;
    s.history_bytes = 4096;
    s.finished = true;
    s.macs = int64_t{1} << 40; // beyond int32 and exact
    s.extra_macs = 3;
    s.holdout_macs = 5;
    s.anchor = candidate(7, false).codes;
    s.best = candidate(4, false);
    s.best->reward.macs = 77;
    s.evaluated = {candidate(5, true), candidate(6, true)};
    const auto back = driver_state_from(nlohmann::json::parse(driver_state_json(s).dump()));
    EXPECT_EQ(back.episodes, 20);
    EXPECT_EQ(back.evaluations, 19);
    EXPECT_EQ(back.extra_evaluations, 2);
    EXPECT_EQ(back.holdout_evaluations, 5);
    EXPECT_EQ(back.generations, 7);
    EXPECT_EQ(back.next_eval_at, 21);
    EXPECT_EQ(back.elapsed, 1.5);
    EXPECT_EQ(back.history_bytes, 4096u);
    EXPECT_TRUE(back.finished);
    EXPECT_EQ(back.macs, int64_t{1} << 40);
    EXPECT_EQ(back.extra_macs, 3);
    EXPECT_EQ(back.holdout_macs, 5);
    EXPECT_EQ(back.anchor, s.anchor);
    ASSERT_TRUE(back.best);
    EXPECT_EQ(back.best->reward.macs, 77);
    EXPECT_EQ(back.best->codes, s.best->codes);
    EXPECT_EQ(back.best->reward, s.best->reward);
    EXPECT_FALSE(back.best->holdout);
    EXPECT_FALSE(back.period_best);
    ASSERT_EQ(back.evaluated.size(), 2u);
    EXPECT_EQ(back.evaluated[1].codes, s.evaluated[1].codes);
    EXPECT_EQ(back.evaluated[1].holdout, s.evaluated[1].holdout);
    EXPECT_EQ(back.evaluated[1].episode, 12);
    EXPECT_EQ(back.evaluated[1].source, "period-best");
    EXPECT_THROW(driver_state_from(nlohmann::json::parse("{\"episodes\": 1}")),
                 nlohmann::json::exception);
}

TEST(DriverFiles, ImpossibleCountsInADriverStateAreRefused) {
    DriverState s;
    s.episodes = 48;
    const nlohmann::json good = driver_state_json(s);
    EXPECT_EQ(driver_state_from(good).episodes, 48);
    for (const char* field :
         {"episodes", "evaluations", "generations", "next_eval_at", "history_bytes", "macs"}) {
        for (const char* value : {"-29", "1e30", "1.5", "9007199254740993", "\"3\""}) {
            auto bad = good;
            bad[field] = nlohmann::json::parse(value);
            try {
                driver_state_from(bad);
                ADD_FAILURE() << field << " = " << value << " was accepted";
            } catch (const InputError& e) {
                EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
            } catch (const nlohmann::json::exception&) {
                ADD_FAILURE() << field << " = " << value << ": a json error, not an InputError";
            }
        }
    }
    auto bad = good;
    bad["elapsed_seconds"] = -1.0;
    EXPECT_THROW(driver_state_from(bad), InputError);
}

TEST(DriverFiles, FirstDifferenceQuotesTheFirstChangedLine) {
    EXPECT_EQ(first_difference("a: 1\nb: 2\nc: 3\n", "a: 1\nb: 5\nc: 4\n"),
              "checkpoint has 'b: 2', this run has 'b: 5'");
    EXPECT_EQ(first_difference("a: 1\n", "a: 1\nb: 2\n"), "checkpoint has '', this run has 'b: 2'");
    EXPECT_EQ(first_difference("a: 1\n", "a: 1\n"), "no line differs");
}

} // namespace
} // namespace triseg::search
