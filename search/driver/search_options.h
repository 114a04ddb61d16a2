// SearchOptions: the `search` config section (method, budget, scoring sets, checkpoints).
#pragma once

#include <cstdint>
#include <string>

#include "common/option_checks.h"
#include "engine/core/evaluator.h"
#include "engine/core/image_split.h"

namespace triseg::search {

using engine::ImageSplit;

/// `search.init`: where a search starts. Random: each method's own random start. Lloyd (the
/// default, chosen by the study in docs/results.md): the Lloyd-Max codes of the reward images'
/// code histograms (search/lloyd_search.h). EvenlySpaced: engine::evenly_spaced_codes(
/// approx.tmax) at every layer. File: the codes of a result file (any method's result.json,
/// the STE's included), moved into the search space. The codes reach the method as
/// AlgorithmContext::init; methods without a starting point (random) ignore them.
enum class SearchInit { Random, Lloyd, EvenlySpaced, File };

/// `search.space`: what a candidate is. Codes: t1, v1, t2, v2 per layer at tmax = approx.tmax
/// (nsga2: with each layer's tmax too). Allocation: one tmax per layer in
/// [search.tmax_min, search.tmax_max], the layer's codes the Lloyd-Max codes for that tmax
/// (search/allocation_space.h).
enum class SearchSpace { Codes, Allocation };

/// KD loss added per unit of `covered` below `search.target_coverage` (a shortfall of 0.01
/// costs 0.1, several times the KD loss of a good candidate, so the target binds).
constexpr double kCoveragePenalty = 10.0;

/// Options of `triseg search`.
struct SearchOptions {
    /// `search.method`: a registered algorithm (search/registry.cpp; `triseg search --help`).
    std::string method = "ppo";
    /// `search.episodes`: budget in episodes (= candidates scored); 0 = no episode limit.
    int64_t episodes = 500;
    /// `search.max_evaluations`: budget in reward-set evaluations; 0 = no limit.
    int64_t max_evaluations = 0;
    /// `search.max_macs`: budget in int8 multiply-accumulates executed on the reward set by the
    /// search (its candidates and prefix-cache anchors; held-out rounds and proposals
    /// excluded); the search stops at the first generation boundary where the total reaches
    /// it. 0 = no limit.
    int64_t max_macs = 0;
    /// `search.max_seconds`: budget in wall-clock seconds over all restarts; 0 = no limit.
    /// A time budget makes the result depend on the machine's speed. Checked between
    /// generations, after the first: a budget shorter than one generation still scores one.
    double max_seconds = 0.0;
    /// `search.episodes_per_generation`: candidates asked and scored together (spread
    /// over the ranks).
    int64_t episodes_per_generation = 4;
    /// `search.init`: random, lloyd, evenly-spaced, or the path of a result file (SearchInit).
    std::string init = "lloyd";
    /// `search.space`: codes or allocation (SearchSpace).
    SearchSpace space = SearchSpace::Codes;
    /// `search.tmax_min` / `search.tmax_max`: the allocation space's tmax range per layer.
    int64_t tmax_min = 16;
    int64_t tmax_max = 64;
    /// `search.target_coverage`: 0 = none; else single-objective methods minimize the KD loss
    /// plus kCoveragePenalty times the shortfall of `covered` below this share.
    double target_coverage = 0.0;
    /// `search.target_drop`: negative = off (the default); else result.json is the candidate of
    /// highest held-out coverage whose held-out drop is at most this many points.
    double target_drop = -1.0;
    /// `search.reward_images` / `search.reward_split`: the reward set (teacher logits cached).
    int64_t reward_images = 256;
    ImageSplit reward_split = ImageSplit::Train;
    /// `search.eval_images` / `search.eval_split`: the held-out evaluation subset, disjoint
    /// from the reward set. The default keeps test images out of the selection so that
    /// `eval-codes` on the test set afterwards is an unbiased measure.
    int64_t eval_images = 2000;
    ImageSplit eval_split = ImageSplit::Train;
    /// `search.eval_every`: episodes between held-out evaluations of the best and the
    /// proposed codes.
    int64_t eval_every = 50;
    /// `search.checkpoint_every`: generations between checkpoints (also on SIGTERM,
    /// SIGINT, SIGUSR1 and at the end).
    int64_t checkpoint_every = 10;
    /// `search.shard_images`: images per work unit (candidate x shard) spread over ranks.
    int64_t shard_images = 32;
    /// `search.prefix_cache_mb`: cap, in MiB per rank, of the prefix cache (the anchor's block
    /// outputs on the reward set, for suffix replay); when the reward set needs more, the cache
    /// is off and every candidate runs a full forward. 0 = off.
    int64_t prefix_cache_mb = 1024;
    /// `search.racing_eta`: 0 = off; else each generation is raced over the reward set's
    /// shards (engine::Racing): scored on the first `racing_images` images, the best 1/eta on
    /// eta times as many, and so on up to every reward image.
    int64_t racing_eta = 0;
    /// `search.racing_images`: images of the first rung (rounded up to whole shards).
    int64_t racing_images = 64;

