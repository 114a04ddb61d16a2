// PpoSearch's options beyond the original's PPO: ppo.state: enhanced (and its features),
// ppo.encoding: relative, ppo.reward: ranked and the init policy; each resumes exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "search/allocation_space.h"
#include "search/ppo_features.h"
#include "search/ppo_search.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

using namespace triseg::search::testing;

/// Features are sums of a few hundred doubles, computed here in another order; they agree to
/// far below this (relative to the feature's size, at least 1).
constexpr double kFeatureTol = 1e-9;

CodeSpace space() {
    return CodeSpace{13, 32};
}

/// Layer facts with awkward, distinct histograms and weights (one layer without weights, as a
/// point made by an add).
std::vector<PpoLayerFacts> facts(int64_t layers, uint64_t seed = 3) {
    Rng rng(seed);
    std::vector<PpoLayerFacts> out;
    for (int64_t l = 0; l < layers; ++l) {
        PpoLayerFacts f;
        f.zero_point = static_cast<int32_t>(rng.uniform_below(5));
        f.scale = 0.01 + 0.1 * rng.uniform01();
        for (int c = 0; c < 256; ++c) {
            const int64_t peak = c < 40 ? 200 - 5 * c : 0;
            f.histogram[static_cast<size_t>(c)] =
                std::max<int64_t>(0, peak + static_cast<int64_t>(rng.uniform_below(20)) - 10);
        }
        f.histogram[255] = static_cast<int64_t>(rng.uniform_below(7)); // the edge code
        if (l != 2) {
            for (int i = 0; i < 27 + l; ++i) {
                const int64_t q = static_cast<int64_t>(rng.uniform_below(9)) - 4;
                f.weights.push_back(static_cast<double>(q) * 0.02);
            }
        }
        out.push_back(f);
    }
    return out;
}

PpoInputs inputs_for(int64_t layers) {
    PpoInputs in;
    in.layer_facts = facts(layers);
    return in;
}

std::unique_ptr<Algorithm> ppo(uint64_t seed, const PpoOptions& o, const PpoInputs& in = {}) {
    return std::make_unique<PpoSearch>(space(), seed, 4, o, std::nullopt, nullptr, in);
}

PpoOptions all_on() {
    PpoOptions o;
    o.state = "enhanced";
    o.encoding = "relative";
    o.reward = "ranked";
    return o;
}

