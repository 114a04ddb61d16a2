// Methods in the allocation space (one tmax per layer, Lloyd-Max codes inside): lloyd's sweep
// and its front, every pagmo method's first population and candidates, save/load, the
// coverage-target penalty, and methods that refuse the space.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "search/allocation_space.h"
#include "search/lloyd_sweep.h"
#include "search/pagmo_search.h"
#include "search/ppo_options.h"
#include "search/registry.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

constexpr int kLayers = 5;

std::shared_ptr<const AllocationSpace> allocation(int32_t lo = 16, int32_t hi = 64) {
    Rng rng(11);
    std::vector<CodeCounts> hs(kLayers);
    for (size_t l = 0; l < hs.size(); ++l) {
        hs[l].fill(0);
        for (int i = 0; i < 5000; ++i) {
            // Layer l's codes spread up to 40 + 20 l: deeper layers need a larger tmax.
            ++hs[l][static_cast<size_t>(rng.uniform_below(40 + 20 * l))];
        }
    }
    return std::make_shared<const AllocationSpace>(lo, hi, hs);
}

AlgorithmContext context(uint64_t seed,
                         std::optional<CodeSet> init = std::nullopt,
                         std::shared_ptr<const AllocationSpace> a = allocation()) {
    AlgorithmContext c;
    c.space = CodeSpace{kLayers, 32};
    c.seed = seed;
    c.generation = 4;
    c.init = std::move(init);
    c.allocation = std::move(a);
    return c;
}

/// A toy trade-off: the KD loss grows with every layer's tmax (deeper layers cost more), the
/// coverage with their mean.
std::vector<Fitness> score(const std::vector<CodeSet>& cs) {
    std::vector<Fitness> out;
    for (const auto& c : cs) {
        Fitness f;
        double t = 0;
        for (size_t l = 0; l < c.layers.size(); ++l) {
            t += c.layers[l].tmax;
            f.kd_loss += 0.001 * static_cast<double>(l + 1) * c.layers[l].tmax;
        }
        f.covered = t / (64.0 * static_cast<double>(c.layers.size()));
        f.acc_teacher = 100.0;
        f.acc_student = 100.0 - f.kd_loss;
        out.push_back(f);
    }
    return out;
}

/// True when every layer's codes are the allocation's Lloyd-Max codes of its tmax.
bool in_allocation(const CodeSet& c, const AllocationSpace& a) {
    for (size_t l = 0; l < c.layers.size(); ++l) {
        if (c.layers[l] != a.codes(static_cast<int64_t>(l), c.layers[l].tmax) ||
            c.layers[l].tmax < a.tmax_min() || c.layers[l].tmax > a.tmax_max()) {
            return false;
        }
    }
    return static_cast<int64_t>(c.layers.size()) == a.layers();
}

TEST(LloydSweep, AsksTheUniformThenTheQuantilePointsOnceAndKeepsTheFront) {
    const auto a = allocation(16, 40);
    auto algo = make_algorithm("lloyd", context(0, std::nullopt, a));
    const auto asked = algo->ask();
    // 25 uniform points first, in ascending tmax; then the distinct quantile points.
    ASSERT_GE(asked.size(), 25u);
    ASSERT_LE(asked.size(), 25u + lloyd_sweep_quantiles().size());
    for (int32_t t = 16; t <= 40; ++t) {
        EXPECT_EQ(asked[static_cast<size_t>(t - 16)], a->uniform(t));
    }
    for (size_t i = 25; i < asked.size(); ++i) {
        EXPECT_TRUE(in_allocation(asked[i], *a));
    }
    EXPECT_EQ(asked.back(), a->decode(a->quantile_tmax(lloyd_sweep_quantiles().back())));
    EXPECT_FALSE(algo->finished());
    const auto scores = score(asked);
    algo->tell(asked, scores);
    EXPECT_TRUE(algo->finished());
    // The front: every point non-dominated, and every non-dominated point present.
    const auto front = algo->front();
    ASSERT_FALSE(front.empty());
    for (size_t i = 0; i < asked.size(); ++i) {
        bool dominated = false;
        for (size_t j = 0; j < asked.size(); ++j) {
            dominated =
                dominated ||
                (scores[j].kd_loss <= scores[i].kd_loss && scores[j].covered >= scores[i].covered &&
                 (scores[j].kd_loss < scores[i].kd_loss || scores[j].covered > scores[i].covered));
        }
        const bool in_front = std::find(front.begin(), front.end(), asked[i]) != front.end();
        EXPECT_EQ(in_front, !dominated) << "point " << i;
    }
}

