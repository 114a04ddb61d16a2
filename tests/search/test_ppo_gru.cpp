// The recurrent PPO policy (ppo.policy: gru): the GRU cell equals torch::nn::GRUCell, the PPO and
// cloning gradients (back-propagated through time) equal central differences of their losses,
// and the search is deterministic, resumes exactly and refuses policies of the other kind.
#include <torch/torch.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "search/allocation_space.h"
#include "search/ppo_features.h"
#include "search/ppo_network.h"
#include "search/ppo_search.h"
#include "search/toy_objectives.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

using namespace triseg::search::testing;

/// Our cell and LibTorch's both compute in double and differ only in summation order (and
/// ATen's FMA): they agree to far below this, relative to 1 (|h| < 1).
constexpr double kCellTol = 1e-13;
// The gradients against central differences of the loss, as the MLP's cloning gradient in
// test_ppo_network.cpp: double precision, a smooth loss (the PPO batch's ratios are kept well
// away from the clip's corners), so the difference quotient with step 1e-6 agrees to about
// 1e-9 relative to the largest gradient; kFdRelTol leaves room for that.
constexpr double kFdStep = 1e-6;
constexpr double kFdRelTol = 1e-6;
/// The network's PPO loss against the one written out in this test (same operations, other
/// order), relative.
constexpr double kLossRelTol = 1e-12;

TEST(PpoGru, CellEqualsTorchGruCell) {
    for (int64_t d : {1, 3, 7}) {
        SCOPED_TRACE("size " + std::to_string(d));
        PpoNetwork net(2, d, 0, 0, true);
        net.initialize(3);
        torch::NoGradGuard no_grad;
        auto cell = torch::nn::GRUCell(torch::nn::GRUCellOptions(d, d));
        cell->to(torch::kDouble);
        const auto opts = torch::TensorOptions().dtype(torch::kDouble);
        for (const auto& t : net.tensors()) {
            if (t.name.rfind("gru.", 0) != 0) {
                continue;
            }
            auto src = torch::from_blob(net.parameters().data() + t.offset, {t.rows * t.cols}, opts)
                           .clone();
            cell->named_parameters()[t.name.substr(4)].copy_(
                src.reshape(cell->named_parameters()[t.name.substr(4)].sizes()));
        }
        Rng rng(11);
        std::vector<double> h(static_cast<size_t>(d), 0.0);
        auto th = torch::zeros({1, d}, opts);
        for (int step = 0; step < 4; ++step) {
            std::vector<double> x(static_cast<size_t>(d));
            for (double& v : x) {
                v = 4.0 * rng.uniform01() - 2.0;
            }
            h = net.step(x, h);
            th = cell->forward(torch::from_blob(x.data(), {1, d}, opts).clone(), th);
            for (int64_t k = 0; k < d; ++k) {
                EXPECT_NEAR(h[static_cast<size_t>(k)], th[0][k].item<double>(), kCellTol);
            }
        }
    }
}

/// The GRU's size: the columns of its weight_ih.
size_t gru_size(const PpoNetwork& net) {
    for (const auto& t : net.tensors()) {
        if (t.name == "gru.weight_ih") {
            return static_cast<size_t>(t.cols);
        }
    }
    ADD_FAILURE() << "no GRU in " << net.shape();
    return 0;
}

/// One sample under `net`: its log-probability, entropy and value.
struct Eval {
    double logp = 0.0;
    double entropy = 0.0;
    double value = 0.0;
};

