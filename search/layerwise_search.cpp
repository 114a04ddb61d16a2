// LayerwiseSearch.
#include "search/layerwise_search.h"

#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "common/rng_streams.h"
#include "search/registry.h"

namespace triseg::search {

namespace {

constexpr const char* kKey = "layerwise/state";

/// Layer codes in sampling order t1, t2, v1, v2 (the order CodeSpace repairs in).
std::array<int32_t, 4> coords(const LayerCodes& c) {
    return {c.t1, c.t2, c.v1, c.v2};
}

LayerCodes from_coords(const std::array<int32_t, 4>& x, int32_t tmax) {
    return {x[0], x[2], x[1], x[3], tmax};
}

bool contains(const std::vector<LayerCodes>& v, const LayerCodes& c) {
    for (const auto& e : v) {
        if (e == c) {
            return true;
        }
    }
    return false;
}

uint64_t bits_of(double v) {
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

double double_of(uint64_t b) {
    double v = 0;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

} // namespace

LayerwiseSearch::LayerwiseSearch(CodeSpace space,
                                 uint64_t seed,
                                 int64_t generation,
                                 LayerwiseOptions options,
                                 std::optional<CodeSet> init)
    : space_(space), seed_(seed), options_(std::move(options)) {
    space_.validate();
    options_.validate();
    // Every method checks the context alike; a layer step has layerwise.candidates instead.
    TRISEG_CHECK(generation >= 1, ConfigError,
                 "`search.episodes_per_generation` must be at least 1, got " << generation);
    if (init) {
        TRISEG_CHECK(static_cast<int64_t>(init->layers.size()) == space_.layers, ConfigError,
                     "the start codes (search.init) have "
                         << init->layers.size() << " layers; the model has " << space_.layers);
        TRISEG_CHECK(space_.repair(*init) == *init, ConfigError,
                     "the start codes (search.init) are outside the search space (tmax "
                         << space_.tmax << ")");
        current_ = *init;
    } else {
        current_.layers.assign(static_cast<size_t>(space_.layers),
                               engine::evenly_spaced_codes(space_.tmax));
        current_ = space_.repair(current_);
    }
}

int64_t LayerwiseSearch::layer_of(int64_t step) const {
    const int64_t pos = step % space_.layers;
    return options_.deep_first ? space_.layers - 1 - pos : pos;
}

std::vector<CodeSet> LayerwiseSearch::ask() {
    pending_.clear();
    if (!current_kd_) {
        pending_.push_back(current_); // the start codes, scored once
    }
    const auto layer = static_cast<size_t>(layer_of(step_));
    const LayerCodes& here = current_.layers[layer];
    const CodeSpace one{1, space_.tmax};
    // Every single-code move within the radius, repaired, without duplicates.
    std::vector<LayerCodes> neighbours;
    for (int k = 0; k < 4; ++k) {
        for (int64_t d = -options_.radius; d <= options_.radius; ++d) {
            if (d == 0) {
                continue;
            }
            auto x = coords(here);
            x[static_cast<size_t>(k)] += static_cast<int32_t>(d);
            CodeSet c;
            c.layers.push_back(from_coords(x, space_.tmax));
            const LayerCodes n = one.repair(c).layers[0];
            if (n != here && !contains(neighbours, n)) {
                neighbours.push_back(n);
            }
        }
    }
    Rng rng(seed_ ^ rng_streams::kLayerwise, static_cast<uint64_t>(step_));
    rng.shuffle(neighbours);
    const int64_t wanted = options_.candidates;
    const int64_t from_neighbours = std::min<int64_t>(wanted - options_.random_candidates,
                                                      static_cast<int64_t>(neighbours.size()));
    std::vector<LayerCodes> chosen(neighbours.begin(), neighbours.begin() + from_neighbours);
    // Random codes fill the rest (a bounded number of draws: a tiny space may run out).
    for (int tries = 0; static_cast<int64_t>(chosen.size()) < wanted && tries < 64 * wanted;
         ++tries) {
        const LayerCodes r = space_.sample(rng);
        if (r != here && !contains(chosen, r)) {
            chosen.push_back(r);
        }
    }
    for (const auto& c : chosen) {
        CodeSet cand = current_;
        cand.layers[layer] = c;
        pending_.push_back(std::move(cand));
    }
    if (pending_.empty()) { // no other valid codes exist for this layer: score the current
        pending_.push_back(current_);
    }
    return pending_;
}

void LayerwiseSearch::tell(const std::vector<CodeSet>& candidates,
                           const std::vector<Fitness>& scores) {
    if (candidates.size() != scores.size() || candidates.size() > pending_.size()) {
        throw std::logic_error("LayerwiseSearch::tell: " + std::to_string(scores.size()) +
                               " scores for " + std::to_string(candidates.size()) +
                               " candidates, " + std::to_string(pending_.size()) + " asked");
    }
    for (size_t i = 0; i < candidates.size(); ++i) {
        if (candidates[i] != pending_[i]) {
            throw std::logic_error("LayerwiseSearch::tell: candidate " + std::to_string(i) +
                                   " is not the one ask() returned");
        }
    }
    if (candidates.empty()) {
        return;
    }
    size_t first = 0;
    if (!current_kd_) { // the start codes come first
        current_kd_ = scores[0].kd_loss;
        first = 1;
    }
    const double before = *current_kd_;
    for (size_t i = first; i < candidates.size(); ++i) {
        if (scores[i].kd_loss < *current_kd_) {
            current_kd_ = scores[i].kd_loss;
            current_ = candidates[i];
        }
    }
    log_.push_back({"layer_step",
                    {{"step", static_cast<double>(step_)},
                     {"layer", static_cast<double>(layer_of(step_))},
                     {"sweep", static_cast<double>(step_ / space_.layers)},
                     {"kd_loss", *current_kd_},
                     {"improved", *current_kd_ < before ? 1.0 : 0.0}}});
    ++step_;
    pending_.clear();
}

std::vector<LogRecord> LayerwiseSearch::take_log() {
    std::vector<LogRecord> out;
    out.swap(log_);
    return out;
}

void LayerwiseSearch::save(Checkpoint& checkpoint) const {
    std::ostringstream s;
    s << step_ << ' ' << (current_kd_ ? 1 : 0) << ' ' << (current_kd_ ? bits_of(*current_kd_) : 0)
      << ' ' << current_.layers.size();
    for (const auto& l : current_.layers) {
        s << ' ' << l.t1 << ' ' << l.v1 << ' ' << l.t2 << ' ' << l.v2 << ' ' << l.tmax;
    }
    checkpoint.entries[kKey] = s.str();
}

void LayerwiseSearch::load(const Checkpoint& checkpoint) {
    const auto it = checkpoint.entries.find(kKey);
    TRISEG_CHECK(it != checkpoint.entries.end(), InputError,
                 "the checkpoint holds no layer-wise search state (was it written by another "
                 "method?)");
    std::istringstream s(it->second);
    int64_t step = 0;
    int has_kd = 0;
    uint64_t kd_bits = 0;
    size_t layers = 0;
    s >> step >> has_kd >> kd_bits >> layers;
    CodeSet codes;
    codes.layers.resize(s ? layers : 0);
    for (auto& l : codes.layers) {
        s >> l.t1 >> l.v1 >> l.t2 >> l.v2 >> l.tmax;
    }
    TRISEG_CHECK(s && step >= 0 && static_cast<int64_t>(layers) == space_.layers &&
                     space_.repair(codes) == codes,
                 InputError, "the checkpoint's layer-wise search state is damaged");
    step_ = step;
    current_ = codes;
    current_kd_ = has_kd != 0 ? std::optional<double>(double_of(kd_bits)) : std::nullopt;
    pending_.clear();
    log_.clear();
}

MethodEntry layerwise_method() {
    MethodEntry e;
    e.name = "layerwise";
    e.summary = "coordinate search, one layer at a time, replaying only the suffix of the network";
    e.has_section = true;
    e.default_options = [] { return std::make_unique<MethodOptionsOf<LayerwiseOptions>>(); };
    e.make = [](const MethodOptions& options, const AlgorithmContext& c) {
        return std::make_unique<LayerwiseSearch>(c.space, c.seed, c.generation,
                                                 options_as<LayerwiseOptions>(options), c.init);
    };
    return e;
}

} // namespace triseg::search
