// The method registry, and the standard algorithm checks (docs/development.md, Conventions)
// run for every registered method: a new method gets them by adding its registry entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>

#include "common/error.h"
#include "common/option_checks.h"
#include "search/registry.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

using namespace triseg::search::testing;

CodeSpace space() {
    return CodeSpace{13, 32};
}

/// Counts the fields an options object visits.
class FieldCounter final : public FieldVisitor {
public:
    void field(const std::string& /*key*/, int64_t& /*value*/) override { ++count; }
    void field(const std::string& /*key*/, double& /*value*/) override { ++count; }
    void field(const std::string& /*key*/, bool& /*value*/) override { ++count; }
    void field(const std::string& /*key*/, std::string& /*value*/) override { ++count; }
    void field(const std::string& /*key*/, std::vector<double>& /*value*/) override { ++count; }
    int count = 0;
};

TEST(Registry, NamesAreSortedUniqueAndFindable) {
    const auto names = algorithm_names();
    ASSERT_FALSE(names.empty());
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
    for (const auto& entry : methods()) {
        EXPECT_EQ(find_method(entry.name), &entry);
        EXPECT_EQ(&method_entry(entry.name), &entry);
    }
    EXPECT_EQ(find_method("no-such-method"), nullptr);
}

TEST(Registry, AnUnknownNameListsEveryMethod) {
    const std::string expected = "`search.method` must be one of " +
                                 detail::join(algorithm_names()) + "; got 'no-such-method'";
    for (const auto& call : std::vector<std::function<void()>>{
             [] { method_entry("no-such-method"); },
             [] { make_algorithm("no-such-method", AlgorithmContext{}); }}) {
        try {
            call();
            ADD_FAILURE() << "no exception thrown";
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
        }
    }
}

TEST(Registry, OptionsOfAnotherMethodAreALogicError) {
    const auto& ppo = method_entry("ppo"); // the one method whose options are typed
    NoMethodOptions none;
    EXPECT_THROW(ppo.make(none, AlgorithmContext{}), std::logic_error);
}

/// Code histograms for methods that read them (lloyd): a different bell shape per layer.
std::vector<std::array<int64_t, 256>> histograms_for(const MethodEntry& e, const CodeSpace& s) {
    std::vector<std::array<int64_t, 256>> out;
    if (!e.needs_code_histograms) {
        return out;
    }
    for (int64_t l = 0; l < std::max<int64_t>(s.layers, 0); ++l) {
        std::array<int64_t, 256> h{};
        for (int64_t c = 0; c < 256; ++c) {
            const int64_t d = c - 3 - 2 * l;
            h[static_cast<size_t>(c)] = 1000 / (1 + d * d) + (c == 0 ? 5000 : 0);
        }
        out.push_back(h);
    }
    return out;
}

/// One registered method.
class EveryMethod : public ::testing::TestWithParam<std::string> {
protected:
    const MethodEntry& entry() const { return method_entry(GetParam()); }
    Factory factory(uint64_t seed, int64_t generation, CodeSpace s = space()) const {
        const MethodEntry* e = &entry();
        return [e, seed, generation, s] {
            return e->make(*e->default_options(),
                           AlgorithmContext{s, seed, generation, histograms_for(*e, s),
                                            std::nullopt, nullptr});
        };
    }
    /// A method that finishes by itself (lloyd) answers from the histograms alone: it has no
    /// trajectory that a seed or an objective could change.
    bool finishes() const {
        const SensitivityObjective f(space(), 1);
        auto a = factory(7, 3)();
        run_history(*a, f, 12);
        return a->finished();
    }
};

TEST_P(EveryMethod, EntryIsComplete) {
    const MethodEntry& e = entry();
    EXPECT_FALSE(e.summary.empty());
    ASSERT_TRUE(e.default_options);
    ASSERT_TRUE(e.make);
    auto options = e.default_options();
    EXPECT_NO_THROW(options->validate());
    FieldCounter counter;
    options->visit(counter);
    EXPECT_EQ(e.has_section, counter.count > 0) << "a section exactly when there are options";
    EXPECT_TRUE(options->clone()->equals(*options));
    EXPECT_EQ(factory(1, 2)()->name(), e.name);
}