TEST(LloydSweep, SaveLoadKeepsTheFrontAndAPrefixTellScoresThePrefix) {
    auto algo = make_algorithm("lloyd", context(0));
    auto asked = algo->ask();
    asked.resize(10); // a budget of 10 episodes
    algo->tell(asked, score(asked));
    Checkpoint c;
    algo->save(c);
    auto back = make_algorithm("lloyd", context(0));
    back->load(c);
    EXPECT_TRUE(back->finished());
    EXPECT_EQ(back->front(), algo->front());
    // Another range gives another sweep: its checkpoint does not fit.
    auto other = make_algorithm("lloyd", context(0, std::nullopt, allocation(20, 24)));
    EXPECT_THROW(other->load(c), InputError);
    Checkpoint damaged = c;
    damaged.entries.begin()->second = "3\nzz 0x1p-1\n";
    EXPECT_THROW(back->load(damaged), InputError);
}

class PagmoAllocation : public ::testing::TestWithParam<std::string> {};

TEST_P(PagmoAllocation, StartsFromTheUniformPointsAndAsksOnlyAllocations) {
    const auto a = allocation();
    auto algo = make_algorithm(GetParam(), context(5, std::nullopt, a));
    const auto first = algo->ask();
    // The first population: the uniform-tmax points at 7 values spread over [16, 64] first.
    const auto spread = a->spread(7);
    ASSERT_GE(first.size(), spread.size());
    for (size_t i = 0; i < spread.size(); ++i) {
        EXPECT_EQ(first[i], a->uniform(spread[i])) << GetParam() << " individual " << i;
    }
    // Then the coverage-quantile allocations (the distinct ones, in ascending quantile).
    std::vector<CodeSet> quantiles;
    for (int p = 86; p <= 98; p += 2) {
        const CodeSet q = a->decode(a->quantile_tmax(p / 100.0));
        if (std::find(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(spread.size()),
                      q) == first.begin() + static_cast<std::ptrdiff_t>(spread.size()) &&
            std::find(quantiles.begin(), quantiles.end(), q) == quantiles.end()) {
            quantiles.push_back(q);
        }
    }
    ASSERT_FALSE(quantiles.empty());
    for (size_t i = 0; i < quantiles.size(); ++i) {
        EXPECT_EQ(first.at(spread.size() + i), quantiles[i]) << GetParam() << " quantile " << i;
    }
    std::set<int32_t> tmaxes;
    auto asked = first;
    for (int round = 0; round < 12; ++round) {
        for (const auto& c : asked) {
            ASSERT_TRUE(in_allocation(c, *a)) << GetParam();
            for (const auto& l : c.layers) {
                tmaxes.insert(l.tmax);
            }
        }
        algo->tell(asked, score(asked));
        asked = algo->ask();
    }
    EXPECT_GT(tmaxes.size(), 10u) << GetParam();
}

