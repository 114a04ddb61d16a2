// DistributedEvaluator: broadcast candidates, score a block of units per rank, gather, reduce.
#include "engine/eval/distributed_evaluator.h"

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
                                    const std::optional<CodeSet>& anchor) {
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
    return b;
}

std::vector<CodeSet> decode_request(const std::vector<uint8_t>& bytes,
                                    ScoringRole& role,
                                    std::optional<CodeSet>* anchor) {
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

std::vector<Fitness> DistributedEvaluator::run(const std::vector<CodeSet>& candidates,
                                               ScoringRole role) {
    const auto& scorer = role == ScoringRole::Reward ? reward_ : holdout_;
    const int64_t n = static_cast<int64_t>(candidates.size());
    int64_t first = 0;
    int64_t last = 0;
    unit_block(n * scorer.shards(), cluster_.rank(), cluster_.size(), first, last);
    std::vector<uint8_t> mine;
    try {
        PrefixCache* cache = role == ScoringRole::Reward ? &cache_ : nullptr;
        mine = encode_units(scorer.score_units(candidates, first, last, threads_, cache));
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
    return scorer.reduce(units, n);
}

std::vector<Fitness> DistributedEvaluator::evaluate(const std::vector<CodeSet>& candidates,
                                                    ScoringRole role) {
    TRISEG_CHECK(cluster_.is_root(), MpiError, "evaluate() is for rank 0; other ranks serve()");
    TRISEG_CHECK(!stopped_, MpiError, "evaluate() after stop()");
    // Validate before broadcasting, so that bad codes are an ordinary error on rank 0. Only the
    // searches use this evaluator: their candidates must lie in the search space (stricter than
    // the valid-map rule that make_table, the scorer and the prefix cache need).
    for (const auto& c : candidates) {
        TRISEG_CHECK(static_cast<int64_t>(c.layers.size()) == layers_, InputError,
                     "a candidate has codes for " << c.layers.size() << " layers; the model has "
                                                  << layers_);
        for (size_t i = 0; i < layer_names_.size(); ++i) {
            validate_codes(c.layers[i], layer_names_[i], "a candidate's");
        }
    }
    const std::optional<CodeSet> none;
    const auto& anchor = role == ScoringRole::Reward ? anchor_ : none;
    auto request = encode_request(candidates, role, layers_, anchor);
    cluster_.broadcast(request);
    if (role == ScoringRole::Reward) {
        cache_.set_anchor(anchor_);
    }
    return run(candidates, role);
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
        try {
            std::optional<CodeSet> anchor;
            candidates = decode_request(request, role, &anchor);
            if (role == ScoringRole::Reward) {
                cache_.set_anchor(anchor);
            }
        } catch (const Error& e) {
            abort_job(cluster_, command_, e.what(), e.exit_code());
        }
        run(candidates, role);
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
