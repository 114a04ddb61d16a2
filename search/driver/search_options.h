// SearchOptions: the `search` config section (method, budget, scoring sets, checkpoints).
#pragma once

#include <cstdint>
#include <string>

#include "common/option_checks.h"
#include "engine/core/image_split.h"

namespace triseg::search {

using engine::ImageSplit;

/// `search.init`: where a search starts. Random: each method's own random start (the behaviour
/// before search.init existed). Lloyd (the default, chosen by the study in docs/results.md):
/// the Lloyd-Max codes of the reward images' code histograms (search/lloyd_search.h).
/// EvenlySpaced: engine::evenly_spaced_codes(approx.tmax) at every layer. The codes reach the
/// method as AlgorithmContext::init; methods without a starting point (random) ignore them.
enum class SearchInit { Random, Lloyd, EvenlySpaced };

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
    /// `search.init`: random, lloyd or evenly-spaced (SearchInit).
    SearchInit init = SearchInit::Lloyd;
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

    bool operator==(const SearchOptions& o) const {
        return method == o.method && episodes == o.episodes &&
               max_evaluations == o.max_evaluations && max_macs == o.max_macs &&
               max_seconds == o.max_seconds &&
               episodes_per_generation == o.episodes_per_generation && init == o.init &&
               reward_images == o.reward_images && reward_split == o.reward_split &&
               eval_images == o.eval_images && eval_split == o.eval_split &&
               eval_every == o.eval_every && checkpoint_every == o.checkpoint_every &&
               shard_images == o.shard_images && prefix_cache_mb == o.prefix_cache_mb;
    }
    bool operator!=(const SearchOptions& o) const { return !(*this == o); }

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
    }
};

} // namespace triseg::search