TEST(PpoOptions, UnknownValuesAreConfigErrorsNamingTheKey) {
    auto expect_key = [](PpoOptions o, const std::string& key) {
        try {
            PpoSearch p(space(), 0, 4, o, std::nullopt, nullptr, inputs_for(13));
            FAIL() << key;
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    };
    PpoOptions o;
    o.state = "recurrent";
    expect_key(o, "`ppo.state`");
    o = {};
    o.encoding = "offsets";
    expect_key(o, "`ppo.encoding`");
    o = {};
    o.reward = "kd_rank";
    expect_key(o, "`ppo.reward`");
    // The enhanced state without its layer facts is an input error.
    o = {};
    o.state = "enhanced";
    EXPECT_THROW(PpoSearch(space(), 0, 4, o), InputError);
}

/// The unstandardized features of one layer, computed from the expanded list of values.
std::vector<double> expected_raw(const PpoLayerFacts& f, size_t l, size_t layers) {
    std::vector<double> values;
    for (int c = 0; c < 256; ++c) {
        for (int64_t k = 0; k < f.histogram[static_cast<size_t>(c)]; ++k) {
            values.push_back(f.scale * (c - f.zero_point));
        }
    }
    const double n = static_cast<double>(values.size());
    double mean = 0.0;
    for (double v : values) {
        mean += v / n;
    }
    double m2 = 0.0;
    double m3 = 0.0;
    double m4 = 0.0;
    for (double v : values) {
        m2 += std::pow(v - mean, 2) / n;
        m3 += std::pow(v - mean, 3) / n;
        m4 += std::pow(v - mean, 4) / n;
    }
    std::vector<double> out{static_cast<double>(l) / static_cast<double>(layers - 1), mean,
                            std::sqrt(m2), m3 / std::pow(m2, 1.5), m4 / (m2 * m2) - 3.0};
    std::sort(values.begin(), values.end());
    for (double p : {0.1, 0.5, 0.9}) { // nearest rank: the ceil(p n)-th smallest
        const auto rank = static_cast<size_t>(std::ceil(p * n - 1e-9));
        out.push_back(values[std::max<size_t>(rank, 1) - 1]);
    }
    double norm = 0.0;
    double zeros = 0.0;
    for (double w : f.weights) {
        norm += w * w;
        zeros += w == 0.0 ? 1.0 : 0.0;
    }
    out.push_back(std::sqrt(norm));
    out.push_back(f.weights.empty() ? 0.0 : zeros / static_cast<double>(f.weights.size()));
    out.push_back(f.scale);
    out.push_back(f.zero_point);
    return out;
}

TEST(PpoFeatures, EqualIndependentlyComputedStandardizedValues) {
    auto layers = facts(5);
    layers[4].scale = layers[3].scale; // still differs elsewhere
    const auto got = ppo_static_features(layers);
    ASSERT_EQ(got.size(), layers.size());
    std::vector<std::vector<double>> raw;
    for (size_t l = 0; l < layers.size(); ++l) {
        raw.push_back(expected_raw(layers[l], l, layers.size()));
        ASSERT_EQ(static_cast<int64_t>(got[l].size()), kPpoStaticFeatures);
        ASSERT_EQ(static_cast<int64_t>(raw[l].size()), kPpoStaticFeatures);
    }
    for (size_t k = 0; k < static_cast<size_t>(kPpoStaticFeatures); ++k) {
        double mean = 0.0;
        for (const auto& r : raw) {
            mean += r[k] / static_cast<double>(raw.size());
        }
        double var = 0.0;
        for (const auto& r : raw) {
            var += (r[k] - mean) * (r[k] - mean) / static_cast<double>(raw.size());
        }
        for (size_t l = 0; l < raw.size(); ++l) {
            const double want = (raw[l][k] - mean) / std::sqrt(var);
            EXPECT_NEAR(got[l][k], want, kFeatureTol * std::max(1.0, std::abs(want)))
                << "layer " << l << ", feature " << k;
        }
    }
    // The state appends the previous layer's t1 and t2 / 255 (0 for the first layer).
    engine::LayerCodes prev{4, 10, 16, 24, 32};
    const auto s = ppo_state(got[1], &prev);
    ASSERT_EQ(static_cast<int64_t>(s.size()), kPpoFeatures);
    EXPECT_EQ(s[kPpoStaticFeatures], 4 / 255.0);
    EXPECT_EQ(s[kPpoStaticFeatures + 1], 16 / 255.0);
    const auto first = ppo_state(got[0], nullptr);
    EXPECT_EQ(first[kPpoStaticFeatures], 0.0);
    EXPECT_EQ(first[kPpoStaticFeatures + 1], 0.0);
}

TEST(PpoFeatures, AConstantFeatureIsZeroAndAnEmptyHistogramIsAnError) {
    auto layers = facts(3);
    for (auto& f : layers) {
        f.zero_point = 0;
        f.weights.clear(); // norm and sparsity 0 everywhere
    }
    const auto got = ppo_static_features(layers);
    for (const auto& r : got) {
        EXPECT_EQ(r[8], 0.0);
        EXPECT_EQ(r[9], 0.0);
        EXPECT_EQ(r[11], 0.0);
    }
    layers[1].histogram.fill(0);
    EXPECT_THROW(ppo_static_features(layers), InputError);
}

TEST(PpoOptions, RelativeEncodingSamplesOnlyValidCodes) {
    for (const int32_t tmax : {12, 13, 32, 255}) {
        SCOPED_TRACE("tmax " + std::to_string(tmax));
        const CodeSpace s{5, tmax};
        const SensitivityObjective f(s, 2);
        PpoOptions o;
        o.encoding = "relative";
        PpoSearch a(s, 4, 8, o);
        const auto h = run_history(a, f, 2000); // 10000 layers, 40 updates
        expect_valid(h, s);
        const auto greedy = a.proposal();
        ASSERT_TRUE(greedy.has_value());
        expect_valid(History{{*greedy}, {}}, s);
        // Every segment is reached, its edges included.
        int32_t lowest_v1 = 255;
        int32_t highest_v2 = 0;
        for (const auto& c : h.candidates) {
            for (const auto& l : c.layers) {
                lowest_v1 = std::min(lowest_v1, l.v1 - l.t1);
                highest_v2 = std::max(highest_v2, l.v2);
            }
        }
        EXPECT_EQ(lowest_v1, 1);
        EXPECT_EQ(highest_v2, tmax);
    }
}

TEST(PpoOptions, RankedRewardsMapRanksToMinusOneToOneWithTiesAveraged) {
    EXPECT_EQ(ppo_ranked_rewards({-0.3, -0.9, -0.5}), (std::vector<double>{1.0, -1.0, 0.0}));
    EXPECT_EQ(ppo_ranked_rewards({-1, -1, -0.5, -2}), (std::vector<double>{0.0, 0.0, 1.0, -1.0}));
    EXPECT_EQ(ppo_ranked_rewards({-4, -4}), (std::vector<double>{0.0, 0.0}));
    EXPECT_EQ(ppo_ranked_rewards({-4}), (std::vector<double>{0.0}));
    // A ranked run's updates see the ranks: a generation's rewards sum to 0, so the mean reward
    // of an update that holds whole generations (4 episodes x 5 layers = 20 transitions) is 0.
    const CodeSpace s{5, 32};
    const SensitivityObjective f(s, 2);
    PpoOptions o;
    o.reward = "ranked";
    o.update_transitions = 20;
    PpoSearch a(s, 4, 4, o);
    run_history(a, f, 12);
    const auto log = a.take_log();
    ASSERT_EQ(log.size(), 3u);
    for (const auto& r : log) {
        EXPECT_NEAR(r.values.at("mean_reward"), 0.0, 1e-15);
    }
}

TEST(PpoOptions, EachOptionResumesExactly) {
    const SensitivityObjective f(space(), 1);
    // 9 episodes: two updates done, part of a buffer, each transition with its state.
    for (const auto& [name, o] :
         std::vector<std::pair<std::string, PpoOptions>>{{"enhanced",
                                                          [] {
                                                              PpoOptions p;
                                                              p.state = "enhanced";
                                                              return p;
                                                          }()},
                                                         {"relative",
                                                          [] {
                                                              PpoOptions p;
                                                              p.encoding = "relative";
                                                              return p;
                                                          }()},
                                                         {"ranked",
                                                          [] {
                                                              PpoOptions p;
                                                              p.reward = "ranked";
                                                              return p;
                                                          }()},
                                                         {"all", all_on()}}) {
        SCOPED_TRACE(name);
        const auto in = inputs_for(13);
        expect_resume_equal([&] { return ppo(5, o, in); }, f, 8, 9);
        expect_deterministic([&] { return ppo(5, o, in); }, [&] { return ppo(6, o, in); }, f, 24);
        auto a = ppo(5, o, in);
        expect_valid(run_history(*a, f, 40), space());
    }
}

TEST(PpoOptions, CheckpointsOfAnotherStateOrEncodingAreRefused) {
    const SensitivityObjective f(space(), 1);
    auto a = ppo(5, all_on(), inputs_for(13));
    run_history(*a, f, 8);
    Checkpoint c;
    a->save(c);
    PpoOptions relative_only;
    relative_only.encoding = "relative";
    EXPECT_THROW(ppo(5, relative_only)->load(c), InputError);
    // A format-2 checkpoint (before these options) loads as embedding, absolute.
    auto plain = ppo(5, {});
    run_history(*plain, f, 8);
    Checkpoint old;
    plain->save(old);
    old.entries["ppo/format"] = "triseg-ppo/2";
    old.entries.erase("ppo/state");
    old.entries.erase("ppo/encoding");
    old.entries.erase("ppo/init_adam_steps");
    auto whole = ppo(5, {});
    const auto expected = run_history(*whole, f, 16);
    auto resumed = ppo(5, {});
    resumed->load(old);
    const auto rest = run_history(*resumed, f, 8);
    EXPECT_TRUE(std::equal(rest.candidates.begin(), rest.candidates.end(),
                           expected.candidates.begin() + 8));
}

/// The checkpoint of a PPO search of `layers` layers with `o`, after a few updates.
Checkpoint trained(const PpoOptions& o, int64_t layers) {
    const CodeSpace s{layers, 32};
    const SensitivityObjective f(s, 1);
    PpoSearch a(s, 7, 4, o, std::nullopt, nullptr, inputs_for(layers));
    run_history(a, f, 12);
    Checkpoint c;
    a.save(c);
    return c;
}

/// The InputError message of starting a 13-layer PPO with `o` from `policy`.
std::string refusal(const PpoOptions& o, const Checkpoint& policy) {
    PpoInputs in = inputs_for(13);
    in.init_policy = policy;
    in.init_policy_path = "runs/a/checkpoint.h5";
    try {
        PpoSearch a(space(), 1, 4, o, std::nullopt, nullptr, in);
    } catch (const InputError& e) {
        return e.what();
    }
    return "accepted";
}

TEST(PpoOptions, InitPolicyStartsFromTheNetworkAndAdamStateOnly) {
    const SensitivityObjective f(space(), 1);
    const Checkpoint policy = trained(all_on(), 13);
    PpoInputs in = inputs_for(13);
    in.init_policy = policy;
    in.init_policy_path = "runs/a/checkpoint.h5";
    const auto make = [&] { return ppo(2, all_on(), in); };
    auto a = make();
    Checkpoint c;
    a->save(c);
    EXPECT_EQ(c.entries.at("ppo/parameters"), policy.entries.at("ppo/parameters"));
    EXPECT_EQ(c.entries.at("ppo/adam_m"), policy.entries.at("ppo/adam_m"));
    EXPECT_EQ(c.entries.at("ppo/adam_steps"), policy.entries.at("ppo/adam_steps"));
    EXPECT_EQ(c.entries.at("ppo/init_adam_steps"), policy.entries.at("ppo/adam_steps"));
    EXPECT_EQ(c.entries.at("ppo/episodes"), "0");
    EXPECT_EQ(c.entries.at("ppo/updates"), "0");
    const auto log = a->take_log();
    ASSERT_FALSE(log.empty());
    EXPECT_EQ(log[0].kind, "init_policy");
    expect_resume_equal(make, f, 8, 9);
    // An enhanced policy transfers from a model of another layer count.
    EXPECT_EQ(refusal(all_on(), trained(all_on(), 5)), "accepted");
}

TEST(PpoOptions, InitPolicyOfAnotherLayoutIsRefusedNamingTheFile) {
    auto expect_refused = [](const std::string& m, const std::string& why) {
        EXPECT_NE(m.find("runs/a/checkpoint.h5"), std::string::npos) << m;
        EXPECT_NE(m.find(why), std::string::npos) << m;
    };
    PpoOptions small;
    small.embedding_dim = 16;
    expect_refused(refusal({}, trained(small, 13)), "ppo.embedding_dim 16");
    expect_refused(refusal({}, trained({}, 5)),
                   "only ppo.state: enhanced policies transfer between models");
    expect_refused(refusal(all_on(), trained({}, 13)), "ppo.state embedding");
    PpoOptions relative;
    relative.encoding = "relative";
    expect_refused(refusal({}, trained(relative, 13)), "ppo.encoding relative");
    Checkpoint other;
    other.entries["random/next"] = "4";
    expect_refused(refusal({}, other), "not the checkpoint of a PPO search");
}

TEST(PpoOptions, TheAllocationSpaceWorksWithEveryOption) {
    constexpr int64_t kLayers = 5;
    std::vector<CodeCounts> hs(kLayers);
    for (size_t l = 0; l < hs.size(); ++l) {
        hs[l].fill(0);
        for (int c = 0; c < 30 + 10 * static_cast<int>(l); ++c) {
            hs[l][static_cast<size_t>(c)] = 100 - c;
        }
    }
    const auto alloc = std::make_shared<const AllocationSpace>(16, 40, hs);
    const PpoInputs in = inputs_for(kLayers);
    auto make = [&] {
        return std::make_unique<PpoSearch>(CodeSpace{kLayers, 32}, 3, 4, all_on(), std::nullopt,
                                           alloc, in);
    };
    // The cost grows with every layer's tmax, deeper layers more.
    auto run = [](PpoSearch& a, int generations, std::vector<CodeSet>& seen) {
        for (int g = 0; g < generations; ++g) {
            const auto cs = a.ask();
            std::vector<Fitness> fs;
            for (const auto& c : cs) {
                Fitness f;
                for (size_t l = 0; l < c.layers.size(); ++l) {
                    EXPECT_TRUE(engine::codes_valid(c.layers[l])) << engine::to_string(c.layers[l]);
                    EXPECT_GE(c.layers[l].tmax, 16);
                    EXPECT_LE(c.layers[l].tmax, 40);
                    f.kd_loss += 0.001 * static_cast<double>(l + 1) * c.layers[l].tmax;
                }
                fs.push_back(f);
            }
            a.tell(cs, fs);
            seen.insert(seen.end(), cs.begin(), cs.end());
        }
    };
    std::vector<CodeSet> whole;
    auto a = make();
    run(*a, 8, whole);
    std::vector<CodeSet> parts;
    auto b = make();
    run(*b, 3, parts); // 60 transitions: one update and 10 in the buffer
    Checkpoint c;
    b->save(c);
    auto resumed = make();
    resumed->load(c);
    run(*resumed, 5, parts);
    EXPECT_TRUE(parts == whole);
    EXPECT_EQ(a->updates(), 3);
}

} // namespace
} // namespace triseg::search