/// Each sample under `net`, the hidden state run over its episode from zeros, through the
/// network's public one-step API (as PpoSearch samples).
std::vector<Eval> evaluate(const PpoNetwork& net, const std::vector<PpoSample>& batch) {
    std::vector<Eval> out;
    std::vector<double> h;
    for (const auto& s : batch) {
        if (s.layer == 0) {
            h.assign(gru_size(net), 0.0);
        }
        h = net.step(net.input(s.layer, s.features), h);
        Eval e;
        e.value = net.head_value(h);
        for (int k = 0; k < PpoNetwork::kHeads; ++k) {
            const auto z = net.head_logits(k, h);
            const CodeRange r = s.allowed[static_cast<size_t>(k)];
            double m = -std::numeric_limits<double>::infinity();
            for (int32_t v = r.lo; v <= r.hi; ++v) {
                m = std::max(m, z[static_cast<size_t>(v)]);
            }
            double sum = 0.0;
            for (int32_t v = r.lo; v <= r.hi; ++v) {
                sum += std::exp(z[static_cast<size_t>(v)] - m);
            }
            const double lse = m + std::log(sum);
            e.logp += z[static_cast<size_t>(s.action[static_cast<size_t>(k)])] - lse;
            for (int32_t v = r.lo; v <= r.hi; ++v) {
                const double lp = z[static_cast<size_t>(v)] - lse;
                e.entropy -= std::exp(lp) * lp;
            }
        }
        out.push_back(e);
    }
    return out;
}

/// The PPO loss (PpoNetwork::loss_and_gradient) with each advantage frozen at `adv`: the
/// network's gradient has none through the advantage, so this is the function it is the
/// gradient of.
double ppo_loss(const PpoNetwork& net,
                const std::vector<PpoSample>& batch,
                const std::vector<double>& adv,
                const PpoOptions& o) {
    const auto ev = evaluate(net, batch);
    double surrogate = 0.0;
    double squared = 0.0;
    double entropy = 0.0;
    for (size_t i = 0; i < batch.size(); ++i) {
        const double ratio = std::exp(ev[i].logp - batch[i].old_logp);
        const double clipped = std::min(std::max(ratio, 1.0 - o.eps_clip), 1.0 + o.eps_clip);
        surrogate += std::min(ratio * adv[i], clipped * adv[i]);
        squared += (ev[i].value - batch[i].ret) * (ev[i].value - batch[i].ret);
        entropy += ev[i].entropy;
    }
    const auto n = static_cast<double>(batch.size());
    return -(surrogate / n) + o.value_coef * (squared / n) - o.entropy_coef * (entropy / n);
}

/// Episodes of `lengths` layers each (whole ones, and a prefix), valid random actions; old
/// log-probabilities are the current ones shifted by -0.6, 0 or +0.6, so ratios are 1.82, 1 or
/// 0.55: far from the clip range's ends at 0.8 and 1.2.
std::vector<PpoSample>
make_episodes(const PpoNetwork& net, const CodeSpace& space, const std::vector<int32_t>& lengths) {
    Rng rng(42);
    std::vector<PpoSample> batch;
    for (int32_t n : lengths) {
        for (int32_t l = 0; l < n; ++l) {
            PpoSample s;
            s.layer = l;
            for (int64_t k = 0; k < net.features(); ++k) {
                s.features.push_back(4.0 * rng.uniform01() - 2.0);
            }
            const auto c = space.sample(rng);
            s.action = {c.t1, c.t2, c.v1, c.v2};
            s.allowed = {space.t1(), space.t2(c.t1), space.v1(c.t1, c.t2), space.v2(c.t2)};
            s.ret = 2.0 * rng.uniform01() - 1.0;
            batch.push_back(s);
        }
    }
    const auto ev = evaluate(net, batch);
    for (size_t i = 0; i < batch.size(); ++i) {
        batch[i].old_logp = ev[i].logp + 0.6 * static_cast<double>(static_cast<int>(i % 3) - 1);
    }
    return batch;
}

