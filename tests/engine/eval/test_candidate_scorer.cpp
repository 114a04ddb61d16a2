// CandidateScorer's counts (changed, zeroed, covered, codes) and KD sums equal, integer for
// integer, those of the histogram algorithm it used before (forward with tables and
// histograms, counts from the histograms), for full forwards and for replays from every block
// of a prefix cache, any unit range and thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/eval/candidate_scorer.h"
#include "engine/eval/prefix_cache.h"
#include "engine/eval/scoring_set.h"
#include "engine/int8/kd_loss.h"
#include "tests/engine/int8/int8_fixture.h"

namespace triseg::engine {
namespace {

constexpr double kTemperature = 2.0;
constexpr int64_t kShard = 8;

struct Fixture {
    Int8Network net{test::random_int8_model(0.09, 41)};
    ScoringSet set;

    Fixture() {
        Rng rng(42);
        Int8Inputs all;
        all.count = 21; // shards of 8, 8 and 5
        all.image_codes = net.input_size();
        all.codes = test::random_codes(all.count * all.image_codes, rng);
        for (int64_t i = 0; i < all.count; ++i) {
            all.labels.push_back(static_cast<int64_t>(rng.uniform_below(10)));
        }
        set = make_scoring_set(net, std::move(all), "reward", "test", 1);
    }

    CodeSet random_set(Rng& rng) const {
        CodeSet s;
        for (int64_t l = 0; l < net.num_layers(); ++l) {
            s.layers.push_back(test::random_valid_codes(rng));
        }
        return s;
    }
};

const Fixture& fixture() {
    static const Fixture f;
    return f;
}

/// The candidate's sums over images [i0, i1) by the scorer's former histogram algorithm.
UnitScore by_histograms(const Fixture& f, const CodeSet& codes, int64_t i0, int64_t i1) {
    std::vector<CodeTable> tables;
    std::vector<const uint8_t*> ptrs;
    for (size_t l = 0; l < codes.layers.size(); ++l) {
        tables.push_back(make_table(codes.layers[l], "l"));
    }
    for (const auto& t : tables) {
        ptrs.push_back(t.data());
    }
    const int64_t classes = f.net.num_classes();
    std::vector<float> logits(static_cast<size_t>((i1 - i0) * classes));
    std::vector<CodeHistogram> hist;
    f.net.forward(f.set.inputs.codes.data() + i0 * f.set.inputs.image_codes, i1 - i0, logits.data(),
                  ptrs, &hist, 1);
    UnitScore s;
    s.stats = logit_stats(f.set.teacher_logits.data() + i0 * classes, logits.data(),
                          f.set.inputs.labels.data() + i0, i1 - i0, classes, kTemperature);
    for (size_t l = 0; l < hist.size(); ++l) {
        for (int v = 0; v < 256; ++v) {
            const int64_t h = hist[l][static_cast<size_t>(v)];
            const uint8_t t = tables[l][static_cast<size_t>(v)];
            s.codes += h;
            s.changed += t != v ? h : 0;
            s.zeroed += v != 0 && t == 0 ? h : 0;
            s.covered += v <= codes.layers[l].tmax ? h : 0;
        }
    }
    return s;
}

/// Every count of `units` summed, compared with the reference over the same images.
void expect_units_match(const Fixture& f,
                        const CodeSet& codes,
                        const std::vector<UnitScore>& units,
                        int64_t shards) {
    ASSERT_FALSE(units.empty());
    const int64_t k0 = units.front().unit % shards;
    const int64_t k1 = units.back().unit % shards + 1;
    const UnitScore want =
        by_histograms(f, codes, k0 * kShard, std::min(f.set.count(), k1 * kShard));
    UnitScore got;
    for (const auto& u : units) {
        got.codes += u.codes;
        got.changed += u.changed;
        got.zeroed += u.zeroed;
        got.covered += u.covered;
        got.stats.merge(u.stats);
    }
    EXPECT_EQ(got.codes, want.codes);
    EXPECT_EQ(got.changed, want.changed);
    EXPECT_EQ(got.zeroed, want.zeroed);
    EXPECT_EQ(got.covered, want.covered);
    EXPECT_GT(got.changed, 0);
    EXPECT_GT(got.zeroed, 0);
    EXPECT_EQ(got.stats.count, want.stats.count);
    EXPECT_EQ(got.stats.student_correct, want.stats.student_correct);
    EXPECT_EQ(got.stats.agree, want.stats.agree);
    EXPECT_NEAR(got.stats.kd_sum, want.stats.kd_sum, 1e-12); // grouped by shard
}

TEST(CandidateScorer, CountsEqualTheHistogramAlgorithmForAnyUnitRangeAndThreads) {
    const auto& f = fixture();
    const CandidateScorer scorer(f.net, f.set, kShard, kTemperature);
    ASSERT_EQ(scorer.shards(), 3);
    Rng rng(43);
    const std::vector<CodeSet> candidates{f.random_set(rng), f.random_set(rng)};
    for (int threads : {1, 2, 3}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        // Whole candidates, and ranges that start and end inside one.
        expect_units_match(f, candidates[0], scorer.score_units(candidates, 0, 3, threads), 3);
        expect_units_match(f, candidates[1], scorer.score_units(candidates, 3, 6, threads), 3);
        expect_units_match(f, candidates[0], scorer.score_units(candidates, 1, 3, threads), 3);
        expect_units_match(f, candidates[1], scorer.score_units(candidates, 4, 5, threads), 3);
    }
}

TEST(CandidateScorer, ReplaysFromEveryBlockCountAsTheFullForward) {
    const auto& f = fixture();
    const CandidateScorer scorer(f.net, f.set, kShard, kTemperature);
    PrefixCache cache(f.net, f.set, kShard, int64_t{1} << 30);
    ASSERT_TRUE(cache.enabled());
    Rng rng(44);
    const CodeSet anchor = f.random_set(rng);
    cache.set_anchor(anchor);
    for (int64_t k = 0; k < f.net.num_layers(); ++k) {
        SCOPED_TRACE("changed layer " + std::to_string(k));
        CodeSet c = anchor;
        for (int64_t l = k; l < f.net.num_layers(); ++l) { // differs from layer k on
            c.layers[static_cast<size_t>(l)] = test::random_valid_codes(rng);
        }
        while (c.layers[static_cast<size_t>(k)] == anchor.layers[static_cast<size_t>(k)]) {
            c.layers[static_cast<size_t>(k)] = test::random_valid_codes(rng);
        }
        ASSERT_EQ(cache.replay_block(c), k);
        const std::vector<CodeSet> one{c};
        expect_units_match(f, c, scorer.score_units(one, 0, 3, 2, &cache), 3);
        expect_units_match(f, c, scorer.score_units(one, 1, 2, 1, &cache), 3);
    }
    // The anchor itself replays its last block.
    expect_units_match(f, anchor, scorer.score_units({anchor}, 0, 3, 2, &cache), 3);
}

} // namespace
} // namespace triseg::engine
