// PpoSearch: the original's actor-critic PPO over per-layer tri-segment codes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "search/algorithm.h"
#include "search/allocation_space.h"
#include "search/code_space.h"
#include "search/ppo_features.h"
#include "search/ppo_options.h"
#include "search/ppo_rewards.h"

namespace triseg::search {

struct MethodEntry;

/// What PPO gets besides the space and its options, for its optional parts.
struct PpoInputs {
    /// Per layer, what the enhanced state is made of (needed with ppo.state: enhanced).
    std::vector<PpoLayerFacts> layer_facts;
    /// ppo.init_policy: another PPO search's checkpoint entries, and its file for messages.
    std::optional<Checkpoint> init_policy;
    std::string init_policy_path;
    /// The points' names in forward order (to resolve ppo.align_points; needed when it is set).
    std::vector<std::string> layer_names;
    /// ppo.curriculum: the layer indices, most sensitive first (needed when it is set).
    std::vector<int32_t> curriculum_order;
};

/// PPO with a clipped surrogate (Schulman et al. 2017), as the original's
/// approx_train_ppo.py: the state of layer l is a learned embedding e_l (layers x
/// embedding_dim); four categorical heads over the 256 codes pick t1, then t2, then v1 and v2,
/// each masked to the values the rules allow given the earlier picks; a critic head
/// estimates the value of e_l.
///
///     episode: for each layer l: (t1, t2, v1, v2) ~ masked heads(e_l)
///              reward = -KD loss of the whole code set, shared evenly by the layer
///              transitions (reward / layers each; the last layer is terminal)
///     every update_transitions transitions:
///         returns R_t = r_t + gamma * R_{t+1} (reset at terminals), normalized
///         A_t = R_t - V(s_t)
///         K epochs: loss = -min(rho A, clip(rho, 1-eps, 1+eps) A)
///                          + value_coef (V - R)^2 - entropy_coef H     (Adam)
///
/// Options, each off by default (docs/search.md, PPO): ppo.state: enhanced replaces the
/// embedding by Linear(features) of a per-layer feature vector (search/ppo_features.h) that
/// includes the episode's previous pick, so each transition keeps its state; ppo.encoding:
/// relative makes the heads pick t1, t2 - t1, v1 - t1, v2 - t2 over fixed ranges (each offset
/// capped at its segment's end), valid by construction; ppo.reward: ranked rewards each
/// episode by its rank in the generation; ppo.align subtracts align x the sum of the chosen
/// points' Fitness::point_mse from each episode's reward before any ranking, and
/// ppo.layer_reward subtracts layer_reward x point_mse[l] from layer l's transition (both need
/// an evaluator whose reward set compares the points); ppo.policy: gru runs a GRU over the
/// episode's states and the heads read its hidden state (PpoNetwork; an update then waits for
/// the end of the episode that fills the buffer, so that it holds whole episodes and recomputes
/// every hidden state from the episode's start); ppo.init_policy starts from another search's
/// policy network and Adam state (PpoInputs::init_policy); ppo.curriculum (the original's
/// scheme 12) approximates in episode e only the layers ppo_active_layers() names (the
/// ppo.curriculum_layers[s] most sensitive of PpoInputs::curriculum_order in stage
/// s = e / ppo.curriculum_episodes, every layer after the last stage): the other layers keep
/// the teacher's codes (LayerCodes{}, the identity) and take the greedy pick, masked to it in
/// the update, so only the critic learns from them (a GRU still runs over every layer).
///
/// In the allocation space (`allocation` not null, search.space: allocation) the action of
/// layer l is its tmax alone: head t1 samples it from [tmax_min, tmax_max] and the layer's codes
/// are the space's Lloyd-Max codes for that tmax (AllocationSpace::codes); the other three heads
/// are not sampled (each masked to the single code 0, so they add nothing to the log-probability,
/// the entropy or the gradient).
///
/// ask() samples episodes_per_generation episodes from the current policy; tell() adds their
/// transitions in order and updates whenever the buffer is full (possibly mid-generation,
/// as the original updates mid-stream). Weights are initialized and actions drawn from our
/// portable Rng (episode i uses Rng(seed, i)), and the network is our own double-precision
/// PpoNetwork with AdamOptimizer, so that the same binary repeats a run bit for bit at any
/// thread count, under any launcher and on any x86-64 CPU with AVX2 and FMA
/// (docs/search.md, Determinism).
class PpoSearch final : public Algorithm {
public:
    /// With `init` codes (search.init) and ppo.init_steps > 0, the freshly initialized policy is
    /// first pre-fitted towards them (behaviour cloning, deterministic; in the allocation space
    /// towards their AllocationSpace::tmax_of):
    ///
    ///     batch = one transition per layer, action = init codes, masks as in sampling
    ///     repeat at most init_steps times:
    ///         stop when every head gives its init code probability >= init_prob
    ///         Adam(init_lr) step on -mean(log p(init codes))     (own Adam state)
    ///
    /// so that the first episodes sample around the init codes. The pre-fit is part of
    /// construction (a loaded checkpoint replaces its result), and its record ("init": steps,
    /// loss, min_prob) is the first of take_log(). With `inputs.init_policy` the network and
    /// Adam state are that policy's instead, and there is no pre-fit (record "init_policy").
    /// @throws ConfigError when an option or the space is invalid; InputError when `init` does
    ///         not have one valid code set of the space per layer, when the enhanced state's
    ///         layer facts are missing, or when the init policy is not a PPO policy of this
    ///         network's shape, state, encoding, policy and space (naming its file).
    PpoSearch(CodeSpace space,
              uint64_t seed,
              int64_t generation,
              PpoOptions options,
              const std::optional<CodeSet>& init = std::nullopt,
              std::shared_ptr<const AllocationSpace> allocation = nullptr,
              const PpoInputs& inputs = {});
    ~PpoSearch() override;
    PpoSearch(const PpoSearch&) = delete;
    PpoSearch& operator=(const PpoSearch&) = delete;

    std::vector<CodeSet> ask() override;
    void tell(const std::vector<CodeSet>& candidates, const std::vector<Fitness>& scores) override;
    /// The greedy codes: per layer the most likely t1, then t2, v1, v2 under the masks.
    std::optional<CodeSet> proposal() const override;
    std::vector<LogRecord> take_log() override;
    void save(Checkpoint& checkpoint) const override;
    void load(const Checkpoint& checkpoint) override;
    std::string name() const override { return "ppo"; }

    /// PPO updates done so far.
    int64_t updates() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The registry entry "ppo": section `ppo:` (PpoOptions).
MethodEntry ppo_method();

} // namespace triseg::search
