// PpoSearch's checkpoints: save, load (resume) and adopt (ppo.init_policy).
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "common/byte_io.h"
#include "common/error.h"
#include "search/ppo_search.h"
#include "search/ppo_search_impl.h"

namespace triseg::search {

namespace {

using ppo_detail::kHeads;
using ppo_detail::Transition;
/// 3: the state, encoding and the init policy's Adam steps are entries, and the buffer holds
/// each transition's enhanced state. The entry ppo/policy came later within 3: without it a
/// checkpoint is of ppo.policy: mlp.
constexpr const char* kFormat = "triseg-ppo/3";
/// The format before ppo.state and ppo.encoding: read as state embedding, encoding absolute.
constexpr const char* kFormatV2 = "triseg-ppo/2";
/// The LibTorch network of triseg before the portable one; its state cannot be converted.
constexpr const char* kTorchFormat = "triseg-ppo/1";

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

} // namespace triseg::search