TEST_P(PagmoAllocation, InitCodesComeFirstAndSaveLoadResumesExactly) {
    const auto a = allocation();
    const CodeSet init = a->decode({20, 30, 40, 50, 60});
    auto algo = make_algorithm(GetParam(), context(2, init));
    auto asked = algo->ask();
    EXPECT_EQ(asked.at(0), init);
    EXPECT_EQ(asked.at(1), a->uniform(16));
    // Resume after a few rounds equals the uninterrupted run.
    auto whole = make_algorithm(GetParam(), context(2, init));
    std::vector<CodeSet> expected;
    for (int round = 0; round < 6; ++round) {
        auto c = whole->ask();
        whole->tell(c, score(c));
        expected.insert(expected.end(), c.begin(), c.end());
    }
    std::vector<CodeSet> got;
    auto part = make_algorithm(GetParam(), context(2, init));
    for (int round = 0; round < 6; ++round) {
        auto c = part->ask();
        part->tell(c, score(c));
        got.insert(got.end(), c.begin(), c.end());
        Checkpoint cp;
        part->save(cp);
        part = make_algorithm(GetParam(), context(2, init));
        part->load(cp);
    }
    EXPECT_EQ(got, expected) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Methods,
                         PagmoAllocation,
                         ::testing::Values("cmaes", "de", "gaco", "nsga2", "pso_gen", "sga"));

// The single-objective methods minimize -reward(): the KD loss plus the penalty; a coverage
// target therefore moves sga towards larger tmax than without one.
TEST(PagmoAllocationTarget, ThePenaltyIsWhatSingleObjectiveMethodsMinimize) {
    const auto run = [](double target) {
        auto algo = make_algorithm("sga", context(4));
        Fitness best;
        double best_objective = 1e300;
        for (int round = 0; round < 300; ++round) {
            auto c = algo->ask();
            auto s = score(c);
            for (auto& f : s) {
                f.penalty = target > 0 && f.covered < target ? 10.0 * (target - f.covered) : 0.0;
                if (-f.reward() < best_objective) {
                    best_objective = -f.reward();
                    best = f;
                }
            }
            algo->tell(c, s);
        }
        return best;
    };
    const Fitness free = run(0.0);
    const Fitness bound = run(0.8);
    EXPECT_LT(free.covered, 0.5);   // without a target the toy's optimum is every tmax at 16
    EXPECT_GE(bound.covered, 0.79); // with one it reaches the target, at a higher KD loss
    EXPECT_GT(bound.kd_loss, free.kd_loss);
}

// nsga2 in the codes space, given the histograms: after the init codes, the first population
// holds the uniform-tmax Lloyd-Max points at 7 tmax values spread over nsga2's range.
TEST(Nsga2CodesSpace, StartsFromTheUniformLloydMaxPointsWhenItHasHistograms) {
    Rng rng(3);
    std::vector<CodeCounts> hs(kLayers);
    for (auto& h : hs) {
        h.fill(0);
        for (int i = 0; i < 3000; ++i) {
            ++h[static_cast<size_t>(rng.uniform_below(80))];
        }
    }
    const CodeSet init = lloyd_code_set(CodeSpace{kLayers, 32}, hs);
    AlgorithmContext c;
    c.space = CodeSpace{kLayers, 32};
    c.seed = 1;
    c.generation = 4;
    c.code_histograms = hs;
    c.init = init;
    const auto first = make_algorithm("nsga2", c)->ask();
    const AllocationSpace a(16, 64, hs);
    ASSERT_GE(first.size(), 8u);
    EXPECT_EQ(first[0], init);
    const auto spread = a.spread(7);
    for (size_t i = 0; i < spread.size(); ++i) {
        EXPECT_EQ(first[i + 1], a.uniform(spread[i])) << "individual " << i + 1;
    }
    // Without histograms the first population is the random one, as before.
    c.code_histograms.clear();
    const auto plain = make_algorithm("nsga2", c)->ask();
    EXPECT_EQ(plain[0], init);
    EXPECT_NE(plain[1], a.uniform(16));
    EXPECT_TRUE(method_entry("nsga2").needs_code_histograms);
}

