// PpoNetwork: the PPO search's actor-critic in plain double-precision C++, with its loss and
// an explicit backward pass, so that the search's trajectory is bit-identical on every CPU
// and at every thread count (see ppo_network.cpp for why we do not use LibTorch here).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "search/code_space.h"
#include "search/ppo_gru_cell.h"
#include "search/ppo_options.h"

namespace triseg::search {

/// One transition as the PPO loss sees it.
struct PpoSample {
    /// The state: index of the layer's embedding row; also the transition's position in its
    /// episode (a recurrent network starts a new episode at layer 0).
    int32_t layer = 0;
    std::vector<double> features;     ///< the state with an input layer (empty without one)
    std::array<int32_t, 4> action{};  ///< t1, t2, v1, v2
    std::array<CodeRange, 4> allowed; ///< each head's allowed codes (the mask)
    double old_logp = 0.0;            ///< log-probability under the policy that sampled it
    double ret = 0.0;                 ///< normalized discounted return
};

/// The PPO loss of a batch and its parts (means over the batch).
struct PpoLoss {
    double loss = 0.0; ///< policy_loss + value_coef * value_loss - entropy_coef * entropy
    double policy_loss = 0.0;
    double value_loss = 0.0;
    double entropy = 0.0;
    double approx_kl = 0.0;     ///< mean(old_logp - logp)
    double clip_fraction = 0.0; ///< share of |ratio - 1| > eps_clip
};

/// The behaviour-cloning loss of a batch (PpoNetwork::cloning_loss_and_gradient).
struct PpoCloningLoss {
    double loss = 0.0;     ///< mean over the batch of -log p(action), summed over the heads
    double min_prob = 0.0; ///< least probability any head of any transition gives its action
};

/// A parameter tensor: `rows` x `cols` doubles, row-major, at `offset` in parameters().
struct PpoTensor {
    std::string name; ///< "embedding", "actor_t1.first.weight", ..., "critic.last.bias"
    int64_t offset = 0;
    int64_t rows = 0;
    int64_t cols = 0; ///< 1 for biases
};

/// The original's actor-critic: a learned embedding per layer (layers x embedding_dim); four
/// categorical heads over the 256 codes (t1, t2, v1, v2) and a critic, each
/// Linear(embedding_dim, hidden) -> tanh -> Linear(hidden, out), or Linear(embedding_dim,
/// out) when hidden is 0. With `features` > 0 (ppo.state: enhanced) the embedding lookup is
/// replaced by Linear(features, embedding_dim) of the sample's feature vector, and the
/// network no longer depends on the layer count. All parameters are one flat vector of
/// doubles (the order of tensors()), so that the optimizer and checkpoints see plain arrays.
///
/// Recurrent (ppo.policy: gru): a GRU cell of size embedding_dim (PpoGruCell, tensors
/// "gru.weight_ih", ...) runs over each episode's inputs x_0, x_1, ... from h_0 = 0, and the
/// heads and critic read h_l in place of x_l (same width, so the heads are unchanged). A batch
/// is then a sequence of episodes, each from its layer 0 on in layer order: a sample of layer
/// l > 0 must follow its episode's layer l - 1, and one of layer 0 starts the next episode. The
/// losses recompute every h from its episode's start and back-propagate through time.
///
/// Invariant: every result is a fixed sequence of IEEE double operations (no threads, no
/// vector reductions, no FMA contraction), plus libm's exp, log, tanh and cos.
class PpoNetwork {
public:
    static constexpr int kCodes = 256;
    static constexpr int kHeads = 4;

    /// Zero parameters; call initialize(). Sizes as PpoOptions::validate() allows; `features`
    /// 0 = a learned embedding per layer, else an input Linear over that many features.
    /// `recurrent`: a GRU cell between the input and the heads (ppo.policy: gru).
    PpoNetwork(int64_t layers,
               int64_t embedding_dim,
               int64_t hidden,
               int64_t features = 0,
               bool recurrent = false);

    /// PyTorch's default init drawn from our portable Rng(seed, stream): N(0, 1) embeddings
    /// (Box-Muller), then each Linear's weight and bias uniform in +-1/sqrt(fan_in) and the GRU's
    /// parameters uniform in +-1/sqrt(embedding_dim), in the order of tensors().
    void initialize(uint64_t seed);

    /// The heads' input for a state: the embedding row of `layer` (without an input layer),
    /// else Linear(features) of `features` (which must hold features() values).
    std::vector<double> input(int64_t layer, const std::vector<double>& features = {}) const;
    /// The recurrent network's next hidden state: GRU(x, h) for the input `x` (from input()) after
    /// `h` (embedding_dim values; zeros before an episode's first layer). The heads read it.
    std::vector<double> step(const std::vector<double>& x, const std::vector<double>& h) const;
    /// The logits of head h (0..3) for the heads' input `x` (from input() or step()): kCodes
    /// values, of which only those in `rows` are computed (the others are NaN).
    std::vector<double>
    head_logits(int head, const std::vector<double>& x, CodeRange rows = {0, kCodes - 1}) const;
    /// The critic's value for the heads' input `x` (from input() or step()).
    double head_value(const std::vector<double>& x) const;
    /// The logits of head h (0..3) for the state of `layer` (without an input layer, not
    /// recurrent).
    std::vector<double> logits(int head, int64_t layer, CodeRange rows = {0, kCodes - 1}) const;
    /// The critic's value of the state of `layer` (without an input layer, not recurrent).
    double value(int64_t layer) const;

