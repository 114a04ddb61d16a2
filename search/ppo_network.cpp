// PpoNetwork: forward, PPO loss and explicit backward pass in plain double precision.
//
// Why not LibTorch (as this network once was): the search's trajectory (sampled codes,
// update records, checkpoints) must be bit-identical for the same binary at any thread count,
// under any launcher and on any x86-64 CPU with AVX2 and FMA. No library in our stack gives
// that for float results: OpenBLAS sizes its thread pool from the CPU affinity (1 thread
// under mpirun's binding, all cores in a plain run) and its AVX-512 kernels round
// differently by thread count; ATen picks AVX2 or AVX-512 kernels (and FMA in them) at run
// time. The network is tiny (13 x 64 embedding, five 64-wide heads, batches of 50), so
// plain loops cost little (bench/bench_ppo_update.cpp) and make every result a fixed
// sequence of IEEE operations. This file is compiled with -ffp-contract=off and no -march
// flags (search/CMakeLists.txt), so that no FMA contraction or vector reduction changes
// the order. Gradients and the Adam step are checked against LibTorch's autograd and
// torch::optim::Adam in tests/search/test_ppo_network.cpp, the recurrent network's gradients
// (ppo.policy: gru) against finite differences in tests/search/test_ppo_gru.cpp.
#include "search/ppo_network.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/rng.h"
#include "common/rng_streams.h"