TEST(AllocationRegistry, MethodsWithoutTheSpaceAreRefusedByName) {
    for (const std::string name : {"random", "layerwise"}) {
        try {
            make_algorithm(name, context(0));
            ADD_FAILURE() << name << " accepted the allocation space";
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find("search.space=codes"), std::string::npos)
                << e.what();
            EXPECT_NE(std::string(e.what()).find("nsga2"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(allocation_method_names(),
              (std::vector<std::string>{"cmaes", "de", "gaco", "lloyd", "nsga2", "ppo", "pso_gen",
                                        "sga"}));
}

// PPO in the allocation space: every episode is one tmax per layer in the range with the
// space's Lloyd-Max codes; the warm start clones the init codes' tmax; a save and load
// between rounds resumes exactly; and the policy learns the toy's cheap end (every tmax low).
TEST(PpoAllocation, SamplesAllocationsWarmStartsResumesAndLearns) {
    const auto a = allocation(16, 40);
    const CodeSet init = a->decode({20, 24, 28, 32, 36});
    auto ppo = make_algorithm("ppo", context(5, init, a));
    const auto first = ppo->ask();
    ASSERT_EQ(first.size(), 4u);
    for (const auto& c : first) {
        EXPECT_TRUE(in_allocation(c, *a));
        for (const auto& l : c.layers) {
            EXPECT_GE(l.tmax, 16);
            EXPECT_LE(l.tmax, 40);
        }
    }
    // The pre-fit makes the init allocation the greedy proposal.
    EXPECT_EQ(ppo->proposal().value(), init);

    const auto run = [&](bool reload) {
        auto algo = make_algorithm("ppo", context(5, init, a));
        std::vector<CodeSet> all;
        for (int round = 0; round < 60; ++round) {
            auto c = algo->ask();
            algo->tell(c, score(c));
            all.insert(all.end(), c.begin(), c.end());
            if (reload) {
                Checkpoint cp;
                algo->save(cp);
                algo = make_algorithm("ppo", context(5, init, a));
                algo->load(cp);
            }
        }
        return std::make_pair(all, algo->proposal().value());
    };
    EXPECT_EQ(run(true), run(false));

    // Learning, from a random start with a larger step than the default: on the toy (the KD
    // loss grows with every tmax) the sampled allocations move down the range.
    MethodOptionsOf<PpoOptions> fast;
    fast.value.lr = 0.01;
    auto learner = make_algorithm("ppo", fast, context(5, std::nullopt, a));
    std::vector<double> mean_tmax;
    for (int round = 0; round < 150; ++round) {
        auto c = learner->ask();
        learner->tell(c, score(c));
        double t = 0;
        for (const auto& cs : c) {
            for (const auto& l : cs.layers) {
                t += l.tmax;
            }
        }
        mean_tmax.push_back(t / static_cast<double>(c.size() * kLayers));
    }
    const auto average = [&](size_t from, size_t to) {
        double t = 0;
        for (size_t i = from; i < to; ++i) {
            t += mean_tmax[i];
        }
        return t / static_cast<double>(to - from);
    };
    // Before the first update (50 transitions = 10 episodes) the policy is near uniform over
    // 16..40 (mean 28; 40 samples: sd 1.1).
    EXPECT_GT(average(0, 2), 24.5);
    EXPECT_LT(average(130, 150), 20.0) << "the policy did not move towards the cheaper allocations";

    // A codes-space checkpoint does not load into the allocation space: its actions are codes.
    auto codes_ppo = make_algorithm("ppo", context(5, std::nullopt, nullptr));
    auto c = codes_ppo->ask();
    codes_ppo->tell(c, score(c));
    Checkpoint cp;
    codes_ppo->save(cp);
    auto alloc_ppo = make_algorithm("ppo", context(5, std::nullopt, a));
    EXPECT_THROW(alloc_ppo->load(cp), InputError);
}

} // namespace
} // namespace triseg::search