/// `grad` (the network's analytic gradient) against central differences of `loss`.
template <typename Loss>
void expect_gradient_matches_differences(PpoNetwork& net,
                                         const std::vector<double>& grad,
                                         const Loss& loss) {
    double largest = 0.0;
    for (double g : grad) {
        largest = std::max(largest, std::abs(g));
    }
    ASSERT_GT(largest, 0.0);
    for (size_t i = 0; i < grad.size(); ++i) {
        const double keep = net.parameters()[i];
        net.parameters()[i] = keep + kFdStep;
        const double up = loss();
        net.parameters()[i] = keep - kFdStep;
        const double down = loss();
        net.parameters()[i] = keep;
        EXPECT_NEAR(grad[i], (up - down) / (2 * kFdStep), kFdRelTol * largest) << "parameter " << i;
    }
    // The GRU's weights get a gradient (through time, too: weight_hh only gets one there).
    for (const auto& t : net.tensors()) {
        if (t.name.rfind("gru.", 0) == 0) {
            double sum = 0.0;
            for (int64_t k = 0; k < t.rows * t.cols; ++k) {
                sum += std::abs(grad[static_cast<size_t>(t.offset + k)]);
            }
            EXPECT_GT(sum, 0.0) << t.name;
        }
    }
}

TEST(PpoGru, PpoGradientEqualsFiniteDifferences) {
    const CodeSpace space{4, 20};
    for (int64_t features : {0, 6}) {
        for (int64_t hidden : {0, 5}) {
            SCOPED_TRACE("features " + std::to_string(features) + ", hidden " +
                         std::to_string(hidden));
            PpoNetwork net(4, 3, hidden, features, true);
            net.initialize(8);
            const auto batch = make_episodes(net, space, {4, 4, 2});
            PpoOptions o;
            o.entropy_coef = 0.05; // weigh every term of the loss
            const PpoLoss parts = net.loss_and_gradient(batch, o);
            const std::vector<double> grad = net.gradient();
            EXPECT_GT(parts.clip_fraction, 0.0);
            EXPECT_LT(parts.clip_fraction, 1.0);
            std::vector<double> adv;
            for (size_t i = 0; i < batch.size(); ++i) {
                adv.push_back(batch[i].ret - evaluate(net, batch)[i].value);
            }
            // The network's loss is the one written out here.
            EXPECT_NEAR(parts.loss, ppo_loss(net, batch, adv, o),
                        kLossRelTol * std::abs(parts.loss));
            expect_gradient_matches_differences(net, grad,
                                                [&] { return ppo_loss(net, batch, adv, o); });
        }
    }
}

TEST(PpoGru, CloningGradientEqualsFiniteDifferences) {
    const CodeSpace space{4, 20};
    for (int64_t features : {0, 6}) {
        SCOPED_TRACE("features " + std::to_string(features));
        PpoNetwork net(4, 4, 5, features, true);
        net.initialize(9);
        const auto batch = make_episodes(net, space, {4, 3});
        EXPECT_GT(net.cloning_loss_and_gradient(batch).loss, 0.0);
        const std::vector<double> grad = net.gradient();
        expect_gradient_matches_differences(
            net, grad, [&] { return net.cloning_loss_and_gradient(batch).loss; });
    }
}

TEST(PpoGru, BatchesMustHoldEpisodesInLayerOrder) {
    const CodeSpace space{4, 20};
    PpoNetwork net(4, 3, 0, 0, true);
    net.initialize(1);
    auto batch = make_episodes(net, space, {4});
    std::swap(batch[1], batch[2]);
    EXPECT_THROW(net.loss_and_gradient(batch, {}), InputError);
    batch = make_episodes(net, space, {4});
    batch.erase(batch.begin()); // starts mid-episode
    EXPECT_THROW(net.cloning_loss_and_gradient(batch), InputError);
    EXPECT_THROW(net.logits(0, 0), InputError);
    EXPECT_NE(net.shape().find("ppo.policy gru"), std::string::npos) << net.shape();
}

CodeSpace space() {
    return CodeSpace{13, 32};
}

