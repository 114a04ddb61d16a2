// PpoNetwork and AdamOptimizer against LibTorch: the explicit backward pass equals autograd of
// the same loss on the same weights and batch, and the Adam step equals torch::optim::Adam.
// Also: the PPO trajectory does not depend on LibTorch's thread count.
#include <torch/torch.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/rng.h"
#include "search/adam_optimizer.h"
#include "search/ppo_network.h"
#include "search/ppo_search.h"
#include "search/toy_objectives.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

/// Both sides compute in double; they differ only in summation order (and ATen's FMA), so
/// they agree to far below this, relative to the largest gradient of each tensor.
constexpr double kGradRelTol = 1e-9;
/// The loss and its parts, relative.
constexpr double kLossRelTol = 1e-12;
/// Adam's parameters after each step, relative to the largest parameter.
constexpr double kAdamRelTol = 1e-12;

double max_abs(const torch::Tensor& t) {
    return t.abs().max().item<double>();
}

/// The actions' log-probability under `net` (as PpoSearch samples them).
double logp_of(const PpoNetwork& net, const PpoSample& s) {
    double logp = 0.0;
    for (int h = 0; h < PpoNetwork::kHeads; ++h) {
        const auto z = net.head_logits(h, net.input(s.layer, s.features));
        const CodeRange r = s.allowed[static_cast<size_t>(h)];
        double m = -std::numeric_limits<double>::infinity();
        for (int32_t v = r.lo; v <= r.hi; ++v) {
            m = std::max(m, z[static_cast<size_t>(v)]);
        }
        double sum = 0.0;
        for (int32_t v = r.lo; v <= r.hi; ++v) {
            sum += std::exp(z[static_cast<size_t>(v)] - m);
        }
        logp += z[static_cast<size_t>(s.action[static_cast<size_t>(h)])] - m - std::log(sum);
    }
    return logp;
}

/// A batch of n valid transitions over all layers; old log-probabilities are the current
/// ones shifted by up to +-0.6, so that some ratios fall outside the clip range.
std::vector<PpoSample> make_batch(const PpoNetwork& net, const CodeSpace& space, int64_t n) {
    Rng rng(42);
    std::vector<PpoSample> batch;
    for (int64_t i = 0; i < n; ++i) {
        PpoSample s;
        s.layer = static_cast<int32_t>(rng.uniform_below(static_cast<uint64_t>(space.layers)));
        for (int64_t k = 0; k < net.features(); ++k) { // standardized-looking values
            s.features.push_back(4.0 * rng.uniform01() - 2.0);
        }
        const auto c = space.sample(rng);
        s.action = {c.t1, c.t2, c.v1, c.v2};
        s.allowed = {space.t1(), space.t2(c.t1), space.v1(c.t1, c.t2), space.v2(c.t2)};
        s.old_logp = logp_of(net, s) + (2.0 * rng.uniform01() - 1.0) * 0.6;
        s.ret = 2.0 * rng.uniform01() - 1.0;
        batch.push_back(s);
    }
    return batch;
}

/// The loss as the LibTorch implementation computed it, in double, on the network's weights.
struct TorchLoss {
    std::vector<torch::Tensor> params; // tensors() order, requires_grad
    torch::Tensor loss, policy_loss, value_loss, entropy, approx_kl;
};

