// What train-ste prepares before training and measures after it, on the integer model.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/config/run_config.h"
#include "engine/core/code_set.h"
#include "engine/core/fitness.h"
#include "engine/eval/scoring_sets.h"
#include "engine/int8/int8_network.h"
#include "engine/train/ste_trainer.h"
#include "engine/train/tri_segment_ste.h"
#include "io/dataset_factory.h"

namespace triseg::cli {

/// The images, teacher and start of one train-ste run.
struct SteSetup {
    engine::ScoringSets sets;   ///< the search's reward set and held-out subset
    io::DatasetSplits data;     ///< train = the training split minus the held-out subset
    std::string train_source;   ///< those training images, in words
    engine::SteTeacher teacher; ///< the INT8 teacher's logits of data.train
    std::vector<std::string> layer_names;
    std::vector<engine::SteStart> start;
    std::string init; ///< "p90 of the teacher's codes on the reward set" or the file
    std::vector<std::string> adjusted; ///< layers whose --init codes were moved (see codes_start)
};

/// Loads the data, builds the scoring sets exactly as `triseg search` does, removes the
/// held-out subset from the training images (so the held-out numbers stay held out), runs
/// the teacher on every remaining training image, and sets the start: from `init_file`
/// (a result.json for this model) or at ste.init_percentile of each layer's teacher codes on
/// the reward set.
/// @throws ConfigError / InputError / IoError naming the problem.
SteSetup make_ste_setup(const RunConfig& cfg,
                        const engine::Int8Network& net,
                        const std::string& init_file,
                        int threads);

/// Scores `codes` with the integer model: reward and held-out fitness (as a search reports
/// them) and the whole test split (eval-codes' report of setup.data.test).
struct SteScores {
    engine::Fitness reward;
    engine::Fitness holdout;
    nlohmann::json test; ///< what `eval-codes` writes
};
SteScores score_ste_codes(const RunConfig& cfg,
                          const engine::Int8Network& net,
                          const SteSetup& setup,
                          const engine::CodeSet& codes,
                          int threads);

} // namespace triseg::cli
