// RandomSearch.
#include "search/random_search.h"

#include <stdexcept>
#include <string>

#include "common/error.h"
#include "search/registry.h"

namespace triseg::search {

RandomSearch::RandomSearch(CodeSpace space, uint64_t seed, int64_t generation)
    : space_(space), seed_(seed), generation_(generation) {
    space_.validate();
    TRISEG_CHECK(generation >= 1, ConfigError,
                 "`search.episodes_per_generation` must be at least 1, got " << generation);
}

CodeSet RandomSearch::candidate(int64_t i) const {
    Rng rng(seed_, static_cast<uint64_t>(i));
    CodeSet c;
    for (int64_t l = 0; l < space_.layers; ++l) {
        c.layers.push_back(space_.sample(rng));
    }
    return c;
}

std::vector<CodeSet> RandomSearch::ask() {
    std::vector<CodeSet> out;
    for (int64_t i = 0; i < generation_; ++i) {
        out.push_back(candidate(next_ + i));
    }
    asked_ = generation_;
    return out;
}

void RandomSearch::tell(const std::vector<CodeSet>& candidates,
                        const std::vector<Fitness>& scores) {
    if (candidates.size() != scores.size() || static_cast<int64_t>(candidates.size()) > asked_) {
        throw std::logic_error("RandomSearch::tell: " + std::to_string(scores.size()) +
                               " scores for " + std::to_string(candidates.size()) +
                               " candidates, " + std::to_string(asked_) + " asked");
    }
    next_ += static_cast<int64_t>(candidates.size());
    asked_ = 0;
}

void RandomSearch::save(Checkpoint& checkpoint) const {
    checkpoint.entries["random/next"] = std::to_string(next_);
}

void RandomSearch::load(const Checkpoint& checkpoint) {
    const auto it = checkpoint.entries.find("random/next");
    TRISEG_CHECK(it != checkpoint.entries.end(), InputError,
                 "the checkpoint holds no random-search state (was it written by another "
                 "method?)");
    try {
        next_ = std::stoll(it->second);
    } catch (const std::exception&) {
        TRISEG_THROW(InputError, "the checkpoint's random-search state is damaged");
    }
    asked_ = 0;
}

MethodEntry random_method() {
    MethodEntry e;
    e.name = "random";
    e.summary = "uniform random valid codes (a baseline)";
    e.default_options = [] { return std::make_unique<NoMethodOptions>(); };
    e.make = [](const MethodOptions& /*options*/, const AlgorithmContext& c) {
        return std::make_unique<RandomSearch>(c.space, c.seed, c.generation);
    };
    return e;
}

} // namespace triseg::search