TorchLoss torch_loss(const PpoNetwork& net,
                     const std::vector<PpoSample>& batch,
                     const PpoOptions& o,
                     int64_t hidden) {
    const auto opts = torch::TensorOptions().dtype(torch::kDouble);
    TorchLoss t;
    for (const auto& p : net.tensors()) {
        const bool bias = p.name.size() > 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
        std::vector<int64_t> shape{p.rows};
        if (!bias) {
            shape.push_back(p.cols);
        }
        t.params.push_back(
            torch::from_blob(const_cast<double*>(net.parameters().data()) + p.offset, shape, opts)
                .clone()
                .requires_grad_(true));
    }
    const auto n = static_cast<int64_t>(batch.size());
    std::vector<int64_t> states;
    std::vector<double> features;
    std::vector<int64_t> actions;
    std::vector<double> old;
    std::vector<double> ret;
    auto masks = torch::full({n, 4, 256}, -std::numeric_limits<double>::infinity(), opts);
    for (int64_t i = 0; i < n; ++i) {
        const auto& s = batch[static_cast<size_t>(i)];
        states.push_back(s.layer);
        features.insert(features.end(), s.features.begin(), s.features.end());
        old.push_back(s.old_logp);
        ret.push_back(s.ret);
        for (int h = 0; h < 4; ++h) {
            actions.push_back(s.action[static_cast<size_t>(h)]);
            const auto r = s.allowed[static_cast<size_t>(h)];
            masks.index_put_({i, h, torch::indexing::Slice(r.lo, r.hi + 1)}, 0.0);
        }
    }
    const auto st = torch::tensor(states, torch::kLong);
    const auto a = torch::tensor(actions, torch::kLong).view({n, 4});
    const auto old_t = torch::tensor(old, opts);
    const auto ret_t = torch::tensor(ret, opts);
    const auto allowed = masks == 0;
    size_t next = net.features() > 0 ? 2 : 1;
    auto head = [&](const torch::Tensor& x) {
        if (hidden > 0) {
            const auto& w1 = t.params[next];
            const auto& b1 = t.params[next + 1];
            const auto& w2 = t.params[next + 2];
            const auto& b2 = t.params[next + 3];
            next += 4;
            return torch::linear(torch::tanh(torch::linear(x, w1, b1)), w2, b2);
        }
        const auto& w = t.params[next];
        const auto& b = t.params[next + 1];
        next += 2;
        return torch::linear(x, w, b);
    };
    // The heads' input: the embedding rows, or the input Linear of the features.
    const auto e = net.features() > 0
                       ? torch::linear(torch::tensor(features, opts).view({n, net.features()}),
                                       t.params[0], t.params[1])
                       : t.params[0].index_select(0, st);
    auto logp = torch::zeros({n}, opts);
    auto ent = torch::zeros({n}, opts);
    for (int h = 0; h < 4; ++h) {
        const auto lp = torch::log_softmax(head(e) + masks.select(1, h), 1);
        logp = logp + lp.gather(1, a.select(1, h).unsqueeze(1)).squeeze(1);
        const auto lp0 = torch::where(allowed.select(1, h), lp, torch::zeros_like(lp));
        ent = ent - (lp.exp() * lp0).sum(1);
    }
    const auto values = head(e).squeeze(1);
    const auto ratios = torch::exp(logp - old_t);
    const auto adv = ret_t - values.detach();
    const auto surr1 = ratios * adv;
    const auto surr2 = torch::clamp(ratios, 1.0 - o.eps_clip, 1.0 + o.eps_clip) * adv;
    t.policy_loss = -torch::min(surr1, surr2).mean();
    t.value_loss = torch::mse_loss(values, ret_t);
    t.entropy = ent.mean();
    t.approx_kl = (old_t - logp.detach()).mean();
    t.loss = t.policy_loss + o.value_coef * t.value_loss - o.entropy_coef * t.entropy;
    t.loss.backward();
    return t;
}

void expect_gradient_matches_autograd(int64_t layers,
                                      int64_t dim,
                                      int64_t hidden,
                                      int64_t features = 0) {
    SCOPED_TRACE("layers " + std::to_string(layers) + ", dim " + std::to_string(dim) + ", hidden " +
                 std::to_string(hidden) + ", features " + std::to_string(features));
    const CodeSpace space{layers, 32};
    PpoNetwork net(layers, dim, hidden, features);
    net.initialize(3);
    PpoOptions o;
    o.value_coef = 0.7;
    o.entropy_coef = 0.05;
    const auto batch = make_batch(net, space, 50);
    const PpoLoss ours = net.loss_and_gradient(batch, o);
    const TorchLoss ref = torch_loss(net, batch, o, hidden);

    auto near = [](double got, const torch::Tensor& want, const char* what) {
        const double w = want.item<double>();
        EXPECT_LE(std::abs(got - w), kLossRelTol * std::max(1.0, std::abs(w)))
            << what << ": ours " << got << ", torch " << w;
    };
    near(ours.loss, ref.loss, "loss");
    near(ours.policy_loss, ref.policy_loss, "policy_loss");
    near(ours.value_loss, ref.value_loss, "value_loss");
    near(ours.entropy, ref.entropy, "entropy");
    near(ours.approx_kl, ref.approx_kl, "approx_kl");
    EXPECT_GT(ours.clip_fraction, 0.0) << "the batch should exercise the clipped branch";
    EXPECT_LT(ours.clip_fraction, 1.0) << "the batch should exercise the unclipped branch";

    const auto tensors = net.tensors();
    ASSERT_EQ(tensors.size(), ref.params.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = tensors[i];
        const auto g = ref.params[i].grad().contiguous().view({-1});
        const double scale = max_abs(g);
        ASSERT_GT(scale, 0.0) << t.name << " has no gradient";
        const double* ours_g = net.gradient().data() + t.offset;
        double worst = 0.0;
        for (int64_t k = 0; k < t.rows * t.cols; ++k) {
            worst = std::max(worst, std::abs(ours_g[k] - g[k].item<double>()));
        }
        EXPECT_LE(worst, kGradRelTol * scale)
            << t.name << ": largest difference " << worst << " for gradients up to " << scale;
    }
}

