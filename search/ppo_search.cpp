// PpoSearch: masked categorical sampling, returns and clipped-surrogate updates on PpoNetwork.
#include "search/ppo_search.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "common/byte_io.h"
#include "common/error.h"
#include "common/rng.h"
#include "search/adam_optimizer.h"
#include "search/ppo_actions.h"
#include "search/ppo_curriculum.h"
#include "search/ppo_features.h"
#include "search/ppo_network.h"
#include "search/registry.h"

namespace triseg::search {

namespace {

constexpr int kCodes = PpoNetwork::kCodes;
constexpr int kHeads = PpoNetwork::kHeads; // t1, t2, v1, v2 in sampling order
constexpr double kReturnEps = 1e-7;
/// 3: the state, encoding and the init policy's Adam steps are entries, and the buffer holds
/// each transition's enhanced state. The entry ppo/policy came later within 3: without it a
/// checkpoint is of ppo.policy: mlp.
constexpr const char* kFormat = "triseg-ppo/3";
/// The format before ppo.state and ppo.encoding: read as state embedding, encoding absolute.
constexpr const char* kFormatV2 = "triseg-ppo/2";
/// The LibTorch network of triseg before the portable one; its state cannot be converted.
constexpr const char* kTorchFormat = "triseg-ppo/1";

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

template <typename T> void put(std::string& s, T v) {
    append_raw(s, v);
}
template <typename T> T take(const std::string& s, size_t& pos) {
    T v{};
    TRISEG_CHECK(read_raw(s, pos, v), InputError, "the checkpoint's PPO buffer is damaged");
    return v;
}

/// Doubles as their bytes (x86-64: little-endian IEEE 754), and back.
std::string to_bytes(const std::vector<double>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
}
std::vector<double> from_bytes(const std::string& bytes, size_t count, const std::string& key) {
    TRISEG_CHECK(bytes.size() == count * sizeof(double), InputError,
                 "the checkpoint's '" << key << "' holds " << bytes.size() << " bytes; "
                                      << count * sizeof(double)
                                      << " were expected for this network (damaged file?)");
    std::vector<double> v(count);
    std::memcpy(v.data(), bytes.data(), bytes.size());
    // A NaN or infinite weight would make every later policy NaN, with no error anywhere.
    for (size_t i = 0; i < v.size(); ++i) {
        TRISEG_CHECK(std::isfinite(v[i]), InputError,
                     "the checkpoint's '" << key << "' holds a non-finite value (" << v[i] << " at "
                                          << i << "); the file is damaged");
    }
    return v;
}

} // namespace

struct PpoSearch::Impl {
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

void PpoSearch::save(Checkpoint& checkpoint) const {
    const auto& m = *impl_;
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
        for (double f : t.state) { // kPpoFeatures values with ppo.state: enhanced, else none
            put(buffer, f);
        }
    }
    checkpoint.entries["ppo/format"] = kFormat;
    checkpoint.entries["ppo/state"] = m.opt.state;
    checkpoint.entries["ppo/encoding"] = m.opt.encoding;
    checkpoint.entries["ppo/policy"] = m.opt.policy;
    checkpoint.entries["ppo/init_adam_steps"] = std::to_string(m.adam_base);
    checkpoint.entries["ppo/shape"] = m.net.shape();
    checkpoint.entries["ppo/space"] = m.space_name();
    checkpoint.entries["ppo/episodes"] = std::to_string(m.episodes);
    checkpoint.entries["ppo/updates"] = std::to_string(m.updates);
    checkpoint.entries["ppo/parameters"] = to_bytes(m.net.parameters());
    checkpoint.entries["ppo/adam_steps"] = std::to_string(m.adam.steps());
    checkpoint.entries["ppo/adam_m"] = to_bytes(m.adam.first_moment());
    checkpoint.entries["ppo/adam_v"] = to_bytes(m.adam.second_moment());
    checkpoint.entries["ppo/buffer"] = buffer;
    if (m.opt.has_curriculum()) { // '1' or '0' per buffered transition (Transition::active)
        std::string active;
        for (const auto& t : m.buffer) {
            active += t.active ? '1' : '0';
        }
        checkpoint.entries["ppo/active"] = active;
    }
}

void PpoSearch::load(const Checkpoint& checkpoint) {
    auto& m = *impl_;
    auto get = [&](const std::string& key) -> const std::string& {
        const auto it = checkpoint.entries.find(key);
        TRISEG_CHECK(it != checkpoint.entries.end(), InputError,
                     "the checkpoint holds no '" << key << "' (was it written by another method?)");
        return it->second;
    };
    TRISEG_CHECK(get("ppo/format") != kTorchFormat, InputError,
                 "the checkpoint's PPO state was written by an older triseg (format '"
                     << kTorchFormat << "', a LibTorch network) and cannot be continued by this "
                     << "one (format '" << kFormat << "'); rerun with --force to start the "
                     << "search over");
    const bool v2 = get("ppo/format") == kFormatV2;
    TRISEG_CHECK(get("ppo/format") == kFormat || v2, InputError,
                 "the checkpoint's PPO state has format '" << get("ppo/format") << "', expected '"
                                                           << kFormat << "'");
    // Format 2 predates ppo.state and ppo.encoding: an embedding policy of absolute codes.
    auto entry_or = [&](const std::string& key, const std::string& fallback) {
        const auto it = checkpoint.entries.find(key);
        return v2 || it == checkpoint.entries.end() ? fallback : it->second;
    };
    TRISEG_CHECK(entry_or("ppo/state", "embedding") == m.opt.state &&
                     entry_or("ppo/encoding", "absolute") == m.opt.encoding,
                 InputError,
                 "the checkpoint's PPO policy has ppo.state "
                     << entry_or("ppo/state", "embedding") << " and ppo.encoding "
                     << entry_or("ppo/encoding", "absolute") << "; this search has " << m.opt.state
                     << " and " << m.opt.encoding);
    TRISEG_CHECK(entry_or("ppo/policy", "mlp") == m.opt.policy, InputError,
                 "the checkpoint's PPO policy has ppo.policy " << entry_or("ppo/policy", "mlp")
                                                               << "; this search has ppo.policy "
                                                               << m.opt.policy);
    TRISEG_CHECK(get("ppo/shape") == m.net.shape(), InputError,
                 "the checkpoint's PPO network has " << get("ppo/shape") << "; this search has "
                                                     << m.net.shape());
    // Checkpoints of the codes space written before the allocation space existed have no entry.
    const auto space = checkpoint.entries.find("ppo/space");
    const std::string saved = space == checkpoint.entries.end() ? "codes" : space->second;
    TRISEG_CHECK(saved == m.space_name(), InputError,
                 "the checkpoint's PPO policy searched the "
                     << saved << " space; this search is in "
                     << "the " << m.space_name() << " space (search.space)");
    const size_t size = m.net.parameters().size();
    auto parameters = from_bytes(get("ppo/parameters"), size, "ppo/parameters");
    auto first = from_bytes(get("ppo/adam_m"), size, "ppo/adam_m");
    auto second = from_bytes(get("ppo/adam_v"), size, "ppo/adam_v");
    // The whole text is one decimal integer ("1e30" or "12x" is damage, not 1 or 12).
    auto counter = [&](const std::string& key) {
        const std::string& text = get(key);
        int64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        TRISEG_CHECK(ec == std::errc() && end == text.data() + text.size() && !text.empty(),
                     InputError,
                     "the checkpoint's PPO counter '" << key << "' is damaged: '"
                                                      << text.substr(0, 40) << "'");
        return value;
    };
    const int64_t episodes = counter("ppo/episodes");
    const int64_t updates = counter("ppo/updates");
    const int64_t steps = counter("ppo/adam_steps");
    const int64_t base = v2 ? 0 : counter("ppo/init_adam_steps");
    constexpr int64_t kMaxCount = int64_t{1} << 53;
    TRISEG_CHECK(episodes >= 0 && episodes <= kMaxCount && updates >= 0 && updates <= kMaxCount &&
                     base >= 0 && base <= kMaxCount && steps == base + updates * m.opt.k_epochs,
                 InputError,
                 "the checkpoint's PPO counters disagree (episodes "
                     << episodes << ", updates " << updates << ", Adam steps " << steps
                     << " for ppo.k_epochs " << m.opt.k_epochs << " after the init policy's "
                     << base << ")");
    const std::string& bytes = get("ppo/buffer");
    size_t pos = 0;
    const auto count = take<uint64_t>(bytes, pos);
    std::vector<Transition> buffer;
    for (uint64_t i = 0; i < count && pos < bytes.size(); ++i) {
        Transition t;
        t.layer = take<int32_t>(bytes, pos);
        for (auto& v : t.action) {
            v = take<int32_t>(bytes, pos);
        }
        t.logp = take<double>(bytes, pos);
        t.reward = take<double>(bytes, pos);
        t.terminal = take<uint8_t>(bytes, pos) != 0;
        for (int64_t k = 0; m.enhanced && k < kPpoFeatures; ++k) {
            t.state.push_back(take<double>(bytes, pos));
        }
        bool valid = t.layer >= 0 && t.layer < m.space.layers && std::isfinite(t.logp) &&
                     t.logp <= 0 && std::isfinite(t.reward);
        for (double f : t.state) {
            valid = valid && std::isfinite(f);
        }
        for (int h = 0; h < kHeads && valid; ++h) {
            valid = m.range(h, t.action).contains(t.action[static_cast<size_t>(h)]);
        }
        TRISEG_CHECK(valid, InputError,
                     "the checkpoint's PPO buffer is damaged (transition "
                         << i << " is not a valid layer, codes, log-probability and reward)");
        buffer.push_back(t);
    }
    TRISEG_CHECK(buffer.size() == count && pos == bytes.size() &&
                     static_cast<int64_t>(count) < m.opt.update_transitions,
                 InputError, "the checkpoint's PPO buffer is damaged");
    // Written with the layer curriculum only; without it every transition is active.
    const auto active = checkpoint.entries.find("ppo/active");
    if (active != checkpoint.entries.end()) {
        const std::string& flags = active->second;
        TRISEG_CHECK(flags.size() == buffer.size() &&
                         flags.find_first_not_of("01") == std::string::npos,
                     InputError,
                     "the checkpoint's 'ppo/active' does not hold one 0 or 1 per buffered "
                     "transition; the file is damaged");
        for (size_t i = 0; i < buffer.size(); ++i) {
            buffer[i].active = flags[i] == '1';
        }
    }
    // A recurrent policy's buffer holds whole episodes (its updates wait for an episode's end).
    for (size_t i = 0; m.recurrent && i < buffer.size(); ++i) {
        const bool starts = i == 0 || buffer[i - 1].terminal;
        const bool last = i + 1 == buffer.size();
        TRISEG_CHECK((starts ? buffer[i].layer == 0 : buffer[i].layer == buffer[i - 1].layer + 1) &&
                         (!last || buffer[i].terminal),
                     InputError,
                     "the checkpoint's PPO buffer does not hold whole episodes, as a recurrent "
                     "policy's (ppo.policy: gru) does");
    }
    m.net.parameters() = std::move(parameters);
    m.adam.restore(steps, std::move(first), std::move(second));
    m.adam_base = base;
    m.episodes = episodes;
    m.updates = updates;
    m.buffer = std::move(buffer);
    m.pending.clear();
    m.log.clear();
}

void PpoSearch::Impl::adopt(const Checkpoint& policy, const std::string& path) {
    const auto& e = policy.entries;
    auto find = [&](const std::string& key) -> const std::string* {
        const auto it = e.find(key);
        return it == e.end() ? nullptr : &it->second;
    };
    const std::string* format = find("ppo/format");
    TRISEG_CHECK(format != nullptr && (*format == kFormat || *format == kFormatV2) &&
                     find("ppo/shape") != nullptr && find("ppo/parameters") != nullptr,
                 InputError,
                 "`ppo.init_policy` '" << path << "' is not the checkpoint of a PPO search of this "
                                       << "triseg (no PPO policy of format '" << kFormat
                                       << "' in it)");
    const bool v2 = *format == kFormatV2;
    auto entry_or = [&](const std::string& key, const std::string& fallback) {
        const std::string* v = find(key);
        return v2 || v == nullptr ? fallback : *v;
    };
    const std::string state = entry_or("ppo/state", "embedding");
    TRISEG_CHECK(state == opt.state, InputError,
                 "`ppo.init_policy` '" << path << "' holds a policy of ppo.state " << state
                                       << "; this search has ppo.state " << opt.state);
    const std::string kind = entry_or("ppo/policy", "mlp");
    TRISEG_CHECK(kind == opt.policy, InputError,
                 "`ppo.init_policy` '" << path << "' holds a policy of ppo.policy " << kind
                                       << "; this search has ppo.policy " << opt.policy);
    const std::string& shape = *find("ppo/shape");
    const bool other_layers =
        !enhanced && shape != net.shape() && shape.rfind("layers ", 0) == 0 &&
        shape.substr(shape.find(',')) == net.shape().substr(net.shape().find(','));
    TRISEG_CHECK(!other_layers, InputError,
                 "`ppo.init_policy` '"
                     << path << "' holds an embedding policy of another model (" << shape
                     << "; this model's: " << net.shape()
                     << "); only ppo.state: enhanced policies transfer between models");
    TRISEG_CHECK(shape == net.shape(), InputError,
                 "`ppo.init_policy` '" << path << "' holds a policy network of " << shape
                                       << "; this search's network has " << net.shape());
    const std::string encoding = entry_or("ppo/encoding", "absolute");
    const std::string space = find("ppo/space") != nullptr ? *find("ppo/space") : "codes";
    TRISEG_CHECK(encoding == opt.encoding && space == space_name(), InputError,
                 "`ppo.init_policy` '" << path << "' holds a policy of ppo.encoding " << encoding
                                       << " in the " << space << " space; this search has "
                                       << opt.encoding << " in the " << space_name() << " space");
    auto bytes = [&](const std::string& key) -> const std::string& {
        const std::string* v = find(key);
        TRISEG_CHECK(v != nullptr, InputError,
                     "`ppo.init_policy` '" << path << "' holds no '" << key << "'");
        return *v;
    };
    const size_t size = net.parameters().size();
    auto parameters = from_bytes(bytes("ppo/parameters"), size, "ppo/parameters");
    auto first = from_bytes(bytes("ppo/adam_m"), size, "ppo/adam_m");
    auto second = from_bytes(bytes("ppo/adam_v"), size, "ppo/adam_v");
    const std::string& text = bytes("ppo/adam_steps");
    int64_t steps = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), steps);
    TRISEG_CHECK(ec == std::errc() && end == text.data() + text.size() && steps >= 0 &&
                     steps <= (int64_t{1} << 53),
                 InputError,
                 "`ppo.init_policy` '" << path << "' holds a damaged Adam step count '"
                                       << text.substr(0, 40) << "'");
    net.parameters() = std::move(parameters);
    adam.restore(steps, std::move(first), std::move(second));
    adam_base = steps;
    log.push_back({"init_policy", {{"adam_steps", static_cast<double>(steps)}}});
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