TEST_P(EveryMethod, BadContextThrows) {
    EXPECT_THROW(factory(0, 0)(), ConfigError);
    EXPECT_THROW(factory(0, 4, CodeSpace{13, 8})(), ConfigError);
    EXPECT_THROW(factory(0, 4, CodeSpace{0, 32})(), ConfigError);
}

TEST_P(EveryMethod, SameSeedGivesIdenticalHistoryAndValidCodes) {
    const SensitivityObjective f(space(), 1);
    if (finishes()) { // the seed changes nothing: same codes for seeds 7 and 8
        EXPECT_TRUE(run_history(*factory(7, 3)(), f, 40) == run_history(*factory(8, 3)(), f, 40));
    } else {
        expect_deterministic(factory(7, 3), factory(8, 3), f, 40);
    }
    auto a = factory(7, 3)();
    const bool any_tmax = GetParam() == "nsga2"; // tmax per layer is one of its variables
    expect_valid(run_history(*a, f, 60), space(), any_tmax);
    if (const auto proposal = a->proposal()) {
        expect_valid(History{{*proposal}, {}}, space(), any_tmax);
    }
}

TEST_P(EveryMethod, SaveLoadContinueEqualsAnUninterruptedRun) {
    const SensitivityObjective f(space(), 1);
    // The contract (Algorithm::save) is exact after a whole generation: 9 = 3 generations of 3.
    expect_resume_equal(factory(7, 3), f, 9, 21);
}

TEST_P(EveryMethod, LoadRejectsAnotherMethodsCheckpoint) {
    for (const auto& other : methods()) {
        if (other.name == GetParam()) {
            continue;
        }
        Checkpoint saved;
        other
            .make(*other.default_options(),
                  AlgorithmContext{space(), 1, 2, histograms_for(other, space()), std::nullopt,
                                   nullptr})
            ->save(saved);
        auto a = factory(1, 2)();
        EXPECT_THROW(a->load(saved), InputError) << other.name << "'s checkpoint";
    }
}

/// The methods that search (all but those that answer from the histograms alone, lloyd, whose
/// optimum test_lloyd_search checks by brute force): a toy objective must be solved by them.
class SearchingMethod : public EveryMethod {};

/// The methods that answer from the histograms alone and then finish (nsga2 reads the
/// histograms too, for its first population, and searches).
const std::vector<std::string> kAnalyticMethods = {"lloyd"};

std::vector<std::string> searching_method_names() {
    std::vector<std::string> out;
    for (const auto& e : methods()) {
        if (std::count(kAnalyticMethods.begin(), kAnalyticMethods.end(), e.name) == 0) {
            out.push_back(e.name);
        }
    }
    return out;
}

TEST(Registry, OnlyTheAnalyticMethodsFinishByThemselves) {
    const auto searching = searching_method_names();
    for (const auto& e : methods()) {
        const bool searches = std::count(searching.begin(), searching.end(), e.name) > 0;
        const SensitivityObjective f(space(), 1);
        auto a =
            e.make(*e.default_options(), AlgorithmContext{space(), 7, 3, histograms_for(e, space()),
                                                          std::nullopt, nullptr});
        run_history(*a, f, 12);
        EXPECT_EQ(a->finished(), !searches) << e.name;
    }
}

TEST_P(SearchingMethod, FindsGoodCodesOnAOneLayerToyObjective) {
    const CodeSpace one{1, 32};
    const SensitivityObjective f(one, 2);
    auto a = factory(3, 16, one)();
    // A random code costs about 1; every method (random search included) must come close to
    // the optimum within 2000 candidates.
    EXPECT_LT(best_loss(run_history(*a, f, 2000)), 0.1);
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
    std::string name = info.param;
    std::replace_if(
        name.begin(), name.end(),
        [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

INSTANTIATE_TEST_SUITE_P(Registry,
                         SearchingMethod,
                         ::testing::ValuesIn(searching_method_names()),
                         param_name);

INSTANTIATE_TEST_SUITE_P(Registry,
                         EveryMethod,
                         ::testing::ValuesIn(algorithm_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             std::string name = info.param;
                             std::replace_if(
                                 name.begin(), name.end(),
                                 [](char c) {
                                     return !std::isalnum(static_cast<unsigned char>(c));
                                 },
                                 '_');
                             return name;
                         });

} // namespace
} // namespace triseg::search