TEST(PpoNetwork, GradientEqualsLibTorchAutograd) {
    expect_gradient_matches_autograd(13, 64, 64); // the default network
    expect_gradient_matches_autograd(5, 7, 5);    // awkward sizes
    expect_gradient_matches_autograd(3, 9, 0);    // linear heads
    // ppo.state: enhanced: an input Linear over each transition's features.
    expect_gradient_matches_autograd(13, 64, 64, 14);
    expect_gradient_matches_autograd(5, 7, 5, 3);
    expect_gradient_matches_autograd(3, 9, 0, 14);
}

TEST(PpoNetwork, AdamStepEqualsTorchOptimAdam) {
    constexpr int64_t kSize = 37;
    constexpr double kLr = 3e-3;
    Rng rng(5);
    std::vector<double> ours(kSize);
    for (auto& p : ours) {
        p = 2.0 * rng.uniform01() - 1.0;
    }
    auto theirs = torch::tensor(ours, torch::kDouble).requires_grad_(true);
    torch::optim::Adam torch_adam({theirs}, torch::optim::AdamOptions(kLr));
    AdamOptimizer adam(kSize, kLr);
    for (int step = 1; step <= 20; ++step) {
        std::vector<double> grad(kSize);
        for (int64_t i = 0; i < kSize; ++i) {
            // Some exact zeros, tiny and large gradients.
            grad[static_cast<size_t>(i)] =
                i % 7 == 0 ? 0.0 : (2.0 * rng.uniform01() - 1.0) * std::pow(10.0, i % 5 - 3);
        }
        adam.step(ours, grad);
        theirs.mutable_grad() = torch::tensor(grad, torch::kDouble);
        torch_adam.step();
        const double scale = max_abs(theirs.detach());
        for (int64_t i = 0; i < kSize; ++i) {
            ASSERT_NEAR(ours[static_cast<size_t>(i)], theirs[i].item<double>(), kAdamRelTol * scale)
                << "step " << step << ", parameter " << i;
        }
    }
    EXPECT_EQ(adam.steps(), 20);
}

TEST(PpoNetwork, TrajectoryDoesNotDependOnLibTorchThreads) {
    const CodeSpace space{13, 32};
    const SensitivityObjective f(space, 1);
    auto run = [&](int threads) {
        at::set_num_threads(threads);
        PpoSearch ppo(space, 5, 4, {});
        const auto history = testing::run_history(ppo, f, 12);
        Checkpoint c;
        ppo.save(c);
        return std::make_pair(history, c);
    };
    const int before = at::get_num_threads();
    const auto one = run(1);
    const auto two = run(2);
    at::set_num_threads(before);
    EXPECT_TRUE(one.first == two.first);
    EXPECT_TRUE(one.second == two.second);
}

} // namespace
} // namespace triseg::search

namespace triseg::search {
namespace {

// The behaviour-cloning gradient (PPO's warm start) against central differences of its loss,
// on every parameter of a small network. Double precision, smooth loss: the difference
// quotient with step 1e-6 agrees to about 1e-9 relative; kFdRelTol leaves room for that.
constexpr double kFdStep = 1e-6;
constexpr double kFdRelTol = 1e-6;

void expect_cloning_gradient_matches_differences(int64_t features) {
    SCOPED_TRACE("features " + std::to_string(features));
    const CodeSpace space{3, 20};
    PpoNetwork net(3, 4, 5, features);
    net.initialize(8);
    auto batch = make_batch(net, space, 7);
    const auto base = net.cloning_loss_and_gradient(batch);
    EXPECT_GT(base.loss, 0.0);
    EXPECT_GT(base.min_prob, 0.0);
    EXPECT_LT(base.min_prob, 1.0);
    const std::vector<double> grad = net.gradient();
    double largest = 0.0;
    for (double g : grad) {
        largest = std::max(largest, std::abs(g));
    }
    ASSERT_GT(largest, 0.0);
    int64_t critic_nonzero = 0;
    const auto tensors = net.tensors();
    for (size_t i = 0; i < grad.size(); ++i) {
        const double keep = net.parameters()[i];
        net.parameters()[i] = keep + kFdStep;
        const double up = net.cloning_loss_and_gradient(batch).loss;
        net.parameters()[i] = keep - kFdStep;
        const double down = net.cloning_loss_and_gradient(batch).loss;
        net.parameters()[i] = keep;
        EXPECT_NEAR(grad[i], (up - down) / (2 * kFdStep), kFdRelTol * largest) << "parameter " << i;
    }
    for (const auto& t : tensors) { // the critic gets no gradient
        if (t.name.rfind("critic", 0) == 0) {
            for (int64_t k = 0; k < t.rows * t.cols; ++k) {
                critic_nonzero += grad[static_cast<size_t>(t.offset + k)] != 0.0;
            }
        }
    }
    EXPECT_EQ(critic_nonzero, 0);
}

TEST(PpoNetwork, CloningGradientEqualsFiniteDifferences) {
    expect_cloning_gradient_matches_differences(0);
    expect_cloning_gradient_matches_differences(6); // an input Linear (ppo.state: enhanced)
}

} // namespace
} // namespace triseg::search
