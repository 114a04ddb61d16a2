// bench_replay: cost of suffix replay from a stored block's live set vs a full forward pass of
// the integer network, same images, same threads, in one run. Any model file (a VGG chain or
// a graph: ResNet, MobileNetV2).
//
//   full(k)   = Int8Network::forward on N input codes (all ops + classifier)
//   suffix(k) = Int8Network::forward_from(k, block k's stored live set) (the ops after block k)
// Input codes are random (the integer kernels' cost does not depend on the values); the live
// sets are those of the same images (forward_tensors). Each measurement is the median of
// --rounds rounds, the sides alternating; the ratio suffix/full is printed per block, next to
// the MAC share of the suffix (Int8Network::forward_from_macs(k) / forward_macs()).
//
// --incremental times the search's incremental evaluation instead: one
// candidate equal to an anchor in layers 0..k-1 and different at layer k, scored by
// CandidateScorer::score_units on --images images with the anchor's PrefixCache (filled
// beforehand, as after the first candidate of an anchor) vs without it (a full forward), for
// every k; the two are checked to give the same Fitness (but the MACs). It also prints the MAC
// share of the replay an earlier cache ran, which started from the last block at or before k
// whose live set is the block alone (Int8Network::replayable), or ran a full forward when none
// was: on a graph, where skips cross blocks, the MACs per candidate before and after.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "common/error.h"
#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/eval/candidate_scorer.h"
#include "engine/eval/prefix_cache.h"
#include "engine/eval/scoring_set.h"
#include "engine/int8/int8_network.h"
#include "io/h5_int8_model.h"

