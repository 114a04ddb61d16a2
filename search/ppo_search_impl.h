// PpoSearch::Impl: the state of a PPO search, shared by its sampling and updates
// (ppo_search.cpp) and its checkpoints (ppo_search_checkpoint.cpp); included by those two only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/rng.h"
#include "search/adam_optimizer.h"
#include "search/ppo_actions.h"
#include "search/ppo_curriculum.h"
#include "search/ppo_features.h"
#include "search/ppo_network.h"
#include "search/ppo_search.h"

namespace triseg::search {

namespace ppo_detail {

constexpr int kCodes = PpoNetwork::kCodes;
constexpr int kHeads = PpoNetwork::kHeads; // t1, t2, v1, v2 in sampling order

/// One layer's choice and its probability under the policy that sampled it.
struct Transition {
    int32_t layer = 0;
    std::array<int32_t, kHeads> action{}; // t1, t2, v1, v2
    double logp = 0.0;
    double reward = 0.0;
    bool terminal = false;
    /// False for a layer the layer curriculum leaves exact: its pick is the greedy one and is
    /// not applied, and each head is masked to that pick (nothing to learn from it).
    bool active = true;
    std::vector<double> state; ///< the enhanced state (empty with ppo.state: embedding)
};

} // namespace ppo_detail

struct PpoSearch::Impl {
    using Transition = ppo_detail::Transition;
    static constexpr int kCodes = ppo_detail::kCodes;
    static constexpr int kHeads = ppo_detail::kHeads;

    Impl(CodeSpace s,
         uint64_t seed_,
         int64_t generation_,
         PpoOptions o,
         std::shared_ptr<const AllocationSpace> a,
         const std::vector<PpoLayerFacts>& facts)
        : space(s), allocation(std::move(a)), seed(seed_), generation(generation_), opt(o),
          enhanced(o.state_kind() == PpoState::Enhanced),
          recurrent(o.policy_kind() == PpoPolicy::Gru),
          actions(s, allocation, o.encoding_kind() == PpoEncoding::Relative),
          net(s.layers, o.embedding_dim, o.hidden, enhanced ? kPpoFeatures : 0, recurrent),
          adam(net.parameters().size(), o.lr) {
        if (enhanced) {
            TRISEG_CHECK(static_cast<int64_t>(facts.size()) == s.layers, InputError,
                         "ppo.state: enhanced needs the statistics of every layer; got "
                             << facts.size() << " for " << s.layers << " layers");
            static_features = ppo_static_features(facts);
        }
        net.initialize(seed);
    }

    CodeSpace space;
    std::shared_ptr<const AllocationSpace> allocation; ///< null in the codes space
    uint64_t seed;
    int64_t generation;
    PpoOptions opt;
    bool enhanced;                                    ///< ppo.state: enhanced
    bool recurrent;                                   ///< ppo.policy: gru
    PpoActions actions;                               ///< what the heads' picks mean
    std::vector<std::vector<double>> static_features; ///< per layer (enhanced only)
    PpoNetwork net;
    AdamOptimizer adam;
    std::vector<int32_t> align_points;     ///< ppo.align's points (ppo_align_points)
    std::vector<int32_t> curriculum_order; ///< ppo.curriculum: layers, most sensitive first
    int64_t adam_base = 0;                 ///< Adam steps of the init policy (ppo.init_policy)
    int64_t episodes = 0;                  ///< episodes told so far
    int64_t updates = 0;
    std::vector<Transition> buffer;
    std::vector<std::vector<Transition>> pending; ///< episodes of the last ask()
    std::vector<LogRecord> log;

    /// "codes", or "allocation <tmax_min>-<tmax_max>" (what the actions mean).
    std::string space_name() const {
        return allocation ? "allocation " + std::to_string(allocation->tmax_min()) + "-" +
                                std::to_string(allocation->tmax_max())
                          : "codes";
    }

    CodeRange range(int h, const PpoAction& a) const { return actions.range(h, a); }
    /// The mask of head h in the update: the sampling mask, or an inactive layer's one pick.
    CodeRange range_of(int h, const Transition& t) const {
        const int32_t a = t.action[static_cast<size_t>(h)];
        return t.active ? range(h, t.action) : CodeRange{a, a};
    }
    /// The layers episode `episode` approximates (ppo.curriculum; every one without it).
    std::vector<bool> active_layers(int64_t episode) const {
        return ppo_active_layers(opt, curriculum_order, space.layers, episode);
    }
    /// The codes a transition puts in its candidate: its pick's, or the identity when inactive.
    LayerCodes applied_codes(const Transition& t) const {
        return t.active ? codes_of(t.layer, t.action) : LayerCodes{};
    }

    /// The codes of layer `layer` for the action `a`.
    LayerCodes codes_of(int64_t layer, const PpoAction& a) const { return actions.codes(layer, a); }

    /// The enhanced state of `layer` after `previous` (the codes of layer - 1; null for the
    /// first layer); empty with ppo.state: embedding.
    std::vector<double> state_of(int64_t layer, const LayerCodes* previous) const {
        return enhanced ? ppo_state(static_features[static_cast<size_t>(layer)], previous)
                        : std::vector<double>{};
    }

    int32_t top() const { return actions.top(); }

    /// Logits [layers][256] of each head for every layer's embedding state; only codes 0..top()
    /// are computed.
    std::array<std::vector<double>, kHeads> all_logits() const {
        std::array<std::vector<double>, kHeads> out;
        for (int h = 0; h < kHeads; ++h) {
            auto& o = out[static_cast<size_t>(h)];
            for (int64_t l = 0; l < space.layers; ++l) {
                const auto z = net.logits(h, l, {0, top()});
                o.insert(o.end(), z.begin(), z.end());
            }
        }
        return out;
    }

    /// Logits [256] of each head for one layer's state (its enhanced state, or with a GRU its
    /// input after the episode's hidden state `h`, which becomes the next one); only codes
    /// 0..top().
    std::array<std::vector<double>, kHeads>
    state_logits(int64_t layer, const std::vector<double>& state, std::vector<double>& h) const {
        auto x = net.input(layer, state);
        if (recurrent) {
            h = net.step(x, h);
            x = h;
        }
        std::array<std::vector<double>, kHeads> out;
        for (int h = 0; h < kHeads; ++h) {
            out[static_cast<size_t>(h)] = net.head_logits(h, x, {0, top()});
        }
        return out;
    }

    /// One episode's (or the greedy) picks: per layer each head in order, sampled with `rng`
    /// or, when `rng` is null, the argmax; a layer that `active` (when given) marks false takes
    /// the argmax and is marked inactive. Transitions carry no reward yet.
    std::vector<Transition> walk(const std::array<std::vector<double>, kHeads>* logits,
                                 Rng* rng,
                                 const std::vector<bool>* active = nullptr) const;

    void update();
    void prefit(const CodeSet& init);
    void adopt(const Checkpoint& policy, const std::string& path);
};

} // namespace triseg::search