    /// The racing schedule of these options (off when racing_eta is 0).
    engine::Racing racing() const {
        engine::Racing r;
        r.eta = racing_eta;
        r.first_shards = (racing_images + shard_images - 1) / shard_images;
        return r;
    }

    bool operator==(const SearchOptions& o) const {
        return method == o.method && episodes == o.episodes &&
               max_evaluations == o.max_evaluations && max_macs == o.max_macs &&
               max_seconds == o.max_seconds &&
               episodes_per_generation == o.episodes_per_generation && init == o.init &&
               space == o.space && tmax_min == o.tmax_min && tmax_max == o.tmax_max &&
               target_coverage == o.target_coverage && target_drop == o.target_drop &&
               reward_images == o.reward_images && reward_split == o.reward_split &&
               eval_images == o.eval_images && eval_split == o.eval_split &&
               eval_every == o.eval_every && checkpoint_every == o.checkpoint_every &&
               shard_images == o.shard_images && prefix_cache_mb == o.prefix_cache_mb &&
               racing_eta == o.racing_eta && racing_images == o.racing_images;
    }
    bool operator!=(const SearchOptions& o) const { return !(*this == o); }

    /// The penalty of a candidate that covers the share `covered` (Fitness::penalty).
    double coverage_penalty(double covered) const {
        return target_coverage > 0.0 && covered < target_coverage
                   ? kCoveragePenalty * (target_coverage - covered)
                   : 0.0;
    }

    /// What `init` names: one of the three words, else a result file.
    SearchInit init_kind() const {
        return init == "random"          ? SearchInit::Random
               : init == "lloyd"         ? SearchInit::Lloyd
               : init == "evenly-spaced" ? SearchInit::EvenlySpaced
                                         : SearchInit::File;
    }

    void validate() const {
        detail::check_range<int64_t>("search.episodes", episodes, 0, int64_t{1} << 40);
        detail::check_range<int64_t>("search.max_evaluations", max_evaluations, 0,
                                     int64_t{1} << 40);
        detail::check_range<int64_t>("search.max_macs", max_macs, 0, int64_t{1} << 62);
        detail::check_range("search.max_seconds", max_seconds, 0.0, 1e9);
        TRISEG_CHECK(episodes > 0 || max_evaluations > 0 || max_macs > 0 || max_seconds > 0,
                     ConfigError,
                     "the search needs a budget: set search.episodes, search.max_evaluations, "
                     "search.max_macs or search.max_seconds above 0");
        detail::check_range<int64_t>("search.episodes_per_generation", episodes_per_generation, 1,
                                     4096);
        detail::check_range<int64_t>("search.reward_images", reward_images, 1, 1000000);
        detail::check_range<int64_t>("search.eval_images", eval_images, 1, 1000000);
        detail::check_range<int64_t>("search.eval_every", eval_every, 1, int64_t{1} << 40);
        detail::check_range<int64_t>("search.checkpoint_every", checkpoint_every, 1,
                                     int64_t{1} << 40);
        detail::check_range<int64_t>("search.shard_images", shard_images, 1, 100000);
        detail::check_range<int64_t>("search.prefix_cache_mb", prefix_cache_mb, 0, 1 << 24);
        TRISEG_CHECK(racing_eta == 0 || (racing_eta >= 2 && racing_eta <= 64), ConfigError,
                     "`search.racing_eta` must be 0 (off) or in [2, 64], got " << racing_eta);
        detail::check_range<int64_t>("search.racing_images", racing_images, 1, 1000000);
        TRISEG_CHECK(!init.empty(), ConfigError,
                     "`search.init` must be random, lloyd, evenly-spaced or the path of a result "
                     "file (result.json); got an empty value");
        detail::check_range<int64_t>("search.tmax_min", tmax_min, 12, 255);
        detail::check_range<int64_t>("search.tmax_max", tmax_max, tmax_min, 255);
        detail::check_range("search.target_coverage", target_coverage, 0.0, 1.0);
        TRISEG_CHECK(target_drop < 0.0 || target_drop <= 100.0, ConfigError,
                     "`search.target_drop` must be a drop in points in [0, 100], or negative for "
                     "off; got "
                         << target_drop);
    }
};

} // namespace triseg::search