    /// The PPO loss of `batch` (Schulman et al. 2017), and its gradient into gradient():
    ///   ratio = exp(logp - old_logp), adv = ret - V (no gradient through adv)
    ///   loss = -mean(min(ratio adv, clip(ratio, 1-eps, 1+eps) adv))
    ///          + value_coef mean((V - ret)^2) - entropy_coef mean(H)
    /// where logp and H sum over the four heads, each a softmax over its allowed codes only.
    /// At a tie of the two surrogates the gradient is that of either (they are equal there).
    PpoLoss loss_and_gradient(const std::vector<PpoSample>& batch, const PpoOptions& options);

    /// Cross-entropy towards the batch's actions (behaviour cloning, for PPO's warm start on
    /// search.init codes), and its gradient into gradient():
    ///   loss = -mean(logp(action)), logp summed over the four heads, each a softmax over its
    ///   allowed codes only. Only the embeddings and actor heads get a gradient; ret and
    ///   old_logp are ignored.
    PpoCloningLoss cloning_loss_and_gradient(const std::vector<PpoSample>& batch);

    std::vector<double>& parameters() { return params_; }
    const std::vector<double>& parameters() const { return params_; }
    /// d loss / d parameters of the last loss_and_gradient() (same layout as parameters()).
    const std::vector<double>& gradient() const { return grad_; }
    std::vector<PpoTensor> tensors() const;

    int64_t layers() const { return layers_; }
    /// Features of the input layer (0: an embedding per layer).
    int64_t features() const { return features_; }
    /// Whether a GRU runs over each episode (ppo.policy: gru).
    bool recurrent() const { return recurrent_; }
    /// "layers 13, ppo.embedding_dim 64, ppo.hidden 64" (with an input layer "features 14, ..."
    /// instead of the layers; recurrent with ", ppo.policy gru" appended), for messages and
    /// checkpoint checks.
    std::string shape() const;

private:
    /// y = W x + b with W [out][in] at offset w and b [out] at offset b.
    struct Dense {
        int64_t in = 0;
        int64_t out = 0;
        int64_t w = 0;
        int64_t b = 0;
    };
    /// A head: first (when hidden > 0) then last.
    struct Head {
        Dense first;
        Dense last;
    };
    /// The activations of one head for one state, kept for the backward pass.
    struct HeadPass {
        std::vector<double> hidden; ///< tanh activations (empty when hidden is 0)
        std::vector<double> out;
    };

    const double* embedding(int64_t layer) const;
    /// The input of sample `s` into x (dim_ values).
    void sample_input(const PpoSample& s, std::vector<double>& x) const;
    /// Adds the gradient gx (d loss / d input, dim_ values) of sample `s` to its embedding row or
    /// to the input Linear's weight and bias.
    void backward_input(const PpoSample& s, const double* gx);
    /// Recurrent: the input xs[i] and GRU step steps[i] of every sample, each episode from h = 0
    /// (checks that the batch is a sequence of episodes, see the class comment).
    void recur(const std::vector<PpoSample>& batch,
               std::vector<std::vector<double>>& xs,
               std::vector<PpoGruCell::Pass>& steps) const;
    /// Recurrent: back-propagation through time of g_h[i] = d loss / d h of sample i (from the
    /// heads) into the GRU's and the inputs' gradients.
    void backward_recurrent(const std::vector<PpoSample>& batch,
                            const std::vector<std::vector<double>>& xs,
                            const std::vector<PpoGruCell::Pass>& steps,
                            const std::vector<std::vector<double>>& g_h);
    /// The head's output rows `rows` (the others NaN) for input x.
    void forward(const Head& head, const double* x, CodeRange rows, HeadPass& pass) const;
    /// Adds d loss/d W, d loss/d b of `head` given d loss/d out, and d loss/d x into gx.
    void backward(
        const Head& head, const double* x, const HeadPass& pass, const double* g_out, double* gx);

    int64_t layers_;
    int64_t dim_;
    int64_t hidden_;
    int64_t features_;
    bool recurrent_;
    Dense input_;    ///< the input Linear (features_ > 0)
    PpoGruCell gru_; ///< recurrent_ only
    std::array<Head, kHeads> actors_;
    Head critic_;
    std::vector<double> params_;
    std::vector<double> grad_;
};

} // namespace triseg::search