namespace triseg::search {

namespace {

constexpr const char* kHeadNames[PpoNetwork::kHeads] = {"actor_t1", "actor_t2", "actor_v1",
                                                        "actor_v2"};

/// The log of the softmax's normalizer over the allowed codes r of `z`.
double log_normalizer(const std::vector<double>& z, CodeRange r) {
    double m = -std::numeric_limits<double>::infinity();
    for (int32_t v = r.lo; v <= r.hi; ++v) {
        m = std::max(m, z[static_cast<size_t>(v)]);
    }
    double sum = 0.0;
    for (int32_t v = r.lo; v <= r.hi; ++v) {
        sum += std::exp(z[static_cast<size_t>(v)] - m);
    }
    return m + std::log(sum);
}

/// out[o] = sum_k w[o][k] x[k] + b[o] for o in [lo, hi], each sum in ascending k. Four rows
/// at a time, to overlap their independent sums; every row's order of operations is that
/// of the one-row loop.
void dense_rows(const double* w,
                const double* b,
                int64_t in,
                const double* x,
                int64_t lo,
                int64_t hi,
                double* out) {
    int64_t o = lo;
    for (; o + 3 <= hi; o += 4) {
        const double* r0 = w + o * in;
        const double* r1 = r0 + in;
        const double* r2 = r1 + in;
        const double* r3 = r2 + in;
        double a0 = 0.0;
        double a1 = 0.0;
        double a2 = 0.0;
        double a3 = 0.0;
        for (int64_t k = 0; k < in; ++k) {
            a0 += r0[k] * x[k];
            a1 += r1[k] * x[k];
            a2 += r2[k] * x[k];
            a3 += r3[k] * x[k];
        }
        out[o] = a0 + b[o];
        out[o + 1] = a1 + b[o + 1];
        out[o + 2] = a2 + b[o + 2];
        out[o + 3] = a3 + b[o + 3];
    }
    for (; o <= hi; ++o) {
        const double* r = w + o * in;
        double a = 0.0;
        for (int64_t k = 0; k < in; ++k) {
            a += r[k] * x[k];
        }
        out[o] = a + b[o];
    }
}

} // namespace

PpoNetwork::PpoNetwork(
    int64_t layers, int64_t embedding_dim, int64_t hidden, int64_t features, bool recurrent)
    : layers_(layers), dim_(embedding_dim), hidden_(hidden), features_(features),
      recurrent_(recurrent) {
    TRISEG_CHECK(layers >= 1 && embedding_dim >= 1 && hidden >= 0 && features >= 0, ConfigError,
                 "the PPO network needs layers >= 1, ppo.embedding_dim >= 1, ppo.hidden >= "
                 "0 and features >= 0; got "
                     << shape());
    int64_t size = features > 0 ? 0 : layers * embedding_dim;
    auto dense = [&](int64_t in, int64_t out) {
        Dense d{in, out, size, size + in * out};
        size += in * out + out;
        return d;
    };
    if (features > 0) {
        input_ = dense(features, embedding_dim);
    }
    if (recurrent) {
        gru_ = PpoGruCell(embedding_dim, size);
        size += gru_.parameter_count();
    }
    auto head = [&](int64_t out) {
        Head h;
        if (hidden > 0) {
            h.first = dense(embedding_dim, hidden);
            h.last = dense(hidden, out);
        } else {
            h.last = dense(embedding_dim, out);
        }
        return h;
    };
    for (auto& a : actors_) {
        a = head(kCodes);
    }
    critic_ = head(1);
    params_.assign(static_cast<size_t>(size), 0.0);
    grad_.assign(static_cast<size_t>(size), 0.0);
}

std::string PpoNetwork::shape() const {
    return (features_ > 0 ? "features " + std::to_string(features_)
                          : "layers " + std::to_string(layers_)) +
           ", ppo.embedding_dim " + std::to_string(dim_) + ", ppo.hidden " +
           std::to_string(hidden_) + (recurrent_ ? ", ppo.policy gru" : "");
}

std::vector<PpoTensor> PpoNetwork::tensors() const {
    std::vector<PpoTensor> out;
    auto add = [&](const std::string& name, const Dense& d) {
        out.push_back({name + ".weight", d.w, d.out, d.in});
        out.push_back({name + ".bias", d.b, d.out, 1});
    };
    if (features_ > 0) {
        add("input", input_);
    } else {
        out.push_back({"embedding", 0, layers_, dim_});
    }
    if (recurrent_) {
        const int64_t d = gru_.size();
        out.push_back({"gru.weight_ih", gru_.w_ih(), 3 * d, d});
        out.push_back({"gru.weight_hh", gru_.w_hh(), 3 * d, d});
        out.push_back({"gru.bias_ih", gru_.b_ih(), 3 * d, 1});
        out.push_back({"gru.bias_hh", gru_.b_hh(), 3 * d, 1});
    }
    auto add_head = [&](const std::string& name, const Head& h) {
        if (hidden_ > 0) {
            add(name + ".first", h.first);
        }
        add(name + ".last", h.last);
    };
    for (int h = 0; h < kHeads; ++h) {
        add_head(kHeadNames[h], actors_[static_cast<size_t>(h)]);
    }
    add_head("critic", critic_);
    return out;
}

void PpoNetwork::initialize(uint64_t seed) {
    Rng rng(seed, rng_streams::kPpoInit);
    // Each Linear: its weight, then its bias (stored right after it), uniform in
    // +-1/sqrt(fan_in); in the order of tensors().
    auto fill = [&](const Dense& d) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(d.in));
        for (int64_t i = 0; i < d.in * d.out + d.out; ++i) {
            params_[static_cast<size_t>(d.w + i)] = (2.0 * rng.uniform01() - 1.0) * bound;
        }
    };
    if (features_ > 0) {
        fill(input_);
    } else {
        for (int64_t i = 0; i < layers_ * dim_; ++i) { // Box-Muller from two uniforms
            const double u1 = 1.0 - rng.uniform01();
            const double u2 = rng.uniform01();
            params_[static_cast<size_t>(i)] =
                std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
        }
    }
    if (recurrent_) {
        gru_.initialize(rng, params_.data());
    }
    auto fill_head = [&](const Head& h) {
        if (hidden_ > 0) {
            fill(h.first);
        }
        fill(h.last);
    };
    for (const auto& a : actors_) {
        fill_head(a);
    }
    fill_head(critic_);
}

const double* PpoNetwork::embedding(int64_t layer) const {
    TRISEG_CHECK(layer >= 0 && layer < layers_, InputError,
                 "layer " << layer << " is not in [0, " << layers_ << ")");
    TRISEG_CHECK(features_ == 0, InputError,
                 "the PPO network has an input layer of " << features_
                                                          << " features, not an embedding");
    return params_.data() + layer * dim_;
}

std::vector<double> PpoNetwork::input(int64_t layer, const std::vector<double>& features) const {
    if (features_ == 0) {
        const double* e = embedding(layer);
        return std::vector<double>(e, e + dim_);
    }
    TRISEG_CHECK(static_cast<int64_t>(features.size()) == features_, InputError,
                 "a PPO state has " << features.size() << " features; the network takes "
                                    << features_);
    std::vector<double> x(static_cast<size_t>(dim_));
    const double* p = params_.data();
    dense_rows(p + input_.w, p + input_.b, features_, features.data(), 0, dim_ - 1, x.data());
    return x;
}

