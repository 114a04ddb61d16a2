// LayerwiseOptions: the `layerwise` config section (coordinate search over layers).
#pragma once

#include <cstdint>

#include "common/field_visitor.h"
#include "common/option_checks.h"

namespace triseg::search {

/// Options of the layer-wise (coordinate) search. Defaults: 8 candidates per layer step, of
/// which 1 is random; neighbours move one code by up to 2; sweeps from the first layer to the
/// last. With suffix replay a candidate costs about 0.45 of a full forward, plus one full
/// forward when the anchor moves, so search.max_macs = 500 full forwards (PPO's default
/// budget) buys about 130 layer steps (about 1050 evaluations).
struct LayerwiseOptions {
    /// `layerwise.candidates`: candidates per layer step (one generation; the first also
    /// scores the start codes).
    int64_t candidates = 8;
    /// `layerwise.random_candidates`: how many of them are uniform random valid codes for the
    /// layer; the rest are neighbours of the current codes.
    int64_t random_candidates = 1;
    /// `layerwise.radius`: a neighbour moves one of t1, t2, v1, v2 by 1 .. radius (then the
    /// others are repaired into their ranges).
    int64_t radius = 2;
    /// `layerwise.deep_first`: sweep from the last layer to the first (true) or from the
    /// first to the last (false, the default: on the default model, seeds 0 to 2 at PPO's
    /// MAC budget, it reached a lower test KD loss, docs/search.md).
    bool deep_first = false;

    bool operator==(const LayerwiseOptions& o) const {
        return candidates == o.candidates && random_candidates == o.random_candidates &&
               radius == o.radius && deep_first == o.deep_first;
    }
    bool operator!=(const LayerwiseOptions& o) const { return !(*this == o); }

    /// Every field under its `layerwise:` key.
    void visit(FieldVisitor& v) {
        v.field("candidates", candidates);
        v.field("random_candidates", random_candidates);
        v.field("radius", radius);
        v.field("deep_first", deep_first);
    }

    void validate() const {
        detail::check_range<int64_t>("layerwise.candidates", candidates, 1, 4096);
        detail::check_range<int64_t>("layerwise.random_candidates", random_candidates, 0,
                                     candidates);
        detail::check_range<int64_t>("layerwise.radius", radius, 1, 64);
    }
};

} // namespace triseg::search
