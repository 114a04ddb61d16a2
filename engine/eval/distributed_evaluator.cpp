// DistributedEvaluator: broadcast candidates, score a block of units per rank, gather, reduce.
#include "engine/eval/distributed_evaluator.h"

#include <algorithm>
#include <exception>

#include "common/byte_io.h"
#include "common/error.h"
#include "common/out_of_memory.h"
#include "engine/dist/collective.h"

namespace triseg::engine {

namespace {

constexpr int32_t kStop = -1;

void put_i32(std::vector<uint8_t>& b, int32_t v) {
    append_raw(b, v);
}

int32_t take_i32(const std::vector<uint8_t>& b, size_t& pos) {
    int32_t v = 0;
    TRISEG_CHECK(read_raw(b, pos, v), MpiError, "a request from rank 0 is truncated");
    return v;
}

} // namespace

namespace {

void put_codes(std::vector<uint8_t>& b, const CodeSet& c, int64_t layers) {
    TRISEG_CHECK(static_cast<int64_t>(c.layers.size()) == layers, InputError,
                 "a candidate has codes for " << c.layers.size() << " layers; the model has "
                                              << layers);
    for (const auto& l : c.layers) {
        for (int32_t v : {l.t1, l.v1, l.t2, l.v2, l.tmax}) {
            put_i32(b, v);
        }
    }
}

CodeSet take_codes(const std::vector<uint8_t>& bytes, size_t& pos, int32_t layers) {
    CodeSet c;
    c.layers.resize(static_cast<size_t>(layers));
    for (auto& l : c.layers) {
        l.t1 = take_i32(bytes, pos);
        l.v1 = take_i32(bytes, pos);
        l.t2 = take_i32(bytes, pos);
        l.v2 = take_i32(bytes, pos);
        l.tmax = take_i32(bytes, pos);
    }
    return c;
}

} // namespace

std::vector<uint8_t> encode_request(const std::vector<CodeSet>& candidates,
                                    ScoringRole role,
                                    int64_t layers,
                                    const std::optional<CodeSet>& anchor,
                                    ShardRange shards) {
    std::vector<uint8_t> b;
    put_i32(b, role == ScoringRole::Reward ? 0 : 1);
    put_i32(b, static_cast<int32_t>(candidates.size()));
    put_i32(b, static_cast<int32_t>(layers));
    for (const auto& c : candidates) {
        put_codes(b, c, layers);
    }
    put_i32(b, anchor ? 1 : 0);
    if (anchor) {
        put_codes(b, *anchor, layers);
    }
    put_i32(b, static_cast<int32_t>(shards.begin));
    put_i32(b, static_cast<int32_t>(shards.end));
    return b;
}

std::vector<CodeSet> decode_request(const std::vector<uint8_t>& bytes,
                                    ScoringRole& role,
                                    std::optional<CodeSet>* anchor,
                                    ShardRange* shards) {
    size_t pos = 0;
    const int32_t r = take_i32(bytes, pos);
    role = r == 0 ? ScoringRole::Reward : ScoringRole::Holdout;
    const int32_t n = take_i32(bytes, pos);
    const int32_t layers = take_i32(bytes, pos);
    TRISEG_CHECK(n >= 0 && layers >= 0, MpiError, "a request from rank 0 is malformed");
    std::vector<CodeSet> out(static_cast<size_t>(n));
    for (auto& c : out) {
        c = take_codes(bytes, pos, layers);
    }
    const int32_t has_anchor = take_i32(bytes, pos);
    TRISEG_CHECK(has_anchor == 0 || has_anchor == 1, MpiError,
                 "a request from rank 0 is malformed");
    std::optional<CodeSet> a;
    if (has_anchor == 1) {
        a = take_codes(bytes, pos, layers);
    }
    if (anchor != nullptr) {
        *anchor = std::move(a);
    }
    ShardRange range;
    range.begin = take_i32(bytes, pos);
    range.end = take_i32(bytes, pos);
    TRISEG_CHECK(range.begin >= 0 && (range.end == -1 || range.end > range.begin), MpiError,
                 "a request from rank 0 is malformed");
    if (shards != nullptr) {
        *shards = range;
    }
    TRISEG_CHECK(pos == bytes.size(), MpiError, "a request from rank 0 is too long");
    return out;
}

DistributedEvaluator::DistributedEvaluator(Cluster& cluster,
                                           const Int8Network& net,
                                           const ScoringSet& reward,
                                           const ScoringSet& holdout,
                                           int64_t shard_images,
                                           double temperature,
                                           int threads,
                                           std::string command,
                                           int64_t prefix_cache_bytes)
    : cluster_(cluster), reward_(net, reward, shard_images, temperature),
      holdout_(net, holdout, shard_images, temperature), threads_(threads),
      command_(std::move(command)), layers_(net.num_layers()),
      cache_(net, reward, shard_images, prefix_cache_bytes) {
    layer_names_ = net.layer_names();
}

void DistributedEvaluator::set_anchor(const std::optional<CodeSet>& anchor) {
    TRISEG_CHECK(cluster_.is_root(), MpiError, "set_anchor() is for rank 0");
    if (anchor) {
        TRISEG_CHECK(static_cast<int64_t>(anchor->layers.size()) == layers_, InputError,
                     "the anchor has codes for " << anchor->layers.size()
                                                 << " layers; the model has " << layers_);
        for (size_t i = 0; i < layer_names_.size(); ++i) {
            validate_codes(anchor->layers[i], layer_names_[i], "the anchor's");
        }
    }
    anchor_ = anchor;
}

int64_t DistributedEvaluator::anchor_macs() const {
    return cache_.enabled() ? full_forward_macs(ScoringRole::Reward) : 0;
}

int64_t DistributedEvaluator::full_forward_macs(ScoringRole role) const {
    const auto& scorer = role == ScoringRole::Reward ? reward_ : holdout_;
    return scorer.set().count() * scorer.net().forward_macs();
}

int64_t DistributedEvaluator::images(ScoringRole role) const {
    return (role == ScoringRole::Reward ? reward_ : holdout_).set().count();
}

std::vector<UnitScore> DistributedEvaluator::run(const std::vector<CodeSet>& candidates,
                                                 ScoringRole role,
                                                 int64_t shard_begin,
                                                 int64_t shard_end) {
    const auto& scorer = role == ScoringRole::Reward ? reward_ : holdout_;
    const int64_t n = static_cast<int64_t>(candidates.size());
    int64_t first = 0;
    int64_t last = 0;
    std::vector<uint8_t> mine;
    try {
        if (shard_end == -1) {
            shard_end = scorer.shards();
        }
        TRISEG_CHECK(shard_begin >= 0 && shard_begin < shard_end && shard_end <= scorer.shards(),
                     MpiError,
                     "a request from rank 0 names shards [" << shard_begin << ", " << shard_end
                                                            << ") of " << scorer.shards());
        unit_block(n * (shard_end - shard_begin), cluster_.rank(), cluster_.size(), first, last);
        PrefixCache* cache = role == ScoringRole::Reward ? &cache_ : nullptr;
        mine = encode_units(
            scorer.score_units(candidates, first, last, threads_, cache, shard_begin, shard_end));
    } catch (const Error& e) {
        abort_job(cluster_, command_, e.what(), e.exit_code());
    } catch (const std::exception& e) {
        if (const OutOfMemory oom = out_of_memory(e); oom.found) {
            abort_job(cluster_, command_, out_of_memory_text(oom), static_cast<int>(ExitCode::Io));
        }
        abort_job(cluster_, command_, e.what(), static_cast<int>(ExitCode::Internal));
    }
    const auto all = cluster_.gather(mine);
    if (!cluster_.is_root()) {
        return {};
    }
    std::vector<UnitScore> units;
    for (const auto& bytes : all) {
        const auto part = decode_units(bytes);
        units.insert(units.end(), part.begin(), part.end());
    }
    return units;
}

std::vector<Fitness> DistributedEvaluator::evaluate(const std::vector<CodeSet>& candidates,
                                                    ScoringRole role) {
    const auto& scorer = role == ScoringRole::Reward ? reward_ : holdout_;
    const auto units = request(candidates, role, 0, -1);
    return scorer.reduce(units, static_cast<int64_t>(candidates.size()));
}

std::vector<Fitness>
DistributedEvaluator::evaluate_raced(const std::vector<CodeSet>& candidates,
                                     const Racing& racing,
                                     const std::function<double(const Fitness&)>& loss) {
    const int64_t shards = reward_.shards();
    const auto n = static_cast<int64_t>(candidates.size());
    // Each candidate's units so far, numbered as candidate 0 (unit = k), so that reduce()
    // adds them in shard order exactly as evaluate() does.
    std::vector<std::vector<UnitScore>> own(static_cast<size_t>(n));
    std::vector<Fitness> out(static_cast<size_t>(n));
    std::vector<int64_t> alive(static_cast<size_t>(n));
    for (int64_t c = 0; c < n; ++c) {
        alive[static_cast<size_t>(c)] = c;
    }
    int64_t begin = 0;
    for (const int64_t end : racing.rungs(shards)) {
        std::vector<CodeSet> batch;
        for (const int64_t c : alive) {
            batch.push_back(candidates[static_cast<size_t>(c)]);
        }
        for (auto u : request(batch, ScoringRole::Reward, begin, end)) {
            const int64_t i = u.unit / shards;
            u.unit %= shards;
            own[static_cast<size_t>(alive[static_cast<size_t>(i)])].push_back(u);
        }
        std::vector<double> key;
        for (const int64_t c : alive) {
            auto& f = out[static_cast<size_t>(c)];
            f = reward_.reduce(own[static_cast<size_t>(c)], 1, end).at(0);
            key.push_back(loss(f));
        }
        begin = end;
        if (end == shards) {
            break;
        }
        // The best keep(alive) by loss; ties go to the earlier candidate (stable sort).
        std::vector<size_t> order(alive.size());
        for (size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return key[a] < key[b]; });
        order.resize(static_cast<size_t>(racing.keep(static_cast<int64_t>(alive.size()))));
        std::sort(order.begin(), order.end());
        std::vector<int64_t> next;
        for (const size_t i : order) {
            next.push_back(alive[i]);
        }
        alive = std::move(next);
    }
    return out;
}