void PpoNetwork::sample_input(const PpoSample& s, std::vector<double>& x) const {
    x = input(s.layer, s.features);
}

std::vector<double> PpoNetwork::step(const std::vector<double>& x,
                                     const std::vector<double>& h) const {
    TRISEG_CHECK(recurrent_ && static_cast<int64_t>(x.size()) == dim_ &&
                     static_cast<int64_t>(h.size()) == dim_,
                 InputError,
                 "a GRU step needs a recurrent network and an input and state of "
                     << dim_ << " values; got " << (recurrent_ ? "" : "no GRU, ") << x.size()
                     << " and " << h.size());
    PpoGruCell::Pass pass;
    gru_.forward(params_.data(), x.data(), h.data(), pass);
    return std::move(pass.h);
}

void PpoNetwork::recur(const std::vector<PpoSample>& batch,
                       std::vector<std::vector<double>>& xs,
                       std::vector<PpoGruCell::Pass>& steps) const {
    xs.resize(batch.size());
    std::vector<bool> starts(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
        const int32_t layer = batch[i].layer;
        starts[i] = layer == 0;
        TRISEG_CHECK(starts[i] || (i > 0 && batch[i - 1].layer == layer - 1), InputError,
                     "a recurrent PPO batch must hold whole episodes in layer order; transition "
                         << i << " of layer " << layer << " follows "
                         << (i > 0 ? "layer " + std::to_string(batch[i - 1].layer)
                                   : std::string("nothing")));
        sample_input(batch[i], xs[i]);
    }
    gru_.forward_sequence(params_.data(), xs, starts, steps);
}

void PpoNetwork::backward_recurrent(const std::vector<PpoSample>& batch,
                                    const std::vector<std::vector<double>>& xs,
                                    const std::vector<PpoGruCell::Pass>& steps,
                                    const std::vector<std::vector<double>>& g_h) {
    std::vector<bool> starts(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
        starts[i] = batch[i].layer == 0;
    }
    std::vector<std::vector<double>> g_x;
    gru_.backward_sequence(params_.data(), xs, starts, steps, g_h, grad_.data(), g_x);
    for (size_t i = batch.size(); i-- > 0;) {
        backward_input(batch[i], g_x[i].data());
    }
}

void PpoNetwork::backward_input(const PpoSample& s, const double* gx) {
    if (features_ == 0) {
        double* ge = grad_.data() + s.layer * dim_;
        for (int64_t d = 0; d < dim_; ++d) {
            ge[d] += gx[d];
        }
        return;
    }
    const double* f = s.features.data();
    for (int64_t o = 0; o < dim_; ++o) {
        const double go = gx[o];
        grad_[static_cast<size_t>(input_.b + o)] += go;
        double* gw = grad_.data() + input_.w + o * features_;
        for (int64_t k = 0; k < features_; ++k) {
            gw[k] += go * f[k];
        }
    }
}

void PpoNetwork::forward(const Head& head, const double* x, CodeRange rows, HeadPass& pass) const {
    const double* p = params_.data();
    const double* in = x;
    if (hidden_ > 0) {
        pass.hidden.resize(static_cast<size_t>(hidden_));
        dense_rows(p + head.first.w, p + head.first.b, dim_, x, 0, hidden_ - 1, pass.hidden.data());
        for (double& a : pass.hidden) {
            a = std::tanh(a);
        }
        in = pass.hidden.data();
    } else {
        pass.hidden.clear();
    }
    // Rows outside `rows` are never read; NaN makes a mistake visible.
    pass.out.assign(static_cast<size_t>(head.last.out), std::numeric_limits<double>::quiet_NaN());
    dense_rows(p + head.last.w, p + head.last.b, head.last.in, in, rows.lo, rows.hi,
               pass.out.data());
}

