// Command-line and config values through the real binary: every numeric option refuses values
// outside its range (naming the option, the value and the range), duplicate YAML keys are
// refused, --stop-after's help matches its behaviour, and srun without a PMI plugin is
// detected.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/config/config.h"
#include "io/atomic_file.h"
#include "io/h5_int8_model.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/search_run.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::test {
namespace {

constexpr int kUsage = 2;
constexpr int kMpi = 5;

struct BadValue {
    std::string args;               ///< the command and the bad option
    std::vector<std::string> parts; ///< the message names the option, the value, the range
};

TEST(CliOptions, EveryNumericOptionRefusesValuesOutsideItsRange) {
    // Parsing checks these before any file is read, so no run folder is needed. Before,
    // `search --episodes -5` ran the config's 500 episodes and `--stop-after 0` meant no limit.
    const std::vector<BadValue> table = {
        {"search --episodes -5", {"`--episodes` must be in [0, 1099511627776], got -5"}},
        {"search --episodes 1e3", {"--episodes", "1e3"}},
        {"search --stop-after 0", {"`--stop-after` must be in [1, 1099511627776], got 0"}},
        {"search --stop-after -2", {"`--stop-after`", "got -2"}},
        {"train-float --stop-after 0", {"`--stop-after` must be in [1, 100000], got 0"}},
        {"train-float --stop-after -1", {"`--stop-after`", "got -1"}},
        {"train-qat --stop-after 0", {"`--stop-after` must be in [1, 100000], got 0"}},
        {"dump-acts --images -1", {"`--images` must be in [0, 1000000000], got -1"}},
        {"dump-acts --compression 10", {"`--compression` must be in [0, 9], got 10"}},
        {"dump-acts --compression -1", {"`--compression` must be in [0, 9], got -1"}},
        {"dump-acts --batch 0", {"`--batch` must be in [1, 65536], got 0"}},
        {"collect-percentiles --tmax 256", {"`--tmax` must be in [0, 255], got 256"}},
        {"collect-percentiles --images -2", {"`--images`", "got -2"}},
        {"collect-percentiles --batch 70000", {"`--batch` must be in [1, 65536], got 70000"}},
        {"analyze-variance --images -1", {"`--images`", "got -1"}},
        {"analyze-variance --batch 0", {"`--batch`", "got 0"}},
        {"analyze-sensitivity --images -3", {"`--images`", "got -3"}},
        {"analyze-sensitivity --batch -4", {"`--batch`", "got -4"}},
        {"replay --temperature 0", {"`--temperature` must be in [0.01, 100], got 0"}},
        {"replay --temperature nan", {"`--temperature`", "got nan"}},
        {"replay --threads -1", {"`--threads` must be in [0, 1024], got -1"}},
        {"replay --threads 5000", {"`--threads` must be in [0, 1024], got 5000"}},
        {"replay --batch 0", {"`--batch`", "got 0"}},
    };
    for (const auto& row : table) {
        const auto r = triseg(row.args);
        EXPECT_EQ(r.code, kUsage) << row.args << "\n" << r.output;
        for (const auto& part : row.parts) {
            EXPECT_TRUE(contains(r.output, part)) << row.args << ": lacks '" << part << "'\n"
                                                  << r.output;
        }
    }
}

TEST(CliOptions, EveryNumericConfigKeyRefusesValuesOutsideItsRange) {
    TempDir dir;
    const std::string base = "train-float -c configs/tiny.yaml -r " + dir.file("run") + " --set ";
    const std::vector<BadValue> table = {
        {"search.episodes=-5", {"`search.episodes` must be in [0, ", "got -5"}},
        {"search.max_evaluations=-1", {"`search.max_evaluations`", "got -1"}},
        {"search.max_seconds=-1", {"`search.max_seconds`", "got -1"}},
        {"search.episodes_per_generation=0", {"`search.episodes_per_generation`", "got 0"}},
        {"search.reward_images=0", {"`search.reward_images`", "got 0"}},
        {"search.eval_images=-1", {"`search.eval_images`", "got -1"}},
        {"search.eval_every=0", {"`search.eval_every`", "got 0"}},
        {"search.checkpoint_every=0", {"`search.checkpoint_every`", "got 0"}},
        {"search.shard_images=0", {"`search.shard_images`", "got 0"}},
        {"train.epochs=0", {"`train.epochs`", "got 0"}},
        {"train.batch_size=-64", {"`train.batch_size`", "got -64"}},
        {"train.eval_batch_size=0", {"`train.eval_batch_size`", "got 0"}},
        {"train.lr=0", {"`train.lr` must be > 0", "got 0"}},
        {"train.lr_min=-0.1", {"`train.lr_min`", "got -0.1"}},
        {"train.step_epochs=0", {"`train.step_epochs`", "got 0"}},
        {"train.weight_decay=-1", {"`train.weight_decay`", "got -1"}},
        {"train.label_smoothing=1", {"`train.label_smoothing`", "got 1"}},
        {"qat.epochs=0", {"`qat.epochs`", "got 0"}},
        {"qat.batch_size=0", {"`qat.batch_size`", "got 0"}},
        {"qat.calibration_batches=0", {"`qat.calibration_batches`", "got 0"}},
        {"qat.freeze_observers_after=-1", {"`qat.freeze_observers_after`", "got -1"}},
        {"runtime.seed=-1", {"`runtime.seed`", "got -1"}},
        {"runtime.threads=-2", {"`runtime.threads`", "got -2"}},
        {"data.image_size=0", {"`data.image_size`", "got 0"}},
        {"data.val_size=-1", {"`data.val_size`", "got -1"}},
        {"data.train_limit=-1", {"`data.train_limit`", "got -1"}},
        {"data.test_limit=-1", {"`data.test_limit`", "got -1"}},
        {"data.crop_padding=-1", {"`data.crop_padding`", "got -1"}},
        {"model.width=0", {"`model.width`", "got 0"}},
        {"model.num_classes=1", {"`model.num_classes`", "got 1"}},
        {"approx.tmax=0", {"`approx.tmax`", "got 0"}},
        {"approx.temperature=-2", {"`approx.temperature`", "got -2"}},
        {"approx.max_acc_drop=-1", {"`approx.max_acc_drop`", "got -1"}},
        {"ppo.k_epochs=0", {"`ppo.k_epochs`", "got 0"}},
        {"ppo.update_transitions=1", {"`ppo.update_transitions`", "got 1"}},
        {"ppo.hidden=-1", {"`ppo.hidden`", "got -1"}},
        {"ppo.lr=.nan", {"`ppo.lr`", "got nan"}},
        {"ppo.state=recurrent", {"`ppo.state` must be embedding or enhanced", "'recurrent'"}},
        {"ppo.encoding=offsets", {"`ppo.encoding` must be absolute or relative", "'offsets'"}},
        {"ppo.reward=rank", {"`ppo.reward` must be kd or ranked", "'rank'"}},
        {"ppo.policy=lstm", {"`ppo.policy` must be mlp or gru", "'lstm'"}},
        {"ppo.layer_reward=-1", {"`ppo.layer_reward`", "got -1"}},
        {"ppo.align=-0.5", {"`ppo.align`", "got -0.5"}},
        {"ppo.temperatures=[4,0]", {"`ppo.temperatures`", "got 0"}},
        {"ppo.temperature_episodes=0", {"`ppo.temperature_episodes`", "got 0"}},
        {"ppo.curriculum_episodes=0", {"`ppo.curriculum_episodes`", "got 0"}},
        {"ppo.curriculum_layers=[3,2]", {"`ppo.curriculum_layers` must increase", "3 then 2"}},
        {"ppo.curriculum_layers=[1.5]", {"`ppo.curriculum_layers` holds 1.5", "whole number"}},
    };
    for (const auto& row : table) {
        const auto r = triseg(base + row.args);
        EXPECT_EQ(r.code, kUsage) << row.args << "\n" << r.output;
        for (const auto& part : row.parts) {
            EXPECT_TRUE(contains(r.output, part)) << row.args << ": lacks '" << part << "'\n"
                                                  << r.output;
        }
    }
}

TEST(CliOptions, StopAfterHelpSaysWhatItDoes) {
    for (const char* command : {"search", "train-float", "train-qat"}) {
        const auto r = triseg(std::string(command) + " --help");
        EXPECT_EQ(r.code, 0) << r.output;
        EXPECT_TRUE(contains(r.output, "at most N >= 1")) << command << "\n" << r.output;
    }
}

TEST(CliOptions, DuplicateYamlKeysAreRefusedNamingFileKeyAndLines) {
    // Before: yaml-cpp kept both entries, lookups found the first, and `seed: 1` was ignored.
    TempDir dir;
    const std::string path = dir.file("dup.yaml");
    std::ofstream(path) << "model:\n  arch: vgg11\nruntime:\n  seed: 0\n  threads: 1\n  seed: 1\n";
    const auto r = triseg("train-float -c " + path + " -r " + dir.file("run"));
    EXPECT_EQ(r.code, kUsage) << r.output;
    EXPECT_TRUE(
        contains(r.output, "duplicate key `runtime.seed` in " + path + ": line 4 and line 6"))
        << r.output;
}

const std::string kSmallSearch = " -q --episodes 6 --set search.episodes_per_generation=3"
                                 " --set search.reward_images=40 --set search.eval_images=30"
                                 " --set search.eval_every=6 --set search.shard_images=16";

TEST(CliLaunch, SrunWithoutPmiIsAnMpiErrorNamingTheFix) {
    // `srun -n 2` without --mpi=pmix: each task is a world of one with SLURM's variables. A
    // plain process with those variables is exactly that situation. Before: each task ran its
    // own search into the same folder.
    TempDir dir;
    const std::string run = make_search_run(dir);
    const std::string slurm = "env -u OMPI_COMM_WORLD_SIZE SLURM_STEP_NUM_TASKS=2 SLURM_NTASKS=2 ";
    auto r = shell(slurm + "SLURM_PROCID=0 " + binary() + " search -r " + run + kSmallSearch);
    EXPECT_EQ(r.code, kMpi) << r.output;
    EXPECT_TRUE(contains(r.output, "task 0 of 2")) << r.output;
    EXPECT_TRUE(contains(r.output, "srun --mpi=pmix")) << r.output;
    EXPECT_TRUE(contains(r.output, "MpiDefault=pmix")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(run + "/search")) << "it wrote before refusing";
    // The other task also fails with exit 5 (it stays quiet: task 0 prints, as for every error
    // all tasks see).
    r = shell(slurm + "SLURM_PROCID=1 " + binary() + " search -r " + run + kSmallSearch);
    EXPECT_EQ(r.code, kMpi) << r.output;
    r = shell(slurm + "SLURM_PROCID=1 " + binary() + " dump-acts -r " + run);
    EXPECT_EQ(r.code, kMpi) << r.output;
    EXPECT_TRUE(contains(r.output, "srun --mpi=pmix")) << r.output;
    // --cluster local does not escape: the tasks would still share the folder.
    r = shell(slurm + "SLURM_PROCID=0 " + binary() + " search --cluster local -r " + run +
              kSmallSearch);
    EXPECT_EQ(r.code, kMpi) << r.output;
    // One task, or a batch script (SLURM_NTASKS alone, no step variables), is a plain run.
    r = shell("SLURM_STEP_NUM_TASKS=1 SLURM_PROCID=0 " + binary() + " search -r " + run + " -o " +
              dir.file("one") + kSmallSearch);
    EXPECT_EQ(r.code, 0) << r.output;
    r = shell("env -u SLURM_STEP_NUM_TASKS SLURM_NTASKS=4 SLURM_PROCID=0 " + binary() +
              " search -r " + run + " -o " + dir.file("batch") + kSmallSearch);
    EXPECT_EQ(r.code, 0) << r.output;
}

TEST(CliLaunch, MpirunWithCoherentSlurmVariablesStillWorks) {
    // mpirun inside a SLURM step: two tasks and MPI sees both; the same result as a plain run.
    TempDir dir;
    const std::string run = make_search_run(dir);
    auto r = triseg("search -r " + run + " -o " + dir.file("plain") + kSmallSearch);
    ASSERT_EQ(r.code, 0) << r.output;
    r = shell("SLURM_STEP_NUM_TASKS=2 SLURM_NTASKS=2 SLURM_PROCID=0 mpirun -np 2 " + binary() +
              " search -r " + run + " -o " + dir.file("mpi") + kSmallSearch);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "on 2 ranks")) << r.output;
    EXPECT_TRUE(std::filesystem::exists(dir.file("mpi/result.json")));
}

} // namespace
} // namespace triseg::test