namespace {

using triseg::bench::usage_error;

struct Flags {
    std::string model;
    int64_t images = 1000;
    int64_t threads = 2;
    int64_t rounds = 5;
    bool incremental = false;
    int64_t shard_images = 32;
};

constexpr double kTemperature = 2.0;

double seconds_of(const std::function<void()>& fn) {
    const auto t = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double mac_share(const triseg::engine::Int8Network& net, int64_t k) {
    return static_cast<double>(net.forward_from_macs(k)) / static_cast<double>(net.forward_macs());
}

/// The MACs per image an earlier prefix cache replayed for a candidate first changed at layer
/// `k`: from the last block <= k whose live set is the block alone, else a full forward.
int64_t macs_before(const triseg::engine::Int8Network& net, int64_t k) {
    for (int64_t b = k; b >= 0; --b) {
        if (net.replayable(b)) {
            return net.forward_from_macs(b);
        }
    }
    return net.forward_macs();
}

/// --incremental: the scorer with the anchor's prefix cache vs without, per changed layer.
int run_incremental(const Flags& f, const triseg::engine::Int8Network& net) {
    using namespace triseg;
    const int threads = static_cast<int>(f.threads);
    Rng rng(1);
    engine::Int8Inputs inputs;
    inputs.count = f.images;
    inputs.image_codes = net.input_size();
    inputs.codes.resize(static_cast<size_t>(f.images * net.input_size()));
    for (auto& c : inputs.codes) {
        c = static_cast<uint8_t>(rng.uniform_below(256));
    }
    inputs.labels.assign(static_cast<size_t>(f.images), 0);
    const engine::ScoringSet set =
        engine::make_scoring_set(net, std::move(inputs), "bench", "random codes", threads);
    const engine::CandidateScorer scorer(net, set, f.shard_images, kTemperature);
    engine::PrefixCache cache(net, set, f.shard_images, std::numeric_limits<int64_t>::max());
    engine::CodeSet anchor;
    anchor.layers.assign(static_cast<size_t>(net.num_layers()), engine::evenly_spaced_codes(32));
    cache.set_anchor(anchor);
    const int64_t units = scorer.shards();
    scorer.score_units({anchor}, 0, units, threads, &cache); // fills every shard (untimed)

    std::printf("model %s, %lld images (shards of %lld), %d threads, median of %lld rounds\n",
                f.model.c_str(), static_cast<long long>(f.images),
                static_cast<long long>(f.shard_images), threads, static_cast<long long>(f.rounds));
    std::printf("incremental = CandidateScorer::score_units with the anchor's prefix cache; "
                "full = without (a full forward)\n");
    std::printf("%-24s %10s %12s %8s %10s %10s\n", "changed", "full s", "increm. s", "ratio",
                "MAC share", "before");
    double sum_ratio = 0.0;
    double sum_share = 0.0;
    double sum_before = 0.0;
    for (int64_t k = 0; k < net.num_layers(); ++k) {
        engine::CodeSet cand = anchor;
        cand.layers[static_cast<size_t>(k)] = engine::evenly_spaced_codes(40);
        const std::vector<engine::CodeSet> one{cand};
        TRISEG_CHECK(cache.replay_block(cand) == k, InputError, "bad incremental candidate");
        std::vector<engine::UnitScore> full_units;
        std::vector<engine::UnitScore> inc_units;
        std::vector<double> full;
        std::vector<double> inc;
        for (int64_t r = 0; r < f.rounds; ++r) {
            auto time_full = [&] {
                full.push_back(
                    seconds_of([&] { full_units = scorer.score_units(one, 0, units, threads); }));
            };
            auto time_inc = [&] {
                inc.push_back(seconds_of(
                    [&] { inc_units = scorer.score_units(one, 0, units, threads, &cache); }));
            };
            if (r % 2 == 0) { // alternate which side goes first
                time_full();
                time_inc();
            } else {
                time_inc();
                time_full();
            }
        }
        auto a = scorer.reduce(full_units, 1).at(0);
        auto b = scorer.reduce(inc_units, 1).at(0);
        TRISEG_CHECK(b.macs == f.images * net.forward_from_macs(k), InputError,
                     "the incremental candidate ran " << b.macs << " MACs, expected "
                                                      << f.images * net.forward_from_macs(k));
        a.macs = b.macs = 0;
        TRISEG_CHECK(a == b, InputError,
                     "incremental and full evaluation differ at layer " << k << " (a bug)");
        const double ratio = median(inc) / median(full);
        const double share = mac_share(net, k);
        const double before =
            static_cast<double>(macs_before(net, k)) / static_cast<double>(net.forward_macs());
        sum_ratio += ratio;
        sum_share += share;
        sum_before += before;
        std::printf("%-24s %10.4f %12.4f %8.3f %10.3f %10.3f\n",
                    net.layer_names()[static_cast<size_t>(k)].c_str(), median(full), median(inc),
                    ratio, share, before);
    }
    const auto layers = static_cast<double>(net.num_layers());
    std::printf("mean over the %lld layers: time ratio incremental/full = %.3f, MAC share = "
                "%.3f (time/MAC = %.2f)\n",
                static_cast<long long>(net.num_layers()), sum_ratio / layers, sum_share / layers,
                sum_ratio / sum_share);
    std::printf("MACs per candidate, mean over the changed layer: %.3f of a full forward (an "
                "earlier cache, from the last replayable block: %.3f; %.2fx fewer now)\n",
                sum_share / layers, sum_before / layers, sum_before / sum_share);
    return 0;
}

int run(const Flags& f) {
    using namespace triseg;
    const engine::Int8Network net(io::read_int8_graph(f.model));
    if (f.incremental) {
        return run_incremental(f, net);
    }
    Rng rng(1);
    std::vector<uint8_t> input(static_cast<size_t>(f.images * net.input_size()));
    for (auto& c : input) {
        c = static_cast<uint8_t>(rng.uniform_below(256));
    }
    const auto& tensors = net.graph().tensors;
    std::vector<std::vector<uint8_t>> stored(tensors.size());
    std::vector<uint8_t*> keep(tensors.size(), nullptr);
    for (int64_t i = 0; i < net.num_layers(); ++i) {
        for (int32_t t : net.live_tensors(i)) {
            auto& v = stored[static_cast<size_t>(t)];
            v.resize(static_cast<size_t>(f.images * tensors[static_cast<size_t>(t)].size()));
            keep[static_cast<size_t>(t)] = v.data();
        }
    }
    std::vector<float> logits(static_cast<size_t>(f.images * net.num_classes()));
    const int threads = static_cast<int>(f.threads);
    net.forward_tensors(input.data(), f.images, logits.data(), keep, {}, threads);

    std::printf("model %s, %lld images, %d threads, median of %lld rounds\n", f.model.c_str(),
                static_cast<long long>(f.images), threads, static_cast<long long>(f.rounds));
    std::printf("%-24s %10s %10s %8s %10s\n", "from", "full s", "suffix s", "ratio", "MAC share");
    double sum_ratio = 0.0;
    double sum_share = 0.0;
    for (int64_t k = 0; k < net.num_layers(); ++k) {
        std::vector<double> full;
        std::vector<double> suffix;
        for (int64_t r = 0; r < f.rounds; ++r) {
            full.push_back(seconds_of(
                [&] { net.forward(input.data(), f.images, logits.data(), {}, nullptr, threads); }));
            std::vector<const uint8_t*> live;
            for (int32_t t : net.live_tensors(k)) {
                live.push_back(stored[static_cast<size_t>(t)].data());
            }
            suffix.push_back(seconds_of(
                [&] { net.forward_from(k, live, f.images, logits.data(), {}, nullptr, threads); }));
        }
        const double ratio = median(suffix) / median(full);
        const double share = mac_share(net, k);
        sum_ratio += ratio;
        sum_share += share;
        std::printf("%-24s %10.4f %10.4f %8.3f %10.3f\n",
                    net.layer_names()[static_cast<size_t>(k)].c_str(), median(full), median(suffix),
                    ratio, share);
    }
    std::printf("mean ratio over the %lld blocks: %.3f (MAC share %.3f)\n",
                static_cast<long long>(net.num_layers()),
                sum_ratio / static_cast<double>(net.num_layers()),
                sum_share / static_cast<double>(net.num_layers()));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    Flags f;
    return triseg::bench::guarded_main("bench_replay", [&] {
        triseg::bench::BenchFlags flags(
            "bench_replay",
            "Cost of suffix replay from a stored block's live set vs a full INT8 forward pass,\n"
            "same images and threads; the ratio suffix/full per block (any model file).");
        flags.add_string("model", f.model, "FILE", "the integer model (int8/model.h5), required");
        flags.add_int("images", f.images, 1, "images per pass");
        flags.add_int("threads", f.threads, 1, "Int8Network threads");
        flags.add_int("rounds", f.rounds, 1, "rounds; each figure is their median");
        flags.add_switch("incremental", f.incremental,
                         "time the scorer with the anchor's prefix cache vs without, per changed "
                         "layer");
        flags.add_int("shard-images", f.shard_images, 1, "--incremental: images per shard");
        if (!flags.parse(argc, argv)) {
            return 0;
        }
        if (f.model.empty()) {
            usage_error("--model FILE is required");
        }
        return run(f);
    });
}