void PpoNetwork::backward(
    const Head& head, const double* x, const HeadPass& pass, const double* g_out, double* gx) {
    // Adds d/dW += g x^T, d/db += g, and returns W^T g in g_in; rows whose g is exactly 0
    // (the masked codes) add nothing and are skipped.
    auto dense = [&](const Dense& d, const double* in, const double* g, std::vector<double>& g_in) {
        g_in.assign(static_cast<size_t>(d.in), 0.0);
        for (int64_t o = 0; o < d.out; ++o) {
            const double go = g[o];
            if (go == 0.0) {
                continue;
            }
            grad_[static_cast<size_t>(d.b + o)] += go;
            const double* w = params_.data() + d.w + o * d.in;
            double* gw = grad_.data() + d.w + o * d.in;
            for (int64_t k = 0; k < d.in; ++k) {
                gw[k] += go * in[k];
                g_in[static_cast<size_t>(k)] += w[k] * go;
            }
        }
    };
    std::vector<double> g_last;
    if (hidden_ > 0) {
        dense(head.last, pass.hidden.data(), g_out, g_last);
        for (size_t k = 0; k < g_last.size(); ++k) { // tanh' = 1 - tanh^2
            g_last[k] *= 1.0 - pass.hidden[k] * pass.hidden[k];
        }
        std::vector<double> g_first;
        dense(head.first, x, g_last.data(), g_first);
        for (int64_t d = 0; d < dim_; ++d) {
            gx[d] += g_first[static_cast<size_t>(d)];
        }
    } else {
        dense(head.last, x, g_out, g_last);
        for (int64_t d = 0; d < dim_; ++d) {
            gx[d] += g_last[static_cast<size_t>(d)];
        }
    }
}

std::vector<double> PpoNetwork::logits(int head, int64_t layer, CodeRange rows) const {
    TRISEG_CHECK(!recurrent_, InputError,
                 "a recurrent PPO network has no logits per layer; use step() and head_logits()");
    TRISEG_CHECK(head >= 0 && head < kHeads, InputError,
                 "head " << head << " is not in [0, " << kHeads << ")");
    TRISEG_CHECK(rows.lo >= 0 && rows.hi < kCodes, InputError,
                 "logit rows [" << rows.lo << ", " << rows.hi << "] are not within [0, "
                                << kCodes - 1 << "]");
    HeadPass pass;
    forward(actors_[static_cast<size_t>(head)], embedding(layer), rows, pass);
    return std::move(pass.out);
}

std::vector<double>
PpoNetwork::head_logits(int head, const std::vector<double>& x, CodeRange rows) const {
    TRISEG_CHECK(head >= 0 && head < kHeads && static_cast<int64_t>(x.size()) == dim_ &&
                     rows.lo >= 0 && rows.hi < kCodes,
                 InputError,
                 "head " << head << " of [0, " << kHeads << "), an input of " << x.size()
                         << " values for " << dim_ << ", rows [" << rows.lo << ", " << rows.hi
                         << "] within [0, " << kCodes - 1 << "]");
    HeadPass pass;
    forward(actors_[static_cast<size_t>(head)], x.data(), rows, pass);
    return std::move(pass.out);
}

double PpoNetwork::head_value(const std::vector<double>& x) const {
    TRISEG_CHECK(static_cast<int64_t>(x.size()) == dim_, InputError,
                 "the critic's input has " << x.size() << " values for " << dim_);
    HeadPass pass;
    forward(critic_, x.data(), {0, 0}, pass);
    return pass.out[0];
}

double PpoNetwork::value(int64_t layer) const {
    TRISEG_CHECK(!recurrent_, InputError,
                 "a recurrent PPO network has no value per layer; use step()");
    HeadPass pass;
    forward(critic_, embedding(layer), {0, 0}, pass);
    return pass.out[0];
}

