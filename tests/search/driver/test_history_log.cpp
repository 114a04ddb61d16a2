// HistoryLog: every record reaches the file whole at once; resume cuts a torn tail.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/jsonl_reader.h"
#include "search/driver/history_log.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

TEST(HistoryLog, EachRecordIsInTheFileWholeAsSoonAsItIsWritten) {
    TempDir dir;
    const std::string path = dir.file("history.jsonl");
    search::HistoryLog log(path, 0);
    log.write({{"type", "episode"}, {"episode", 0}});
    // No user-space buffer: a reader (or a SIGKILL now) sees the whole line, without sync().
    EXPECT_EQ(io::read_file(path), "{\"episode\":0,\"type\":\"episode\"}\n");
    const std::string big(10000, 'x'); // larger than a stdio buffer
    log.write({{"type", "note"}, {"text", big}});
    const auto read = io::read_jsonl(path);
    ASSERT_EQ(read.records.size(), 2u);
    EXPECT_EQ(read.torn_bytes, 0u);
    EXPECT_EQ(read.records[1].at("text"), big);
}

TEST(HistoryLog, ResumeCutsBackToTheCheckpointedLengthAndATornLineWithIt) {
    TempDir dir;
    const std::string path = dir.file("history.jsonl");
    uint64_t kept = 0;
    {
        search::HistoryLog log(path, 0);
        log.write({{"episode", 0}});
        kept = log.sync();
        log.write({{"episode", 1}});
    }
    // A writer killed inside its last write leaves a line without '\n'.
    write_plain(path, [&] {
        std::string text = io::read_file(path) + "{\"episode\":2,\"kd_lo";
        return Bytes(text.begin(), text.end());
    }());
    EXPECT_GT(io::read_jsonl(path).torn_bytes, 0u);
    {
        search::HistoryLog log(path, kept);
        log.write({{"episode", 1}});
    }
    EXPECT_EQ(io::read_file(path), "{\"episode\":0}\n{\"episode\":1}\n");
    EXPECT_THROW(search::HistoryLog(path, 1000), IoError);
}

TEST(HistoryLog, APlantedLinkIsRefusedAndItsTargetKept) {
    TempDir dir;
    const std::string victim = dir.file("victim");
    write_plain(victim, {'a', 'b', 'c', 'd'});
    const std::string path = dir.file("history.jsonl");
    std::filesystem::create_symlink(victim, path);
    for (uint64_t keep : {uint64_t{0}, uint64_t{2}}) { // a fresh search, then a resume
        try {
            search::HistoryLog log(path, keep);
            ADD_FAILURE() << "a link was opened (keep " << keep << ")";
        } catch (const IoError& e) {
            EXPECT_EQ(e.exit_code(), 4);
            EXPECT_NE(std::string(e.what()).find("history.jsonl' is a symbolic link"),
                      std::string::npos)
                << e.what();
        }
    }
    EXPECT_EQ(io::read_file(victim), "abcd");
}

} // namespace
} // namespace triseg::test