std::vector<PpoLayerFacts> facts(int64_t layers) {
    Rng rng(3);
    std::vector<PpoLayerFacts> out(static_cast<size_t>(layers));
    for (auto& f : out) {
        f.zero_point = static_cast<int32_t>(rng.uniform_below(5));
        f.scale = 0.01 + 0.1 * rng.uniform01();
        for (int c = 0; c < 60; ++c) {
            f.histogram[static_cast<size_t>(c)] = 1 + static_cast<int64_t>(rng.uniform_below(50));
        }
        for (int i = 0; i < 20; ++i) {
            f.weights.push_back(0.02 * (static_cast<double>(rng.uniform_below(9)) - 4.0));
        }
    }
    return out;
}

PpoOptions gru(const std::string& state = "embedding") {
    PpoOptions o;
    o.policy = "gru";
    o.state = state;
    return o;
}

std::unique_ptr<Algorithm> ppo(uint64_t seed, const PpoOptions& o) {
    PpoInputs in;
    in.layer_facts = facts(13);
    return std::make_unique<PpoSearch>(space(), seed, 4, o, std::nullopt, nullptr, in);
}

TEST(PpoGru, UnknownPolicyIsAConfigErrorNamingTheKeyAndValues) {
    PpoOptions o;
    o.policy = "lstm";
    try {
        PpoSearch p(space(), 0, 4, o);
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("`ppo.policy` must be mlp or gru, got 'lstm'"),
                  std::string::npos)
            << e.what();
    }
}

TEST(PpoGru, IsDeterministicResumesExactlyAndUpdatesOnWholeEpisodes) {
    const SensitivityObjective f(space(), 1);
    for (const std::string state : {"embedding", "enhanced"}) {
        SCOPED_TRACE(state);
        const auto o = gru(state);
        // 9 episodes: two updates of 52 transitions (4 whole episodes each), one in the buffer.
        expect_resume_equal([&] { return ppo(5, o); }, f, 8, 9);
        expect_deterministic([&] { return ppo(5, o); }, [&] { return ppo(6, o); }, f, 24);
        auto a = ppo(5, o);
        expect_valid(run_history(*a, f, 9), space());
        const auto log = a->take_log();
        ASSERT_EQ(log.size(), 2u);
        for (const auto& r : log) {
            EXPECT_EQ(r.values.at("transitions"), 52.0); // 50 rounded up to whole episodes
        }
        const auto greedy = a->proposal();
        ASSERT_TRUE(greedy.has_value());
        expect_valid(History{{*greedy}, {}}, space());
    }
    // A buffer that does not hold whole episodes is damage.
    auto a = ppo(5, gru());
    run_history(*a, f, 9);
    Checkpoint c;
    a->save(c);
    std::string& bytes = c.entries.at("ppo/buffer");
    ASSERT_GT(bytes.size(), 8u);
    bytes[8] = 1; // the first transition's layer (after the count): 1, not 0
    try {
        ppo(5, gru())->load(c);
        FAIL() << "loaded";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("whole episodes"), std::string::npos) << e.what();
    }
    // The recurrent policy samples other codes than the MLP of the same seed.
    auto mlp = ppo(5, {});
    auto rec = ppo(5, gru());
    EXPECT_FALSE(run_history(*mlp, f, 4) == run_history(*rec, f, 4));
}

