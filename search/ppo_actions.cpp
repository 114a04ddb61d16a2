// PpoActions: head ranges and the codes of an action; masked draws.
#include "search/ppo_actions.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace triseg::search {

PpoActions::PpoActions(CodeSpace space,
                       std::shared_ptr<const AllocationSpace> allocation,
                       bool relative)
    : space_(space), allocation_(std::move(allocation)), relative_(relative && !allocation_) {}

CodeRange PpoActions::range(int h, const PpoAction& a) const {
    if (allocation_) {
        return h == 0 ? CodeRange{allocation_->tmax_min(), allocation_->tmax_max()}
                      : CodeRange{0, 0};
    }
    if (relative_) {
        const int32_t lo = space_.t1().lo;
        switch (h) {
        case 0:
            return space_.t1();
        case 1:
            return {4, space_.tmax - 4 - lo}; // t2 - t1
        case 2:
            return {1, space_.tmax - 5 - lo}; // v1 - t1
        default:
            return {1, space_.tmax - 4 - lo}; // v2 - t2
        }
    }
    switch (h) {
    case 0:
        return space_.t1();
    case 1:
        return space_.t2(a[0]);
    case 2:
        return space_.v1(a[0], a[1]);
    default:
        return space_.v2(a[1]);
    }
}

engine::LayerCodes PpoActions::codes(int64_t layer, const PpoAction& a) const {
    if (allocation_) {
        return allocation_->codes(layer, a[0]);
    }
    engine::LayerCodes c;
    c.tmax = space_.tmax;
    c.t1 = a[0];
    if (relative_) { // each offset capped at its segment's end
        c.t2 = c.t1 + std::min(a[1], space_.tmax - 4 - c.t1);
        c.v1 = c.t1 + std::min(a[2], c.t2 - c.t1 - 1);
        c.v2 = c.t2 + std::min(a[3], space_.tmax - c.t2);
    } else {
        c.t2 = a[1];
        c.v1 = a[2];
        c.v2 = a[3];
    }
    return c;
}

PpoAction PpoActions::action(const engine::LayerCodes& c, int32_t tmax) const {
    if (allocation_) {
        return {tmax, 0, 0, 0};
    }
    if (relative_) {
        return {c.t1, c.t2 - c.t1, c.v1 - c.t1, c.v2 - c.t2};
    }
    return {c.t1, c.t2, c.v1, c.v2};
}

int32_t PpoActions::top() const {
    return allocation_ ? std::max(space_.tmax, allocation_->tmax_max()) : space_.tmax;
}

int32_t sample_masked(const double* logits, CodeRange r, Rng& rng, double& logp) {
    double m = -std::numeric_limits<double>::infinity();
    for (int32_t v = r.lo; v <= r.hi; ++v) {
        m = std::max(m, logits[v]);
    }
    double z = 0.0;
    for (int32_t v = r.lo; v <= r.hi; ++v) {
        z += std::exp(logits[v] - m);
    }
    const double u = rng.uniform01() * z;
    double acc = 0.0;
    int32_t pick = r.hi;
    for (int32_t v = r.lo; v <= r.hi; ++v) {
        acc += std::exp(logits[v] - m);
        if (u < acc) {
            pick = v;
            break;
        }
    }
    logp += logits[pick] - m - std::log(z);
    return pick;
}

int32_t argmax_masked(const double* logits, CodeRange r) {
    int32_t best = r.lo;
    for (int32_t v = r.lo + 1; v <= r.hi; ++v) {
        if (logits[v] > logits[best]) {
            best = v;
        }
    }
    return best;
}

} // namespace triseg::search
