// Damaged checkpoints through the real binary: every command that loads a .pt file (resume
// from last.pt, train-qat, eval, dump-acts --model float, export-int8, eval-int8) refuses a
// flipped byte in the tensor data with exit 3, naming the file and how to re-create it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/cli/cli_runner.h"
#include "tests/io/temp_dir.h"
#include "tests/models/zip_records.h"

namespace triseg::test {
namespace {

constexpr int kInput = 3;

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// Flips one bit in the middle of the largest tensor of the checkpoint at `path` and returns
/// the original bytes (for restore()).
std::string damage(const std::string& path) {
    const std::string bytes = read_bytes(path);
    const auto tensor = largest_record(bytes);
    EXPECT_GT(tensor.size, 0u) << path;
    std::string bad = bytes;
    const size_t at = tensor.offset + tensor.size / 2;
    bad[at] = static_cast<char>(bad[at] ^ 0x04);
    write_bytes(path, bad);
    return bytes;
}

/// `r` is exit 3 with a message naming `path` and the command that re-creates it.
void expect_refused(const Result& r, const std::string& path, const std::string& fix) {
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, path)) << r.output;
    EXPECT_TRUE(contains(r.output, "damaged")) << r.output;
    EXPECT_TRUE(contains(r.output, fix)) << r.output;
}

TEST(CliCheckpoints, ADamagedCheckpointIsAnInputErrorOnEveryLoadPath) {
    TempDir dir;
    const std::string run = dir.file("run");
    const std::string rd = " -r " + run;
    const std::string train = "train-float -c configs/tiny.yaml --set train.epochs=2 "
                              "--set data.train_limit=256 --set data.test_limit=100 -q" +
                              rd;
    // Resume from last.pt. Before: a flipped weight resumed silently as another model.
    ASSERT_EQ(triseg(train + " --stop-after 1").code, 0);
    const std::string last = run + "/float/last.pt";
    std::string good = damage(last);
    expect_refused(triseg(train), last, "train-float --force");
    write_bytes(last, good);
    auto r = triseg(train);
    ASSERT_EQ(r.code, 0) << r.output;

    // float/model.pt: train-qat, eval, dump-acts --model float.
    const std::string float_model = run + "/float/model.pt";
    const std::string qat = "train-qat --set qat.epochs=1 --set qat.calibration_batches=2 -q" + rd;
    good = damage(float_model);
    expect_refused(triseg(qat), float_model, "train-float --force");
    expect_refused(triseg("eval" + rd), float_model, "train-float --force");
    expect_refused(triseg("dump-acts --model float --images 8" + rd), float_model,
                   "train-float --force");
    write_bytes(float_model, good);
    r = triseg(qat);
    ASSERT_EQ(r.code, 0) << r.output;

    // train-qat --force checks the float model before it deletes the earlier qat/ stage.
    good = damage(float_model);
    expect_refused(triseg(qat + " --force"), float_model, "train-float --force");
    EXPECT_TRUE(std::filesystem::exists(run + "/qat/model.pt"));
    write_bytes(float_model, good);

    // qat/model.pt: export-int8; then eval-int8 reads both float and qat checkpoints.
    const std::string qat_model = run + "/qat/model.pt";
    good = damage(qat_model);
    expect_refused(triseg("export-int8" + rd), qat_model, "train-qat --force");
    write_bytes(qat_model, good);
    r = triseg("export-int8" + rd);
    ASSERT_EQ(r.code, 0) << r.output;
    good = damage(qat_model);
    expect_refused(triseg("eval-int8" + rd), qat_model, "train-qat --force");
    write_bytes(qat_model, good);

    // A damaged pickle (the archive's structure) is also exit 3, not an internal error.
    const std::string bytes = read_bytes(float_model);
    const auto pickle = largest_record(bytes, "data.pkl");
    ASSERT_GT(pickle.size, 0u);
    std::string bad = bytes;
    for (size_t i = 0; i < 8; ++i) {
        bad[pickle.offset + pickle.size / 3 + i] = '\x7f';
    }
    write_bytes(float_model, bad);
    r = triseg("eval" + rd);
    EXPECT_EQ(r.code, kInput) << r.output;
    EXPECT_TRUE(contains(r.output, float_model)) << r.output;
    EXPECT_FALSE(contains(r.output, "internal error")) << r.output;
}

} // namespace
} // namespace triseg::test
