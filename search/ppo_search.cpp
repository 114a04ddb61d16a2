// PpoSearch: masked categorical sampling, returns and clipped-surrogate updates on PpoNetwork
// (its checkpoints: ppo_search_checkpoint.cpp).
#include "search/ppo_search.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "common/error.h"
#include "search/ppo_search_impl.h"
#include "search/registry.h"

namespace triseg::search {

namespace {

using ppo_detail::kCodes;
using ppo_detail::kHeads;
using ppo_detail::Transition;
constexpr double kReturnEps = 1e-7;

} // namespace

std::vector<Transition> PpoSearch::Impl::walk(const std::array<std::vector<double>, kHeads>* logits,
                                              Rng* rng,
                                              const std::vector<bool>* active) const {
    std::vector<Transition> episode;
    LayerCodes previous;
    const bool own_logits = enhanced || recurrent; // else all_logits()
    std::vector<double> hidden(recurrent ? static_cast<size_t>(opt.embedding_dim) : 0, 0.0);
    for (int32_t l = 0; l < static_cast<int32_t>(space.layers); ++l) {
        Transition t;
        t.layer = l;
        t.active = active == nullptr || (*active)[static_cast<size_t>(l)];
        std::array<std::vector<double>, kHeads> own;
        if (own_logits) {
            t.state = state_of(l, l > 0 ? &previous : nullptr);
            own = state_logits(l, t.state, hidden);
        }
        for (int h = 0; h < kHeads; ++h) {
            const double* row = own_logits ? own[static_cast<size_t>(h)].data()
                                           : (*logits)[static_cast<size_t>(h)].data() + l * kCodes;
            const CodeRange r = range(h, t.action);
            t.action[static_cast<size_t>(h)] = rng != nullptr && t.active
                                                   ? sample_masked(row, r, *rng, t.logp)
                                                   : argmax_masked(row, r);
        }
        t.terminal = l + 1 == space.layers;
        previous = codes_of(l, t.action);
        episode.push_back(std::move(t));
    }
    return episode;
}

PpoSearch::PpoSearch(CodeSpace space,
                     uint64_t seed,
                     int64_t generation,
                     PpoOptions options,
                     const std::optional<CodeSet>& init,
                     std::shared_ptr<const AllocationSpace> allocation,
                     const PpoInputs& inputs) {
    space.validate();
    options.validate();
    TRISEG_CHECK(generation >= 1, ConfigError,
                 "`search.episodes_per_generation` must be at least 1, got " << generation);
    TRISEG_CHECK(!allocation || allocation->layers() == space.layers, ConfigError,
                 "the allocation space has " << (allocation ? allocation->layers() : 0)
                                             << " layers; the search space has " << space.layers);
    impl_ = std::make_unique<Impl>(space, seed, generation, options, std::move(allocation),
                                   inputs.layer_facts);
    impl_->align_points = ppo_align_points(options, inputs.layer_names, space.layers);
    check_ppo_curriculum(options, inputs.curriculum_order, space.layers);
    impl_->curriculum_order = inputs.curriculum_order;
    if (inputs.init_policy) {
        impl_->adopt(*inputs.init_policy, inputs.init_policy_path);
    } else if (init && options.init_steps > 0) {
        impl_->prefit(*init);
    }
}

void PpoSearch::Impl::prefit(const CodeSet& init) {
    TRISEG_CHECK(static_cast<int64_t>(init.layers.size()) == space.layers, InputError,
                 "the search.init codes have " << init.layers.size() << " layers; the search "
                                               << "space has " << space.layers);
    // In the allocation space, each layer's tmax (moved into the range) is the action.
    const auto tmax = allocation ? allocation->tmax_of(init) : std::vector<int32_t>{};
    std::vector<PpoSample> batch;
    LayerCodes previous;
    for (int32_t l = 0; l < static_cast<int32_t>(space.layers); ++l) {
        const LayerCodes& c = init.layers[static_cast<size_t>(l)];
        PpoSample s;
        s.layer = l;
        bool valid = allocation || (c.tmax == space.tmax && engine::codes_valid(c));
        s.action = actions.action(c, allocation ? tmax[static_cast<size_t>(l)] : 0);
        for (int h = 0; h < kHeads && valid; ++h) {
            s.allowed[static_cast<size_t>(h)] = range(h, s.action);
            valid = s.allowed[static_cast<size_t>(h)].contains(s.action[static_cast<size_t>(h)]);
        }
        valid = valid && (allocation || codes_of(l, s.action) == c);
        TRISEG_CHECK(valid, InputError,
                     "the search.init codes of layer " << l << " (" << engine::to_string(c)
                                                       << ") are outside the search space");
        s.features = state_of(l, l > 0 ? &previous : nullptr);
        previous = codes_of(l, s.action);
        batch.push_back(s);
    }
    AdamOptimizer init_adam(net.parameters().size(), opt.init_lr);
    int64_t steps = 0;
    PpoCloningLoss loss = net.cloning_loss_and_gradient(batch);
    while (steps < opt.init_steps && loss.min_prob < opt.init_prob) {
        init_adam.step(net.parameters(), net.gradient());
        ++steps;
        loss = net.cloning_loss_and_gradient(batch);
    }
    log.push_back({"init",
                   {{"steps", static_cast<double>(steps)},
                    {"loss", loss.loss},
                    {"min_prob", loss.min_prob}}});
}

PpoSearch::~PpoSearch() = default;

int64_t PpoSearch::updates() const {
    return impl_->updates;
}

std::vector<CodeSet> PpoSearch::ask() {
    auto& m = *impl_;
    // With embeddings every layer's state is fixed, so its logits are computed once per ask.
    std::array<std::vector<double>, kHeads> logits;
    if (!m.enhanced && !m.recurrent) {
        logits = m.all_logits();
    }
    m.pending.clear();
    std::vector<CodeSet> out;
    for (int64_t e = 0; e < m.generation; ++e) {
        Rng rng(m.seed, static_cast<uint64_t>(m.episodes + e));
        const std::vector<bool> active = m.active_layers(m.episodes + e);
        std::vector<Transition> episode = m.walk(&logits, &rng, &active);
        CodeSet codes;
        for (const auto& t : episode) {
            codes.layers.push_back(m.applied_codes(t));
        }
        m.pending.push_back(std::move(episode));
        out.push_back(std::move(codes));
    }
    return out;
}

void PpoSearch::tell(const std::vector<CodeSet>& candidates, const std::vector<Fitness>& scores) {
    auto& m = *impl_;
    if (candidates.size() != scores.size() || candidates.size() > m.pending.size()) {
        throw std::logic_error("PpoSearch::tell: " + std::to_string(scores.size()) +
                               " scores for " + std::to_string(candidates.size()) +
                               " candidates, " + std::to_string(m.pending.size()) + " asked");
    }
    const std::vector<double> rewards =
        ppo_episode_rewards(m.opt, scores, m.episodes, m.align_points, m.space.layers);
    for (size_t e = 0; e < candidates.size(); ++e) {
        const double share = rewards[e] / static_cast<double>(m.space.layers);
        const auto& mse = scores[e].point_mse;
        for (auto t : m.pending[e]) {
            if (candidates[e].layers[static_cast<size_t>(t.layer)] != m.applied_codes(t)) {
                throw std::logic_error("PpoSearch::tell: candidates differ from the last ask()");
            }
            t.reward = share;
            if (m.opt.layer_reward > 0.0) {
                t.reward -= m.opt.layer_reward * mse[static_cast<size_t>(t.layer)];
            }
            // A recurrent policy's update waits for the episode's end, so that it holds whole
            // episodes (each h recomputed from h_0 = 0).
            const bool due = m.recurrent ? t.terminal : true;
            m.buffer.push_back(std::move(t));
            if (due && static_cast<int64_t>(m.buffer.size()) >= m.opt.update_transitions) {
                m.update();
            }
        }
        ++m.episodes;
    }
    m.pending.clear();
}

void PpoSearch::Impl::update() {
    const size_t n = buffer.size();
    // Discounted returns, reset at episode ends, then normalized by their mean and unbiased
    // standard deviation.
    std::vector<double> returns(n);
    double discounted = 0.0;
    double reward_sum = 0.0;
    for (size_t i = n; i-- > 0;) {
        const auto& t = buffer[i];
        if (t.terminal) {
            discounted = 0.0;
        }
        discounted = t.reward + opt.gamma * discounted;
        returns[i] = discounted;
        reward_sum += t.reward;
    }
    double mean = 0.0;
    for (double r : returns) {
        mean += r;
    }
    mean /= static_cast<double>(n);
    double squares = 0.0;
    for (double r : returns) {
        squares += (r - mean) * (r - mean);
    }
    const double sd = std::sqrt(squares / static_cast<double>(n - 1));

    std::vector<PpoSample> batch(n);
    for (size_t i = 0; i < n; ++i) {
        const auto& t = buffer[i];
        auto& s = batch[i];
        s.layer = t.layer;
        s.features = t.state;
        s.action = t.action;
        for (int h = 0; h < kHeads; ++h) {
            s.allowed[static_cast<size_t>(h)] = range_of(h, t);
        }
        s.old_logp = t.logp;
        s.ret = (returns[i] - mean) / (sd + kReturnEps);
    }

    PpoLoss last;
    for (int64_t k = 0; k < opt.k_epochs; ++k) {
        last = net.loss_and_gradient(batch, opt);
        adam.step(net.parameters(), net.gradient());
    }
    ++updates;
    log.push_back({"update",
                   {{"update", static_cast<double>(updates)},
                    {"transitions", static_cast<double>(n)},
                    {"mean_reward", reward_sum / static_cast<double>(n)},
                    {"policy_loss", last.policy_loss},
                    {"value_loss", last.value_loss},
                    {"entropy", last.entropy},
                    {"approx_kl", last.approx_kl},
                    {"clip_fraction", last.clip_fraction}}});
    buffer.clear();
}

std::optional<CodeSet> PpoSearch::proposal() const {
    const auto& m = *impl_;
    std::array<std::vector<double>, kHeads> logits;
    if (!m.enhanced && !m.recurrent) {
        logits = m.all_logits();
    }
    CodeSet codes;
    for (const auto& t : m.walk(&logits, nullptr)) {
        codes.layers.push_back(m.codes_of(t.layer, t.action));
    }
    return codes;
}

std::vector<LogRecord> PpoSearch::take_log() {
    std::vector<LogRecord> out;
    out.swap(impl_->log);
    return out;
}

MethodEntry ppo_method() {
    MethodEntry e;
    e.name = "ppo";
    e.summary = "PPO actor-critic over per-layer codes, the original's method";
    e.has_section = true;
    e.supports_allocation = true;
    e.default_options = [] { return std::make_unique<MethodOptionsOf<PpoOptions>>(); };
    e.make = [](const MethodOptions& options, const AlgorithmContext& c) {
        PpoInputs inputs;
        inputs.layer_facts = c.layer_facts;
        inputs.init_policy = c.init_policy;
        inputs.init_policy_path = c.init_policy_path;
        inputs.layer_names = c.layer_names;
        inputs.curriculum_order = c.curriculum_order;
        return std::make_unique<PpoSearch>(c.space, c.seed, c.generation,
                                           options_as<PpoOptions>(options), c.init, c.allocation,
                                           inputs);
    };
    return e;
}

} // namespace triseg::search