TEST(PpoGru, TheAllocationSpaceSamplesValidTmaxAndResumesExactly) {
    constexpr int64_t kLayers = 5;
    std::vector<CodeCounts> hs(kLayers);
    for (size_t l = 0; l < hs.size(); ++l) {
        hs[l].fill(0);
        for (int c = 0; c < 30 + 10 * static_cast<int>(l); ++c) {
            hs[l][static_cast<size_t>(c)] = 100 - c;
        }
    }
    const auto alloc = std::make_shared<const AllocationSpace>(16, 40, hs);
    const CodeSpace s{kLayers, 32};
    const SensitivityObjective f(s, 1);
    PpoOptions o = gru("enhanced");
    o.update_transitions = 20;
    const auto make = [&] {
        PpoInputs in;
        in.layer_facts = facts(kLayers);
        return std::make_unique<PpoSearch>(s, 3, 4, o, std::nullopt, alloc, in);
    };
    auto a = make();
    for (const auto& c : run_history(*a, f, 12).candidates) {
        for (const auto& l : c.layers) {
            EXPECT_TRUE(engine::codes_valid(l)) << engine::to_string(l);
            EXPECT_GE(l.tmax, 16);
            EXPECT_LE(l.tmax, 40);
        }
    }
    EXPECT_EQ(static_cast<PpoSearch&>(*a).updates(), 3); // 60 transitions, 20 per update
    expect_resume_equal(make, f, 6, 6);
}

TEST(PpoGru, LearnsATwoLayerToyObjective) {
    // As PpoSearch.LearnsATwoLayerToyObjective: the average candidate must improve.
    const CodeSpace two{2, 32};
    const SensitivityObjective f(two, 4);
    PpoOptions o = gru();
    o.lr = 3e-3;
    PpoSearch a(two, 9, 8, o);
    const auto h = run_history(a, f, 1600);
    const double early = mean_loss(h, 0, 200);
    const double late = mean_loss(h, 1400, 1600);
    EXPECT_LT(late, 0.5 * early) << "early " << early << " late " << late;
    EXPECT_LT(f(*a.proposal()).kd_loss, 0.5 * early);
}

TEST(PpoGru, WarmStartFitsTheInitCodesThroughTheRecurrence) {
    const SensitivityObjective f(space(), 1);
    CodeSet init;
    Rng rng(4);
    for (int64_t l = 0; l < space().layers; ++l) {
        init.layers.push_back(space().sample(rng));
    }
    PpoSearch warm(space(), 3, 4, gru(), init);
    EXPECT_EQ(*warm.proposal(), init);
    const auto log = warm.take_log();
    ASSERT_FALSE(log.empty());
    EXPECT_EQ(log[0].kind, "init");
    EXPECT_GE(log[0].values.at("min_prob"), PpoOptions{}.init_prob);
}

TEST(PpoGru, CheckpointsAndInitPoliciesOfTheOtherPolicyAreRefusedNamingTheKey) {
    const SensitivityObjective f(space(), 1);
    for (const auto& [saved, wanted] :
         std::vector<std::pair<PpoOptions, PpoOptions>>{{gru(), {}}, {{}, gru()}}) {
        auto a = ppo(5, saved);
        run_history(*a, f, 8);
        Checkpoint c;
        a->save(c);
        try {
            ppo(5, wanted)->load(c);
            FAIL() << "loaded";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find("ppo.policy " + saved.policy), std::string::npos)
                << e.what();
        }
        PpoInputs in;
        in.layer_facts = facts(13);
        in.init_policy = c;
        in.init_policy_path = "runs/a/checkpoint.h5";
        try {
            PpoSearch b(space(), 1, 4, wanted, std::nullopt, nullptr, in);
            FAIL() << "adopted";
        } catch (const InputError& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("runs/a/checkpoint.h5"), std::string::npos) << m;
            EXPECT_NE(m.find("ppo.policy " + saved.policy), std::string::npos) << m;
        }
    }
    // A policy of the same kind is adopted.
    auto a = ppo(5, gru());
    run_history(*a, f, 8);
    Checkpoint c;
    a->save(c);
    PpoInputs in;
    in.init_policy = c;
    in.init_policy_path = "runs/a/checkpoint.h5";
    PpoSearch b(space(), 1, 4, gru(), std::nullopt, nullptr, in);
    Checkpoint d;
    b.save(d);
    EXPECT_EQ(d.entries.at("ppo/parameters"), c.entries.at("ppo/parameters"));
    EXPECT_EQ(d.entries.at("ppo/policy"), "gru");
}

} // namespace
} // namespace triseg::search
