// PpoOptions: the `ppo` config section (the original's hyperparameters as defaults).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/field_visitor.h"
#include "common/option_checks.h"

namespace triseg::search {

/// `ppo.state`: what the policy sees of layer l. Embedding: a learned row per layer (the
/// original's PPO). Enhanced: a feature vector of the layer's statistics and the episode's
/// previous pick, through a Linear layer (the original's scheme 1; search/ppo_features.h).
enum class PpoState { Embedding, Enhanced };
/// `ppo.encoding`: what the heads pick. Absolute: the codes, each head masked to what the
/// earlier picks allow. Relative: t1, then offsets (t2 - t1, v1 - t1, v2 - t2) over fixed
/// ranges, capped at their segment's end, so every pick is valid (the original's scheme 5).
enum class PpoEncoding { Absolute, Relative };
/// `ppo.reward`: Kd: -KD loss (Fitness::reward()). Ranked: the episode's rank among the
/// generation's episodes, mapped to [-1, 1], ties averaged (the original's scheme 10).
enum class PpoReward { Kd, Ranked };
/// `ppo.policy`: Mlp: the heads and critic read the layer's state x_l alone (the original's
/// PPO). Gru: a GRU cell of size ppo.embedding_dim runs over the episode's states, h_0 = 0,
/// h_l = GRU(x_l, h_{l-1}), and the heads and critic read h_l in place of x_l (the original's
/// scheme 2, layer dependencies as sequential decisions; search/ppo_gru_cell.h).
enum class PpoPolicy { Mlp, Gru };

/// Options of the PPO search (Schulman et al. 2017, "Proximal Policy Optimization").
/// Defaults are the original's: lr 3e-4, gamma 0.99, eps_clip 0.2, K_epochs 4, value
/// coefficient 0.5, entropy coefficient 0.01, an update every 50 transitions.
struct PpoOptions {
    /// `ppo.lr`: Adam learning rate of the actor-critic.
    double lr = 3e-4;
    /// `ppo.gamma`: discount of the per-layer rewards within an episode.
    double gamma = 0.99;
    /// `ppo.eps_clip`: clip range of the probability ratio.
    double eps_clip = 0.2;
    /// `ppo.k_epochs`: optimization passes over the buffer per update.
    int64_t k_epochs = 4;
    /// `ppo.value_coef`: weight of the critic's squared error.
    double value_coef = 0.5;
    /// `ppo.entropy_coef`: weight of the entropy bonus.
    double entropy_coef = 0.01;
    /// `ppo.update_transitions`: transitions (one per layer) collected before an update.
    int64_t update_transitions = 50;
    /// `ppo.embedding_dim`: size of the learned per-layer state embedding.
    int64_t embedding_dim = 64;
    /// `ppo.hidden`: width of the tanh hidden layer of each head (0 = one linear layer).
    int64_t hidden = 64;
    /// `ppo.init_steps`: with `search.init` codes, at most this many Adam steps of behaviour
    /// cloning (cross-entropy of the masked heads towards the init codes) before the first
    /// episode; 0 = ignore search.init. Without init codes nothing is done.
    int64_t init_steps = 200;
    /// `ppo.init_lr`: Adam learning rate of that pre-fit (its own optimizer state).
    double init_lr = 0.01;
    /// `ppo.init_prob`: the pre-fit stops once every head of every layer gives its init code
    /// at least this probability (so the first episodes sample around the init codes and
    /// still explore).
    double init_prob = 0.5;
    /// `ppo.state`: embedding or enhanced (PpoState).
    std::string state = "embedding";
    /// `ppo.encoding`: absolute or relative (PpoEncoding).
    std::string encoding = "absolute";
    /// `ppo.reward`: kd or ranked (PpoReward).
    std::string reward = "kd";
    /// `ppo.layer_reward`: weight of the per-layer reward (the original's scheme 7): layer l's
    /// transition gets, beside its share of the episode's reward, -layer_reward x the mean
    /// squared difference between the student's and the teacher's dequantized codes at point
    /// l (Fitness::point_mse) on the reward images. 0 = off.
    double layer_reward = 0.0;
    /// `ppo.align`: weight of the feature-alignment term (the original's scheme 13): the
    /// episode's reward is -(KD + align x the sum of point_mse over `align_points`). 0 = off.
    double align = 0.0;
    /// `ppo.align_points`: the points of the alignment term, comma-separated point names
    /// (`triseg describe` lists them); empty = every point.
    std::string align_points;
    /// `ppo.temperatures`: the KD temperature curriculum (the original's scheme 20): empty =
    /// off (the reward is -KD at approx.temperature); else the temperature of each stage, e.g.
    /// [4, 2, 1], each stage `temperature_episodes` episodes long, the last one to the end.
    /// The reward of an episode is -KD at its stage's temperature (plus the coverage penalty
    /// and ppo.align's term); selection and results keep approx.temperature.
    std::vector<double> temperatures;
    /// `ppo.temperature_episodes`: episodes per stage of the temperature curriculum.
    int64_t temperature_episodes = 100;
    /// `ppo.policy`: mlp or gru (PpoPolicy).
    std::string policy = "mlp";
    /// `ppo.curriculum`: the layer curriculum (the original's scheme 12): empty = off; else the
    /// sensitivity.json of `triseg analyze-sensitivity`, whose ranking (most sensitive first)
    /// orders the layers. Read by `triseg search` into PpoInputs::curriculum_order.
    std::string curriculum;
    /// `ppo.curriculum_layers`: how many of the most sensitive layers each stage approximates,
    /// e.g. [1, 3, 7]; the other layers keep the teacher's codes (identity) and their picks are
    /// not applied. After the listed stages every layer is approximated. Whole numbers,
    /// increasing, each below the number of layers.
    std::vector<double> curriculum_layers;
    /// `ppo.curriculum_episodes`: episodes per stage of the layer curriculum.
    int64_t curriculum_episodes = 100;
    /// `ppo.init_policy`: empty, or the checkpoint.h5 of another PPO search whose policy network
    /// and Adam state this search starts from (not its codes, buffer or counters); read by
    /// `triseg search` into AlgorithmContext::init_policy.
    std::string init_policy;

