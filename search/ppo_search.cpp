// PpoSearch: actor-critic, masked categorical heads, clipped-surrogate updates (LibTorch).
#include "search/ppo_search.h"

#include <torch/torch.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "common/error.h"
#include "common/rng.h"

namespace triseg::search {

namespace {

constexpr int kCodes = 256;
constexpr int kHeads = 4; // t1, t2, v1, v2 in sampling order
constexpr double kReturnEps = 1e-7;
constexpr const char* kFormat = "triseg-ppo/1";

/// A head: Linear(in, hidden) -> tanh -> Linear(hidden, out), or Linear(in, out) when hidden 0.
struct HeadImpl : torch::nn::Module {
    HeadImpl(int64_t in, int64_t hidden, int64_t out) {
        if (hidden > 0) {
            first = register_module("first", torch::nn::Linear(in, hidden));
            last = register_module("last", torch::nn::Linear(hidden, out));
        } else {
            last = register_module("last", torch::nn::Linear(in, out));
        }
    }
    torch::Tensor forward(const torch::Tensor& x) const {
        const auto h = first ? torch::tanh(torch::linear(x, first->weight, first->bias)) : x;
        return torch::linear(h, last->weight, last->bias);
    }
    torch::nn::Linear first{nullptr};
    torch::nn::Linear last{nullptr};
};
TORCH_MODULE(Head);

struct ActorCriticImpl : torch::nn::Module {
    ActorCriticImpl(int64_t layers, const PpoOptions& o) {
        embedding = register_parameter("embedding", torch::zeros({layers, o.embedding_dim}));
        const char* names[kHeads] = {"actor_t1", "actor_t2", "actor_v1", "actor_v2"};
        for (int h = 0; h < kHeads; ++h) {
            heads.push_back(register_module(names[h], Head(o.embedding_dim, o.hidden, kCodes)));
        }
        critic = register_module("critic", Head(o.embedding_dim, o.hidden, 1));
    }
    torch::Tensor embedding;
    std::vector<Head> heads;
    Head critic{nullptr};
};
TORCH_MODULE(ActorCritic);

/// PyTorch's default Linear init (uniform in +-1/sqrt(fan_in)) and N(0, 1) embeddings,
/// drawn from our portable Rng instead of LibTorch's generator.
void init_weights(ActorCritic& net, uint64_t seed) {
    Rng rng(seed, 0x5050'4f00ULL);
    torch::NoGradGuard guard;
    auto fill = [&](torch::Tensor t, auto draw) {
        auto c = t.contiguous();
        float* p = c.data_ptr<float>();
        for (int64_t i = 0; i < c.numel(); ++i) {
            p[i] = static_cast<float>(draw());
        }
        t.copy_(c);
    };
    fill(net->embedding, [&] {
        // Box-Muller from two uniforms.
        const double u1 = 1.0 - rng.uniform01();
        const double u2 = rng.uniform01();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    });
    for (auto& m : net->modules(false)) {
        if (auto* linear = m->as<torch::nn::LinearImpl>()) {
            const double bound = 1.0 / std::sqrt(static_cast<double>(linear->weight.size(1)));
            auto draw = [&] { return (2.0 * rng.uniform01() - 1.0) * bound; };
            fill(linear->weight, draw);
            fill(linear->bias, draw);
        }
    }
}

/// One layer's choice and its probability under the policy that sampled it.
struct Transition {
    int32_t layer = 0;
    std::array<int32_t, kHeads> action{}; // t1, t2, v1, v2
    double logp = 0.0;
    double reward = 0.0;
    bool terminal = false;
};

/// The allowed range of head h given the earlier picks of `a`.
CodeRange head_range(const CodeSpace& s, int h, const std::array<int32_t, kHeads>& a) {
    switch (h) {
    case 0:
        return s.t1();
    case 1:
        return s.t2(a[0]);
    case 2:
        return s.v1(a[0], a[1]);
    default:
        return s.v2(a[1]);
    }
}

/// Samples from softmax(logits) restricted to `r` (double precision); returns the pick and
/// adds its log-probability to `logp`.
int32_t sample_masked(const float* logits, CodeRange r, Rng& rng, double& logp) {
    double m = -std::numeric_limits<double>::infinity();
    for (int32_t v = r.lo; v <= r.hi; ++v) {
        m = std::max(m, static_cast<double>(logits[v]));
    }
    double z = 0.0;
    for (int32_t v = r.lo; v <= r.hi; ++v) {
        z += std::exp(static_cast<double>(logits[v]) - m);
    }
    const double u = rng.uniform01() * z;
    double acc = 0.0;
    int32_t pick = r.hi;
    for (int32_t v = r.lo; v <= r.hi; ++v) {
        acc += std::exp(static_cast<double>(logits[v]) - m);
        if (u < acc) {
            pick = v;
            break;
        }
    }
    logp += static_cast<double>(logits[pick]) - m - std::log(z);
    return pick;
}

int32_t argmax_masked(const float* logits, CodeRange r) {
    int32_t best = r.lo;
    for (int32_t v = r.lo + 1; v <= r.hi; ++v) {
        if (logits[v] > logits[best]) {
            best = v;
        }
    }
    return best;
}

LayerCodes to_codes(const std::array<int32_t, kHeads>& a, int32_t tmax) {
    LayerCodes c;
    c.t1 = a[0];
    c.t2 = a[1];
    c.v1 = a[2];
    c.v2 = a[3];
    c.tmax = tmax;
    return c;
}

template <typename T> void put(std::string& s, T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T> T take(const std::string& s, size_t& pos) {
    TRISEG_CHECK(pos + sizeof(T) <= s.size(), InputError, "the checkpoint's PPO buffer is damaged");
    T v;
    std::memcpy(&v, s.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
}

} // namespace

struct PpoSearch::Impl {
    CodeSpace space;
    uint64_t seed;
    int64_t generation;
    PpoOptions opt;
    ActorCritic net{nullptr};
    std::unique_ptr<torch::optim::Adam> adam;
    int64_t episodes = 0; ///< episodes told so far
    int64_t updates = 0;
    std::vector<Transition> buffer;
    std::vector<std::vector<Transition>> pending; ///< episodes of the last ask()
    std::vector<LogRecord> log;

    /// Logits [layers][256] of each head for every layer's state (no gradient).
    std::array<std::vector<float>, kHeads> all_logits() const {
        torch::NoGradGuard guard;
        std::array<std::vector<float>, kHeads> out;
        for (int h = 0; h < kHeads; ++h) {
            auto t = net->heads[static_cast<size_t>(h)]->forward(net->embedding).contiguous();
            out[static_cast<size_t>(h)].assign(t.data_ptr<float>(),
                                               t.data_ptr<float>() + t.numel());
        }
        return out;
    }

    void update();

    /// The network's shape, checked on load (LibTorch's load does not check shapes).
    std::string shape() const {
        return "layers " + std::to_string(space.layers) + ", ppo.embedding_dim " +
               std::to_string(opt.embedding_dim) + ", ppo.hidden " + std::to_string(opt.hidden);
    }
};

PpoSearch::PpoSearch(CodeSpace space, uint64_t seed, int64_t generation, PpoOptions options)
    : impl_(std::make_unique<Impl>()) {
    space.validate();
    options.validate();
    TRISEG_CHECK(generation >= 1, ConfigError,
                 "`search.episodes_per_generation` must be at least 1, got " << generation);
    auto& m = *impl_;
    m.space = space;
    m.seed = seed;
    m.generation = generation;
    m.opt = options;
    m.net = ActorCritic(space.layers, options);
    init_weights(m.net, seed);
    m.adam = std::make_unique<torch::optim::Adam>(m.net->parameters(),
                                                  torch::optim::AdamOptions(options.lr));
}

PpoSearch::~PpoSearch() = default;

int64_t PpoSearch::updates() const {
    return impl_->updates;
}

std::vector<CodeSet> PpoSearch::ask() {
    auto& m = *impl_;
    const auto logits = m.all_logits();
    m.pending.clear();
    std::vector<CodeSet> out;
    for (int64_t e = 0; e < m.generation; ++e) {
        Rng rng(m.seed, static_cast<uint64_t>(m.episodes + e));
        std::vector<Transition> episode;
        CodeSet codes;
        for (int32_t l = 0; l < static_cast<int32_t>(m.space.layers); ++l) {
            Transition t;
            t.layer = l;
            for (int h = 0; h < kHeads; ++h) {
                const float* row = logits[static_cast<size_t>(h)].data() + l * kCodes;
                t.action[static_cast<size_t>(h)] =
                    sample_masked(row, head_range(m.space, h, t.action), rng, t.logp);
            }
            t.terminal = l + 1 == m.space.layers;
            codes.layers.push_back(to_codes(t.action, m.space.tmax));
            episode.push_back(t);
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
    for (size_t e = 0; e < candidates.size(); ++e) {
        const double share = scores[e].reward() / static_cast<double>(m.space.layers);
        for (auto t : m.pending[e]) {
            if (candidates[e].layers[static_cast<size_t>(t.layer)] !=
                to_codes(t.action, m.space.tmax)) {
                throw std::logic_error("PpoSearch::tell: candidates differ from the last ask()");
            }
            t.reward = share;
            m.buffer.push_back(t);
            if (static_cast<int64_t>(m.buffer.size()) == m.opt.update_transitions) {
                m.update();
            }
        }
        ++m.episodes;
    }
    m.pending.clear();
}

void PpoSearch::Impl::update() {
    const auto n = static_cast<int64_t>(buffer.size());
    // Discounted returns, reset at episode ends, then normalized.
    std::vector<float> returns(static_cast<size_t>(n));
    double discounted = 0.0;
    double reward_sum = 0.0;
    for (int64_t i = n - 1; i >= 0; --i) {
        const auto& t = buffer[static_cast<size_t>(i)];
        if (t.terminal) {
            discounted = 0.0;
        }
        discounted = t.reward + opt.gamma * discounted;
        returns[static_cast<size_t>(i)] = static_cast<float>(discounted);
        reward_sum += t.reward;
    }
    auto ret = torch::from_blob(returns.data(), {n}, torch::kFloat).clone();
    ret = (ret - ret.mean()) / (ret.std() + kReturnEps);

    std::vector<int64_t> states(static_cast<size_t>(n));
    std::vector<int64_t> actions(static_cast<size_t>(n * kHeads));
    std::vector<float> old_logp(static_cast<size_t>(n));
    std::vector<float> mask(static_cast<size_t>(n * kHeads * kCodes),
                            -std::numeric_limits<float>::infinity());
    for (int64_t i = 0; i < n; ++i) {
        const auto& t = buffer[static_cast<size_t>(i)];
        states[static_cast<size_t>(i)] = t.layer;
        old_logp[static_cast<size_t>(i)] = static_cast<float>(t.logp);
        for (int h = 0; h < kHeads; ++h) {
            actions[static_cast<size_t>(i * kHeads + h)] = t.action[static_cast<size_t>(h)];
            const auto r = head_range(space, h, t.action);
            for (int32_t v = r.lo; v <= r.hi; ++v) {
                mask[static_cast<size_t>((i * kHeads + h) * kCodes + v)] = 0.0f;
            }
        }
    }
    const auto s = torch::from_blob(states.data(), {n}, torch::kLong).clone();
    const auto a = torch::from_blob(actions.data(), {n, kHeads}, torch::kLong).clone();
    const auto old = torch::from_blob(old_logp.data(), {n}, torch::kFloat).clone();
    const auto masks = torch::from_blob(mask.data(), {n, kHeads, kCodes}, torch::kFloat).clone();
    const auto allowed = masks == 0;

    double policy_loss = 0.0;
    double value_loss = 0.0;
    double entropy = 0.0;
    double approx_kl = 0.0;
    double clip_fraction = 0.0;
    for (int64_t k = 0; k < opt.k_epochs; ++k) {
        const auto e = net->embedding.index_select(0, s);
        std::vector<torch::Tensor> logps;
        std::vector<torch::Tensor> ents;
        for (int h = 0; h < kHeads; ++h) {
            const auto lp = torch::log_softmax(
                net->heads[static_cast<size_t>(h)]->forward(e) + masks.select(1, h), 1);
            logps.push_back(lp.gather(1, a.select(1, h).unsqueeze(1)).squeeze(1));
            // Masked entries have p = 0 and lp = -inf: zero lp there so that neither the
            // value nor the gradient sees 0 * inf.
            const auto lp0 = torch::where(allowed.select(1, h), lp, torch::zeros_like(lp));
            ents.push_back(-(lp.exp() * lp0).sum(1));
        }
        const auto logp = logps[0] + logps[1] + logps[2] + logps[3];
        const auto ent = ents[0] + ents[1] + ents[2] + ents[3];
        const auto values = net->critic->forward(e).squeeze(1);
        const auto ratios = torch::exp(logp - old);
        const auto adv = ret - values.detach();
        const auto surr1 = ratios * adv;
        const auto surr2 = torch::clamp(ratios, 1.0 - opt.eps_clip, 1.0 + opt.eps_clip) * adv;
        const auto pl = -torch::min(surr1, surr2).mean();
        const auto vl = torch::mse_loss(values, ret);
        const auto el = ent.mean();
        const auto loss = pl + opt.value_coef * vl - opt.entropy_coef * el;
        adam->zero_grad();
        loss.backward();
        adam->step();
        policy_loss = pl.item<double>();
        value_loss = vl.item<double>();
        entropy = el.item<double>();
        approx_kl = (old - logp.detach()).mean().item<double>();
        clip_fraction =
            ((ratios.detach() - 1.0).abs() > opt.eps_clip).to(torch::kFloat).mean().item<double>();
    }
    ++updates;
    log.push_back({"update",
                   {{"update", static_cast<double>(updates)},
                    {"transitions", static_cast<double>(n)},
                    {"mean_reward", reward_sum / static_cast<double>(n)},
                    {"policy_loss", policy_loss},
                    {"value_loss", value_loss},
                    {"entropy", entropy},
                    {"approx_kl", approx_kl},
                    {"clip_fraction", clip_fraction}}});
    buffer.clear();
}

std::optional<CodeSet> PpoSearch::proposal() const {
    const auto& m = *impl_;
    const auto logits = m.all_logits();
    CodeSet codes;
    for (int32_t l = 0; l < static_cast<int32_t>(m.space.layers); ++l) {
        std::array<int32_t, kHeads> a{};
        for (int h = 0; h < kHeads; ++h) {
            a[static_cast<size_t>(h)] = argmax_masked(
                logits[static_cast<size_t>(h)].data() + l * kCodes, head_range(m.space, h, a));
        }
        codes.layers.push_back(to_codes(a, m.space.tmax));
    }
    return codes;
}

std::vector<LogRecord> PpoSearch::take_log() {
    std::vector<LogRecord> out;
    out.swap(impl_->log);
    return out;
}

void PpoSearch::save(Checkpoint& checkpoint) const {
    const auto& m = *impl_;
    std::ostringstream net_bytes;
    {
        torch::serialize::OutputArchive archive;
        m.net->save(archive);
        archive.save_to(net_bytes);
    }
    std::ostringstream adam_bytes;
    {
        torch::serialize::OutputArchive archive;
        m.adam->save(archive);
        archive.save_to(adam_bytes);
    }
    std::string buffer;
    put<uint64_t>(buffer, m.buffer.size());
    for (const auto& t : m.buffer) {
        put(buffer, t.layer);
        for (int32_t v : t.action) {
            put(buffer, v);
        }
        put(buffer, t.logp);
        put(buffer, t.reward);
        put<uint8_t>(buffer, t.terminal ? 1 : 0);
    }
    checkpoint.entries["ppo/format"] = kFormat;
    checkpoint.entries["ppo/shape"] = m.shape();
    checkpoint.entries["ppo/episodes"] = std::to_string(m.episodes);
    checkpoint.entries["ppo/updates"] = std::to_string(m.updates);
    checkpoint.entries["ppo/network.pt"] = net_bytes.str();
    checkpoint.entries["ppo/adam.pt"] = adam_bytes.str();
    checkpoint.entries["ppo/buffer"] = buffer;
}

void PpoSearch::load(const Checkpoint& checkpoint) {
    auto& m = *impl_;
    auto get = [&](const std::string& key) -> const std::string& {
        const auto it = checkpoint.entries.find(key);
        TRISEG_CHECK(it != checkpoint.entries.end(), InputError,
                     "the checkpoint holds no '" << key << "' (was it written by another method?)");
        return it->second;
    };
    TRISEG_CHECK(get("ppo/format") == kFormat, InputError,
                 "the checkpoint's PPO state has format '" << get("ppo/format") << "', expected '"
                                                           << kFormat << "'");
    TRISEG_CHECK(get("ppo/shape") == m.shape(), InputError,
                 "the checkpoint's PPO network has " << get("ppo/shape") << "; this search has "
                                                     << m.shape());
    try {
        m.episodes = std::stoll(get("ppo/episodes"));
        m.updates = std::stoll(get("ppo/updates"));
        {
            std::istringstream in(get("ppo/network.pt"));
            torch::serialize::InputArchive archive;
            archive.load_from(in);
            m.net->load(archive);
        }
        {
            std::istringstream in(get("ppo/adam.pt"));
            torch::serialize::InputArchive archive;
            archive.load_from(in);
            m.adam->load(archive);
        }
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        TRISEG_THROW(InputError, "the checkpoint's PPO network does not match the options ("
                                     << "ppo.embedding_dim, ppo.hidden, layers): " << e.what());
    }
    const std::string& buffer = get("ppo/buffer");
    size_t pos = 0;
    const auto count = take<uint64_t>(buffer, pos);
    m.buffer.clear();
    for (uint64_t i = 0; i < count; ++i) {
        Transition t;
        t.layer = take<int32_t>(buffer, pos);
        for (auto& v : t.action) {
            v = take<int32_t>(buffer, pos);
        }
        t.logp = take<double>(buffer, pos);
        t.reward = take<double>(buffer, pos);
        t.terminal = take<uint8_t>(buffer, pos) != 0;
        m.buffer.push_back(t);
    }
    TRISEG_CHECK(pos == buffer.size(), InputError, "the checkpoint's PPO buffer is damaged");
    m.pending.clear();
    m.log.clear();
}

} // namespace triseg::search
