// train-ste's set-up and scoring on the integer model.
#include "cli/ste_setup.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"
#include "engine/analysis/activation_stats.h"
#include "engine/eval/code_histograms.h"
#include "engine/eval/local_evaluator.h"
#include "engine/int8/codes_report.h"
#include "engine/int8/int8_inputs.h"
#include "io/result_file.h"

namespace triseg::cli {

namespace {

engine::ScoringSetsOptions scoring_options(const RunConfig& cfg) {
    engine::ScoringSetsOptions so;
    so.reward_images = cfg.search.reward_images;
    so.reward_split = cfg.search.reward_split;
    so.eval_images = cfg.search.eval_images;
    so.eval_split = cfg.search.eval_split;
    so.seed = static_cast<uint64_t>(cfg.runtime.seed);
    return so;
}

/// The training images that are not in the held-out subset, in file order.
std::vector<int64_t> training_indices(const RunConfig& cfg, const io::DatasetSplits& data) {
    const auto chosen =
        engine::choose_scoring_images(scoring_options(cfg), data.train.count, data.test.count);
    std::vector<char> held(static_cast<size_t>(data.train.count), 0);
    if (cfg.search.eval_split == engine::ImageSplit::Train) {
        for (int64_t i : chosen.holdout) {
            held[static_cast<size_t>(i)] = 1;
        }
    }
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < data.train.count; ++i) {
        if (!held[static_cast<size_t>(i)]) {
            keep.push_back(i);
        }
    }
    return keep;
}

} // namespace

SteSetup make_ste_setup(const RunConfig& cfg,
                        const engine::Int8Network& net,
                        const std::string& init_file,
                        int threads) {
    SteSetup s;
    s.layer_names = net.layer_names();
    // An --init file is read first: a wrong file fails before the slow part.
    io::ResultFile init;
    if (!init_file.empty()) {
        init = io::read_result_file(init_file, s.layer_names);
    }

    const auto seed = static_cast<uint64_t>(cfg.runtime.seed);
    s.data = io::load_dataset(cfg.data, seed);
    const auto opts =
        io::make_loader_options(cfg.data, s.data, cfg.train.eval_batch_size, false, seed);
    s.sets = engine::make_scoring_sets(net, s.data, opts, scoring_options(cfg), threads);

    const auto keep = training_indices(cfg, s.data);
    TRISEG_CHECK(static_cast<int64_t>(keep.size()) >= cfg.ste.batch_size, ConfigError,
                 "train-ste has " << keep.size() << " training images outside the held-out "
                                  << "subset, fewer than one batch (`ste.batch_size` "
                                  << cfg.ste.batch_size << ")");
    s.train_source = "train split without the held-out subset: " + std::to_string(keep.size()) +
                     " of " + std::to_string(s.data.train.count) + " images";
    s.data.train = s.data.train.subset(keep, "[ste]");
    auto inputs = engine::quantize_dataset(net, s.data.train, opts);
    auto teacher_set =
        engine::make_scoring_set(net, std::move(inputs), "ste-train", s.train_source, threads);
    s.teacher.logits = std::move(teacher_set.teacher_logits);
    s.teacher.classes = teacher_set.classes;
    s.teacher.temperature = cfg.approx.temperature;

    if (!init_file.empty()) {
        for (size_t i = 0; i < s.layer_names.size(); ++i) {
            bool adjusted = false;
            auto start = engine::codes_start(init.codes.layers[i], &adjusted);
            if (cfg.ste.tmax > 0) {
                bool moved = false;
                start = engine::fit_start_below(start, static_cast<int32_t>(cfg.ste.tmax), &moved);
                adjusted = adjusted || moved;
            }
            s.start.push_back(start);
            if (adjusted) {
                s.adjusted.push_back(s.layer_names[i]);
            }
        }
        s.init = init_file;
        return s;
    }
    char text[128];
    if (cfg.ste.tmax > 0) { // every layer at the fixed tmax: the percentile plays no part
        const auto t = static_cast<int32_t>(cfg.ste.tmax);
        s.start.assign(s.layer_names.size(),
                       engine::fit_start_below(engine::percentile_start(t), t));
        std::snprintf(text, sizeof text,
                      "tmax %d at every layer (ste.tmax), t1 0.35 tmax, t2 0.7 tmax", t);
        s.init = text;
        return s;
    }
    const auto histograms = engine::teacher_code_histograms(net, s.sets.reward, threads);
    for (const auto& h : histograms) {
        s.start.push_back(
            engine::percentile_start(engine::histogram_percentile(h, cfg.ste.init_percentile)));
    }
    std::snprintf(text, sizeof text, "p%g of each layer's teacher codes on the reward set",
                  cfg.ste.init_percentile);
    s.init = text;
    return s;
}

SteScores score_ste_codes(const RunConfig& cfg,
                          const engine::Int8Network& net,
                          const SteSetup& setup,
                          const engine::CodeSet& codes,
                          int threads) {
    engine::LocalEvaluator eval(net, setup.sets.reward, setup.sets.holdout, cfg.search.shard_images,
                                cfg.approx.temperature, threads);
    SteScores out;
    out.reward = eval.evaluate({codes}, engine::ScoringRole::Reward).at(0);
    out.holdout = eval.evaluate({codes}, engine::ScoringRole::Holdout).at(0);
    const auto seed = static_cast<uint64_t>(cfg.runtime.seed);
    const auto opts =
        io::make_loader_options(cfg.data, setup.data, cfg.train.eval_batch_size, false, seed);
    const auto test = engine::quantize_dataset(net, setup.data.test, opts);
    out.test =
        engine::evaluate_codes(net, test, setup.layer_names, codes, cfg.approx.temperature, threads)
            .to_json();
    out.test["split"] = setup.data.test.name;
    return out;
}

} // namespace triseg::cli
