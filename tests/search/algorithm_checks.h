// The standard checks every search algorithm gets (docs/development.md, Conventions), as
// reusable helpers.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <vector>

#include "engine/core/code_set.h"
#include "search/algorithm.h"
#include "search/toy_objectives.h"

namespace triseg::search::testing {

using Factory = std::function<std::unique_ptr<Algorithm>()>;

/// Candidates and scores of `episodes` episodes, flattened into one comparable history.
struct History {
    std::vector<CodeSet> candidates;
    std::vector<Fitness> scores;
    bool operator==(const History& o) const {
        return candidates == o.candidates && scores == o.scores;
    }
};

/// Runs ask/tell for `episodes` episodes, or until the algorithm finished() (as the driver does).
inline History run_history(Algorithm& a, const SensitivityObjective& f, int64_t episodes) {
    History h;
    while (static_cast<int64_t>(h.scores.size()) < episodes && !a.finished()) {
        auto c = a.ask();
        const auto left = static_cast<size_t>(episodes - static_cast<int64_t>(h.scores.size()));
        if (c.size() > left) {
            c.resize(left);
        }
        const auto s = f(c);
        a.tell(c, s);
        h.candidates.insert(h.candidates.end(), c.begin(), c.end());
        h.scores.insert(h.scores.end(), s.begin(), s.end());
    }
    return h;
}

/// Every candidate is valid for the space (with the space's tmax unless `any_tmax`: nsga2
/// searches each layer's tmax too).
inline void expect_valid(const History& h, const CodeSpace& space, bool any_tmax = false) {
    for (const auto& c : h.candidates) {
        ASSERT_EQ(static_cast<int64_t>(c.layers.size()), space.layers);
        for (const auto& l : c.layers) {
            ASSERT_TRUE(engine::codes_valid(l)) << engine::to_string(l);
            if (!any_tmax) {
                ASSERT_EQ(l.tmax, space.tmax);
            }
        }
    }
}

/// (b) the same seed gives an identical history; another seed a different one.
inline void expect_deterministic(const Factory& make,
                                 const Factory& make_other_seed,
                                 const SensitivityObjective& f,
                                 int64_t episodes) {
    auto a = make();
    auto b = make();
    auto c = make_other_seed();
    const auto ha = run_history(*a, f, episodes);
    EXPECT_TRUE(ha == run_history(*b, f, episodes));
    EXPECT_FALSE(ha == run_history(*c, f, episodes));
}

/// (c) save after `first` episodes, load into a fresh object, continue: equals an
/// uninterrupted run of first + second episodes.
inline void expect_resume_equal(const Factory& make,
                                const SensitivityObjective& f,
                                int64_t first,
                                int64_t second) {
    auto whole = make();
    const auto expected = run_history(*whole, f, first + second);

    auto part = make();
    auto got = run_history(*part, f, first);
    Checkpoint saved;
    part->save(saved);
    part.reset();
    auto resumed = make();
    resumed->load(saved);
    const auto rest = run_history(*resumed, f, second);
    got.candidates.insert(got.candidates.end(), rest.candidates.begin(), rest.candidates.end());
    got.scores.insert(got.scores.end(), rest.scores.begin(), rest.scores.end());
    EXPECT_TRUE(got == expected);
}

/// Mean kd_loss of episodes [a, b).
inline double mean_loss(const History& h, size_t a, size_t b) {
    double s = 0.0;
    for (size_t i = a; i < b; ++i) {
        s += h.scores[i].kd_loss;
    }
    return s / static_cast<double>(b - a);
}

inline double best_loss(const History& h) {
    double best = 1e300;
    for (const auto& s : h.scores) {
        best = std::min(best, s.kd_loss);
    }
    return best;
}

} // namespace triseg::search::testing
