// Selection of the best-reward, period-best and constrained-best candidates.
#include "search/driver/selection.h"

#include <algorithm>
#include <stdexcept>

namespace triseg::search {

void keep_best_reward(std::optional<ScoredCodes>& best, const ScoredCodes& s) {
    for (const auto& layer : s.codes.layers) {
        if (layer == LayerCodes{}) {
            return; // a layer left exact: not a result
        }
    }
    if (!best || s.reward.reward() > best->reward.reward()) {
        best = s;
    }
}

const ScoredCodes* find_scored(const std::vector<ScoredCodes>& evaluated, const CodeSet& c) {
    const ScoredCodes* found = nullptr;
    for (const auto& e : evaluated) {
        if (e.codes == c) {
            found = &e;
        }
    }
    return found;
}

void add_holdout_candidate(std::vector<ScoredCodes>& fresh,
                           const std::vector<ScoredCodes>& evaluated,
                           const std::optional<ScoredCodes>& s,
                           const std::string& source) {
    if (s && find_scored(evaluated, s->codes) == nullptr &&
        std::none_of(fresh.begin(), fresh.end(),
                     [&](const ScoredCodes& f) { return f.codes == s->codes; })) {
        fresh.push_back(*s);
        fresh.back().source = source;
    }
}

Selection select_results(const std::vector<ScoredCodes>& evaluated,
                         const std::optional<ScoredCodes>& best,
                         double max_acc_drop,
                         double target_drop,
                         bool coverage_target) {
    Selection sel;
    // With a coverage target, the candidates that reach it (when any was held-out scored).
    const auto meets = [](const ScoredCodes& e) { return e.reward.penalty == 0.0; };
    sel.coverage_met =
        !coverage_target || std::any_of(evaluated.begin(), evaluated.end(),
                                        [&](const auto& e) { return e.holdout && meets(e); });
    const bool restrict = coverage_target && sel.coverage_met;
    const ScoredCodes*& constrained = sel.constrained;
    const bool by_coverage = target_drop >= 0.0;
    const double limit = by_coverage ? target_drop : max_acc_drop;
    // True when a (qualifying) is better than b: the higher accuracy, or with a target drop
    // the higher coverage; then the lower KD loss.
    const auto better = [&](const Fitness& a, const Fitness& b) {
        const double ka = by_coverage ? a.covered : a.acc_student;
        const double kb = by_coverage ? b.covered : b.acc_student;
        return ka > kb || (ka == kb && a.kd_loss < b.kd_loss);
    };
    for (const auto& e : evaluated) {
        if (!e.holdout || e.holdout->acc_drop() > limit + kDropSlack || (restrict && !meets(e))) {
            continue;
        }
        if (constrained == nullptr || better(*e.holdout, *constrained->holdout)) {
            constrained = &e;
        }
    }
    sel.constraint_met = constrained != nullptr;
    if (constrained == nullptr) { // the closest candidate, said plainly in the result
        for (const auto& e : evaluated) {
            if (e.holdout && (!restrict || meets(e)) &&
                (constrained == nullptr ||
                 e.holdout->acc_drop() < constrained->holdout->acc_drop())) {
                constrained = &e;
            }
        }
    }
    if (best) {
        sel.unconstrained = find_scored(evaluated, best->codes);
    }
    if (constrained == nullptr || sel.unconstrained == nullptr) {
        throw std::logic_error("SearchDriver: no candidate was scored on the held-out subset");
    }
    return sel;
}

} // namespace triseg::search