    PpoState state_kind() const {
        return state == "enhanced" ? PpoState::Enhanced : PpoState::Embedding;
    }
    PpoEncoding encoding_kind() const {
        return encoding == "relative" ? PpoEncoding::Relative : PpoEncoding::Absolute;
    }
    PpoReward reward_kind() const { return reward == "ranked" ? PpoReward::Ranked : PpoReward::Kd; }
    /// Whether the rewards read Fitness::point_mse (ppo.layer_reward or ppo.align is on).
    bool needs_point_mse() const { return layer_reward > 0.0 || align > 0.0; }
    /// Whether the layer curriculum is on (ppo.curriculum names a file).
    bool has_curriculum() const { return !curriculum.empty(); }
    /// The check across the curriculum's keys (validate() checks each key alone, so that any
    /// one key can be set by itself).
    /// @throws ConfigError when ppo.curriculum is set without ppo.curriculum_layers.
    void validate_curriculum() const {
        TRISEG_CHECK(!has_curriculum() || !curriculum_layers.empty(), ConfigError,
                     "`ppo.curriculum` is set but `ppo.curriculum_layers` is empty; list how many "
                     "of the most sensitive layers each stage approximates, e.g. [1, 3, 7]");
    }
    PpoPolicy policy_kind() const { return policy == "gru" ? PpoPolicy::Gru : PpoPolicy::Mlp; }

    bool operator==(const PpoOptions& o) const {
        return lr == o.lr && gamma == o.gamma && eps_clip == o.eps_clip && k_epochs == o.k_epochs &&
               value_coef == o.value_coef && entropy_coef == o.entropy_coef &&
               update_transitions == o.update_transitions && embedding_dim == o.embedding_dim &&
               hidden == o.hidden && init_steps == o.init_steps && init_lr == o.init_lr &&
               init_prob == o.init_prob && state == o.state && encoding == o.encoding &&
               reward == o.reward && layer_reward == o.layer_reward && align == o.align &&
               align_points == o.align_points && temperatures == o.temperatures &&
               temperature_episodes == o.temperature_episodes && policy == o.policy &&
               curriculum == o.curriculum && curriculum_layers == o.curriculum_layers &&
               curriculum_episodes == o.curriculum_episodes && init_policy == o.init_policy;
    }
    bool operator!=(const PpoOptions& o) const { return !(*this == o); }

