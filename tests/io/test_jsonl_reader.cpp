// read_jsonl: whole lines are records; a torn last line is skipped, never an error.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "io/jsonl_reader.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

void write_text(const std::string& path, const std::string& text) {
    write_plain(path, Bytes(text.begin(), text.end()));
}

TEST(JsonlReader, ReadsCompleteLinesAndSkipsATornLastLine) {
    TempDir dir;
    const std::string path = dir.file("history.jsonl");
    write_text(path, "{\"episode\":0}\n\n{\"episode\":1}\n");
    auto log = io::read_jsonl(path);
    ASSERT_EQ(log.records.size(), 2u);
    EXPECT_EQ(log.records[1].at("episode"), 1);
    EXPECT_EQ(log.lines, (std::vector<int64_t>{1, 3})); // the empty line 2 is no record
    EXPECT_EQ(log.torn_bytes, 0u);
    EXPECT_EQ(log.complete_bytes, 29u);

    const std::string torn = "{\"type\":\"episode\",\"epi";
    write_text(path, "{\"episode\":0}\n{\"episode\":1}\n" + torn);
    log = io::read_jsonl(path);
    ASSERT_EQ(log.records.size(), 2u);
    EXPECT_EQ(log.torn_bytes, torn.size());
    EXPECT_EQ(log.complete_bytes, 28u);

    // A last line without '\n' is not a record even when it happens to parse.
    write_text(path, "{\"episode\":0}\n{\"episode\":1}");
    log = io::read_jsonl(path);
    EXPECT_EQ(log.records.size(), 1u);
    EXPECT_EQ(log.torn_bytes, 13u);

    write_text(path, "");
    log = io::read_jsonl(path);
    EXPECT_TRUE(log.records.empty());
    EXPECT_EQ(log.torn_bytes, 0u);
}

TEST(JsonlReader, ADamagedCompleteLineIsAnInputErrorNamingTheLine) {
    TempDir dir;
    const std::string path = dir.file("history.jsonl");
    write_text(path, "{\"episode\":0}\n{\"epis{\"episode\":1}\n{\"episode\":2}\n");
    expect_error<InputError>([&] { io::read_jsonl(path); }, {path, "line 2", "damaged"});
    expect_error<IoError>([&] { io::read_jsonl(dir.file("none.jsonl")); }, {"none.jsonl"});
}

} // namespace
} // namespace triseg::test
