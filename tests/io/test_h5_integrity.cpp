// HDF5 writers on a full disk (one clear IoError, old file intact, no temporary left, no crash)
// and damaged files (checksum mismatch -> InputError naming the file).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/h5_activations.h"
#include "io/h5_search_checkpoint.h"
#include "tests/io/damage.h"
#include "tests/io/small_disk.h"
#include "tests/io/temp_dir.h"
#include "tests/require_all.h"

namespace triseg::io {
namespace {

using test::expect_error;
using test::kH5Reserve;
using test::leaves_for;
using test::SmallDisk;
using test::TempDir;

std::string random_bytes(size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (char& c : s) {
        c = static_cast<char>(gen() & 0xff);
    }
    return s;
}

SearchCheckpointFile checkpoint(size_t policy_bytes, unsigned seed) {
    SearchCheckpointFile c;
    c.method = "ppo";
    c.driver_json = R"({"generation": 12, "evaluations": 480})";
    c.config_yaml = "search:\n  method: ppo\n";
    c.entries["ppo/network.pt"] = random_bytes(policy_bytes, seed);
    c.entries["ppo/optimizer.pt"] = random_bytes(policy_bytes / 2, seed + 1);
    return c;
}

/// Runs `write` with each amount of free space: it succeeds, or throws IoError naming `path`
/// with "no space left on device", leaving the old file as it was and no temporary file.
/// Returns how many failed while writing (more than the reserve free).
template <typename Write>
int sweep(SmallDisk& disk, const std::string& path, int64_t size, Write write) {
    int during_write = 0;
    const auto leaves = leaves_for(size);
    for (size_t i = 0; i < leaves.size(); ++i) {
        const std::string before = test::file_bytes(path);
        disk.fill(leaves[i]);
        const std::string at = "with " + std::to_string(leaves[i]) + " bytes free";
        bool failed = false;
        try {
            write();
        } catch (const IoError& e) {
            failed = true;
            const std::string what = e.what();
            EXPECT_NE(what.find(path), std::string::npos) << at << ": " << what;
            EXPECT_NE(what.find("no space left on device"), std::string::npos)
                << at << ": " << what;
            EXPECT_EQ(test::file_bytes(path), before) << at << ": the old file changed";
            during_write += leaves[i] > kH5Reserve + 4096 ? 1 : 0;
        }
        EXPECT_EQ(failed, i < 2 || (failed && i + 1 < leaves.size())) << at;
        EXPECT_TRUE(disk.temporaries().empty()) << at << ": " << disk.temporaries().front();
        disk.fill(int64_t{1} << 40);
    }
    return during_write;
}

TEST(H5FullDisk, SearchCheckpointWriterFailsCleanly) {
    SmallDisk disk("16m");
    if (!disk.mounted()) {
        TRISEG_SKIP_UNLESS_REQUIRED(disk.why());
    }
    const std::string path = disk.file("checkpoint.h5");
    const SearchCheckpointFile c = checkpoint(size_t{3} << 20, 1);
    write_search_checkpoint(path, c);
    const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
    EXPECT_GT(sweep(disk, path, size, [&] { write_search_checkpoint(path, c); }), 0);
    const SearchCheckpointFile back = read_search_checkpoint(path);
    EXPECT_EQ(back.entries, c.entries);
}

TEST(H5FullDisk, ActivationDumpWriterFailsCleanly) {
    SmallDisk disk("16m");
    if (!disk.mounted()) {
        TRISEG_SKIP_UNLESS_REQUIRED(disk.why());
    }
    ActsHeader h;
    h.images = 64;
    h.compression = 1;
    h.layers = {{"conv1_1", 16, 32, false, 0.05f, 3}, {"conv2_1", 32, 16, true, 0.1f, 0}};
    h.dump_id = new_dump_id();
    const std::string codes = random_bytes(static_cast<size_t>(h.images * 16 * 32 * 32), 3);
    const std::string codes2 = random_bytes(static_cast<size_t>(h.images * 32 * 16 * 16), 4);
    std::vector<int64_t> labels(static_cast<size_t>(h.images), 1);
    std::vector<int64_t> index(static_cast<size_t>(h.images), 0);
    const std::string path = disk.file("acts.h5");
    const auto write = [&] {
        ActsWriter w(path, h);
        for (int64_t first = 0; first < h.images; first += 16) {
            w.append(16, labels.data(), index.data(),
                     {codes.data() + first * 16 * 32 * 32, codes2.data() + first * 32 * 16 * 16});
        }
        w.commit();
    };
    write();
    const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
    EXPECT_GT(sweep(disk, path, size, write), 0);
    EXPECT_EQ(ActsReader(path).header().dump_id, h.dump_id);
}

TEST(H5Integrity, FlippedPolicyByteInACheckpointIsADamagedFileError) {
    TempDir dir;
    const std::string path = dir.file("checkpoint.h5");
    write_search_checkpoint(path, checkpoint(100000, 5));
    // Entries are stored in key order: entry_0 is "ppo/network.pt", the policy.
    test::flip_in_dataset(path, "/algorithm/entry_0");
    expect_error<InputError>(
        [&] { read_search_checkpoint(path); },
        {path, "is damaged", "checksum mismatch", "dataset '/algorithm/entry_0'"});
}

TEST(H5Integrity, FlippedDriverStateInACheckpointIsADamagedFileError) {
    TempDir dir;
    const std::string path = dir.file("checkpoint.h5");
    write_search_checkpoint(path, checkpoint(1000, 6));
    // "generation": 12 -> 13 in the driver's JSON (a variable-length string, not filtered).
    test::flip_byte(path, test::find_unique(path, "\"generation\": 12") + 15, 0x01);
    expect_error<InputError>([&] { read_search_checkpoint(path); },
                             {path, "is damaged", "checksum mismatch"});
}

TEST(H5Integrity, FlippedActivationCodeIsADamagedFileError) {
    TempDir dir;
    ActsHeader h;
    h.images = 8;
    h.layers = {{"conv1_1", 4, 8, false, 0.05f, 3}};
    h.dump_id = new_dump_id();
    const std::string path = dir.file("acts.h5");
    {
        const std::string codes = random_bytes(8 * 4 * 8 * 8, 9);
        std::vector<int64_t> labels(8, 1);
        std::vector<int64_t> index(8, 0);
        ActsWriter w(path, h);
        w.append(8, labels.data(), index.data(), {codes.data()});
        w.commit();
    }
    test::flip_in_dataset(path, "/acts/conv1_1");
    const ActsReader r(path);
    std::vector<uint8_t> out(8 * 4 * 8 * 8);
    expect_error<InputError>(
        [&] { r.read_codes(0, 0, 8, out.data()); },
        {path, "is damaged", "checksum mismatch", "/acts/conv1_1", "dump-acts"});
}

} // namespace
} // namespace triseg::io