    /// Every field under its `ppo:` key, in the order the YAML section lists them.
    void visit(FieldVisitor& v) {
        v.field("lr", lr);
        v.field("gamma", gamma);
        v.field("eps_clip", eps_clip);
        v.field("k_epochs", k_epochs);
        v.field("value_coef", value_coef);
        v.field("entropy_coef", entropy_coef);
        v.field("update_transitions", update_transitions);
        v.field("embedding_dim", embedding_dim);
        v.field("hidden", hidden);
        v.field("init_steps", init_steps);
        v.field("init_lr", init_lr);
        v.field("init_prob", init_prob);
        v.field("state", state);
        v.field("encoding", encoding);
        v.field("reward", reward);
        v.field("layer_reward", layer_reward);
        v.field("align", align);
        v.field("align_points", align_points);
        v.field("temperatures", temperatures);
        v.field("temperature_episodes", temperature_episodes);
        v.field("policy", policy);
        v.field("curriculum", curriculum);
        v.field("curriculum_layers", curriculum_layers);
        v.field("curriculum_episodes", curriculum_episodes);
        v.field("init_policy", init_policy);
    }

    void validate() const {
        detail::check_range("ppo.lr", lr, 1e-8, 1.0);
        detail::check_range("ppo.gamma", gamma, 0.0, 1.0);
        detail::check_range("ppo.eps_clip", eps_clip, 1e-3, 1.0);
        detail::check_range<int64_t>("ppo.k_epochs", k_epochs, 1, 100);
        detail::check_range("ppo.value_coef", value_coef, 0.0, 100.0);
        detail::check_range("ppo.entropy_coef", entropy_coef, 0.0, 10.0);
        detail::check_range<int64_t>("ppo.update_transitions", update_transitions, 2, 100000);
        detail::check_range<int64_t>("ppo.embedding_dim", embedding_dim, 1, 4096);
        detail::check_range<int64_t>("ppo.hidden", hidden, 0, 4096);
        detail::check_range<int64_t>("ppo.init_steps", init_steps, 0, 100000);
        detail::check_range("ppo.init_lr", init_lr, 1e-8, 1.0);
        detail::check_range("ppo.init_prob", init_prob, 0.0, 1.0);
        detail::check_range("ppo.layer_reward", layer_reward, 0.0, 1e6);
        detail::check_range("ppo.align", align, 0.0, 1e6);
        TRISEG_CHECK(temperatures.size() <= 64, ConfigError,
                     "`ppo.temperatures` lists " << temperatures.size()
                                                 << " stages; at most 64 are allowed");
        for (double t : temperatures) {
            detail::check_range("ppo.temperatures", t, 0.05, 100.0);
        }
        detail::check_range<int64_t>("ppo.temperature_episodes", temperature_episodes, 1, 10000000);
        TRISEG_CHECK(curriculum_layers.size() <= 64, ConfigError,
                     "`ppo.curriculum_layers` lists " << curriculum_layers.size()
                                                      << " stages; at most 64 are allowed");
        for (size_t i = 0; i < curriculum_layers.size(); ++i) {
            const double n = curriculum_layers[i];
            detail::check_range("ppo.curriculum_layers", n, 1.0, 1e6);
            TRISEG_CHECK(n == std::floor(n), ConfigError,
                         "`ppo.curriculum_layers` holds " << n << "; each stage's number of "
                                                          << "layers must be a whole number");
            TRISEG_CHECK(i == 0 || n > curriculum_layers[i - 1], ConfigError,
                         "`ppo.curriculum_layers` must increase from stage to stage; got "
                             << curriculum_layers[i - 1] << " then " << n);
        }
        detail::check_range<int64_t>("ppo.curriculum_episodes", curriculum_episodes, 1, 10000000);
        TRISEG_CHECK(state == "embedding" || state == "enhanced", ConfigError,
                     "`ppo.state` must be embedding or enhanced, got '" << state << "'");
        TRISEG_CHECK(encoding == "absolute" || encoding == "relative", ConfigError,
                     "`ppo.encoding` must be absolute or relative, got '" << encoding << "'");
        TRISEG_CHECK(reward == "kd" || reward == "ranked", ConfigError,
                     "`ppo.reward` must be kd or ranked, got '" << reward << "'");
        TRISEG_CHECK(policy == "mlp" || policy == "gru", ConfigError,
                     "`ppo.policy` must be mlp or gru, got '" << policy << "'");
    }
};

} // namespace triseg::search