PpoLoss PpoNetwork::loss_and_gradient(const std::vector<PpoSample>& batch,
                                      const PpoOptions& options) {
    TRISEG_CHECK(!batch.empty(), InputError, "the PPO loss needs at least one transition");
    // Forward once per state: per layer that occurs in the batch with an embedding
    // (transitions of a layer share a state), per transition with an input layer or a GRU;
    // computing only the logits some transition's mask allows.
    const bool per_sample = features_ > 0 || recurrent_;
    const size_t slots = per_sample ? batch.size() : static_cast<size_t>(layers_);
    std::vector<size_t> slot_of(batch.size());
    std::vector<const PpoSample*> first(slots, nullptr); // the first sample of each slot
    std::vector<std::array<CodeRange, kHeads>> rows(slots);
    for (auto& r : rows) {
        r.fill(CodeRange{kCodes, -1});
    }
    for (size_t i = 0; i < batch.size(); ++i) {
        const auto& s = batch[i];
        TRISEG_CHECK(s.layer >= 0 && s.layer < layers_, InputError,
                     "layer " << s.layer << " is not in [0, " << layers_ << ")");
        const size_t l = per_sample ? i : static_cast<size_t>(s.layer);
        slot_of[i] = l;
        if (first[l] == nullptr) {
            first[l] = &s;
        }
        for (size_t h = 0; h < kHeads; ++h) {
            const CodeRange a = s.allowed[h];
            TRISEG_CHECK(a.contains(s.action[h]) && a.lo >= 0 && a.hi < kCodes, InputError,
                         "a PPO transition's action " << s.action[h] << " is outside its mask ["
                                                      << a.lo << ", " << a.hi << "]");
            rows[l][h].lo = std::min(rows[l][h].lo, a.lo);
            rows[l][h].hi = std::max(rows[l][h].hi, a.hi);
        }
    }
    std::vector<std::vector<double>> inputs(slots); // the heads' inputs
    std::vector<std::vector<double>> xs;            // recurrent: the GRU's inputs
    std::vector<PpoGruCell::Pass> steps;
    if (recurrent_) {
        recur(batch, xs, steps);
    }
    std::vector<std::array<HeadPass, kHeads>> actor(slots);
    std::vector<HeadPass> critic(slots);
    for (size_t l = 0; l < slots; ++l) {
        if (first[l] != nullptr) {
            if (recurrent_) {
                inputs[l] = steps[l].h;
            } else {
                sample_input(*first[l], inputs[l]);
            }
            const double* x = inputs[l].data();
            for (size_t h = 0; h < kHeads; ++h) {
                forward(actors_[h], x, rows[l][h], actor[l][h]);
            }
            forward(critic_, x, {0, 0}, critic[l]);
        }
    }

    // The loss's terms per transition, in batch order, and d loss / d logits and
    // d loss / d value summed per layer.
    const double inv_n = 1.0 / static_cast<double>(batch.size());
    const double lo = 1.0 - options.eps_clip;
    const double hi = 1.0 + options.eps_clip;
    std::vector<double> g_logits(slots * kHeads * kCodes, 0.0);
    std::vector<double> g_value(slots, 0.0);
    double sum_surrogate = 0.0;
    double sum_squared = 0.0;
    double sum_entropy = 0.0;
    double sum_kl = 0.0;
    int64_t clipped = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
        const auto& s = batch[i];
        const size_t l = slot_of[i];
        std::array<double, kHeads> lse{};
        std::array<double, kHeads> head_entropy{};
        double logp = 0.0;
        double entropy = 0.0;
        for (size_t h = 0; h < kHeads; ++h) {
            const auto& z = actor[l][h].out;
            const CodeRange r = s.allowed[h];
            lse[h] = log_normalizer(z, r);
            logp += z[static_cast<size_t>(s.action[h])] - lse[h];
            double neg = 0.0; // sum p log p
            for (int32_t v = r.lo; v <= r.hi; ++v) {
                const double lp = z[static_cast<size_t>(v)] - lse[h];
                neg += std::exp(lp) * lp;
            }
            head_entropy[h] = -neg;
            entropy += head_entropy[h];
        }
        const double value = critic[l].out[0];
        const double ratio = std::exp(logp - s.old_logp);
        const double adv = s.ret - value;
        const double surr1 = ratio * adv;
        const double surr2 = std::min(std::max(ratio, lo), hi) * adv;
        sum_surrogate += std::min(surr1, surr2);
        sum_squared += (value - s.ret) * (value - s.ret);
        sum_entropy += entropy;
        sum_kl += s.old_logp - logp;
        clipped += std::abs(ratio - 1.0) > options.eps_clip ? 1 : 0;

        // d(-min(surr1, surr2))/d logp: -adv ratio where surr1 is the minimum (at a tie the
        // clip is inactive and both branches have this gradient), else 0.
        const double g_logp = surr1 <= surr2 ? -(adv * ratio) * inv_n : 0.0;
        const double g_entropy = -options.entropy_coef * inv_n;
        for (size_t h = 0; h < kHeads; ++h) {
            const auto& z = actor[l][h].out;
            const CodeRange r = s.allowed[h];
            double* g = g_logits.data() + (l * kHeads + h) * kCodes;
            for (int32_t v = r.lo; v <= r.hi; ++v) {
                const double lp = z[static_cast<size_t>(v)] - lse[h];
                const double p = std::exp(lp);
                // d logp_a/d z_v = [v = a] - p_v;  d H/d z_v = -p_v (log p_v + H)
                const double hit = v == s.action[h] ? 1.0 : 0.0;
                g[v] += g_logp * (hit - p) + g_entropy * (-p * (lp + head_entropy[h]));
            }
        }
        g_value[l] += options.value_coef * 2.0 * (value - s.ret) * inv_n;
    }

    std::fill(grad_.begin(), grad_.end(), 0.0);
    std::vector<double> gx(static_cast<size_t>(dim_));
    std::vector<std::vector<double>> g_h(recurrent_ ? slots : 0); // d loss / d h per sample
    for (size_t l = 0; l < slots; ++l) {
        if (first[l] == nullptr) {
            continue;
        }
        const double* x = inputs[l].data();
        std::fill(gx.begin(), gx.end(), 0.0);
        for (size_t h = 0; h < kHeads; ++h) {
            backward(actors_[h], x, actor[l][h], g_logits.data() + (l * kHeads + h) * kCodes,
                     gx.data());
        }
        backward(critic_, x, critic[l], &g_value[l], gx.data());
        if (recurrent_) {
            g_h[l] = gx;
        } else {
            backward_input(*first[l], gx.data());
        }
    }
    if (recurrent_) {
        backward_recurrent(batch, xs, steps, g_h);
    }

    const auto n = static_cast<double>(batch.size());
    PpoLoss out;
    out.policy_loss = -(sum_surrogate / n);
    out.value_loss = sum_squared / n;
    out.entropy = sum_entropy / n;
    out.approx_kl = sum_kl / n;
    out.clip_fraction = static_cast<double>(clipped) / n;
    out.loss =
        out.policy_loss + options.value_coef * out.value_loss - options.entropy_coef * out.entropy;
    return out;
}