std::vector<UnitScore> DistributedEvaluator::request(const std::vector<CodeSet>& candidates,
                                                     ScoringRole role,
                                                     int64_t shard_begin,
                                                     int64_t shard_end) {
    TRISEG_CHECK(cluster_.is_root(), MpiError, "evaluate() is for rank 0; other ranks serve()");
    TRISEG_CHECK(!stopped_, MpiError, "evaluate() after stop()");
    // Validate before broadcasting, so that bad codes are an ordinary error on rank 0. Only the
    // searches use this evaluator: their candidates must lie in the search space (stricter than
    // the valid-map rule that make_table, the scorer and the prefix cache need), or leave a
    // layer exact with the identity codes (PPO's layer curriculum).
    for (const auto& c : candidates) {
        TRISEG_CHECK(static_cast<int64_t>(c.layers.size()) == layers_, InputError,
                     "a candidate has codes for " << c.layers.size() << " layers; the model has "
                                                  << layers_);
        for (size_t i = 0; i < layer_names_.size(); ++i) {
            if (c.layers[i] != LayerCodes{}) {
                validate_codes(c.layers[i], layer_names_[i], "a candidate's");
            }
        }
    }
    const std::optional<CodeSet> none;
    const auto& anchor = role == ScoringRole::Reward ? anchor_ : none;
    auto bytes = encode_request(candidates, role, layers_, anchor, {shard_begin, shard_end});
    cluster_.broadcast(bytes);
    if (role == ScoringRole::Reward) {
        cache_.set_anchor(anchor_);
    }
    return run(candidates, role, shard_begin, shard_end);
}

void DistributedEvaluator::serve() {
    TRISEG_CHECK(!cluster_.is_root(), MpiError, "serve() is for ranks other than 0");
    for (;;) {
        std::vector<uint8_t> request;
        cluster_.broadcast(request);
        size_t pos = 0;
        if (request.size() == 4 && take_i32(request, pos) == kStop) {
            return;
        }
        ScoringRole role = ScoringRole::Reward;
        std::vector<CodeSet> candidates;
        ShardRange shards;
        try {
            std::optional<CodeSet> anchor;
            candidates = decode_request(request, role, &anchor, &shards);
            if (role == ScoringRole::Reward) {
                cache_.set_anchor(anchor);
            }
        } catch (const Error& e) {
            abort_job(cluster_, command_, e.what(), e.exit_code());
        }
        run(candidates, role, shards.begin, shards.end);
    }
}

void DistributedEvaluator::stop() {
    if (stopped_ || !cluster_.is_root()) {
        return;
    }
    stopped_ = true;
    std::vector<uint8_t> request;
    put_i32(request, kStop);
    cluster_.broadcast(request);
}

} // namespace triseg::engine