PpoCloningLoss PpoNetwork::cloning_loss_and_gradient(const std::vector<PpoSample>& batch) {
    TRISEG_CHECK(!batch.empty(), InputError, "the cloning loss needs at least one transition");
    const double inv_n = 1.0 / static_cast<double>(batch.size());
    std::fill(grad_.begin(), grad_.end(), 0.0);
    PpoCloningLoss out;
    out.min_prob = 1.0;
    double sum = 0.0;
    std::vector<double> gx(static_cast<size_t>(dim_));
    std::vector<double> g(static_cast<size_t>(kCodes));
    HeadPass pass;
    std::vector<double> input;
    std::vector<std::vector<double>> xs;
    std::vector<PpoGruCell::Pass> steps;
    std::vector<std::vector<double>> g_h(recurrent_ ? batch.size() : 0);
    if (recurrent_) {
        recur(batch, xs, steps);
    }
    for (size_t i = 0; i < batch.size(); ++i) {
        const auto& s = batch[i];
        if (recurrent_) {
            input = steps[i].h;
        } else {
            sample_input(s, input);
        }
        const double* x = input.data();
        std::fill(gx.begin(), gx.end(), 0.0);
        for (size_t h = 0; h < kHeads; ++h) {
            const CodeRange r = s.allowed[h];
            TRISEG_CHECK(r.contains(s.action[h]) && r.lo >= 0 && r.hi < kCodes, InputError,
                         "a cloning target " << s.action[h] << " is outside its mask [" << r.lo
                                             << ", " << r.hi << "]");
            forward(actors_[h], x, r, pass);
            const double lse = log_normalizer(pass.out, r);
            const double logp = pass.out[static_cast<size_t>(s.action[h])] - lse;
            sum -= logp;
            out.min_prob = std::min(out.min_prob, std::exp(logp));
            // d(-logp_a)/d z_v = p_v - [v = a], over the allowed codes; 0 elsewhere.
            std::fill(g.begin(), g.end(), 0.0);
            for (int32_t v = r.lo; v <= r.hi; ++v) {
                const double p = std::exp(pass.out[static_cast<size_t>(v)] - lse);
                g[static_cast<size_t>(v)] = (p - (v == s.action[h] ? 1.0 : 0.0)) * inv_n;
            }
            backward(actors_[h], x, pass, g.data(), gx.data());
        }
        if (recurrent_) {
            g_h[i] = gx;
        } else {
            backward_input(s, gx.data());
        }
    }
    if (recurrent_) {
        backward_recurrent(batch, xs, steps, g_h);
    }
    out.loss = sum * inv_n;
    return out;
}

} // namespace triseg::search
