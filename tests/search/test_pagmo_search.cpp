// The pagmo2 methods (sga, cmaes, gaco, pso_gen, de, nsga2) through the replay bridge:
// options, batch sizes, init codes, save/load at and between generation boundaries, nsga2's
// per-layer tmax and front. (The standard checks run for them in test_registry.cpp.)
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "common/error.h"
#include "search/pagmo_options.h"
#include "search/pagmo_search.h"
#include "search/registry.h"
#include "tests/io/temp_dir.h"
#include "tests/search/algorithm_checks.h"

namespace triseg::search {
namespace {

using testing::History;
using testing::run_history;

const std::vector<std::string> kPagmoMethods = {"cmaes", "de", "gaco", "nsga2", "pso_gen", "sga"};

CodeSpace space() {
    return CodeSpace{13, 32};
}

std::unique_ptr<Algorithm> make(const std::string& name,
                                uint64_t seed,
                                std::optional<CodeSet> init = std::nullopt,
                                CodeSpace s = space()) {
    return make_algorithm(name, AlgorithmContext{s, seed, 4, {}, std::move(init), nullptr});
}

int64_t population_of(const std::string& name) {
    auto options = method_entry(name).default_options();
    struct Finder : FieldVisitor {
        int64_t population = -1;
        void field(const std::string& k, int64_t& v) override {
            if (k == "population") {
                population = v;
            }
        }
        void field(const std::string&, double&) override {}
        void field(const std::string&, bool&) override {}
        void field(const std::string&, std::string&) override {}
        void field(const std::string&, std::vector<double>&) override {}
    } finder;
    options->visit(finder);
    return finder.population;
}

bool batch_evaluated(const std::string& name) {
    return name == "gaco" || name == "pso_gen" || name == "nsga2";
}

class PagmoMethod : public ::testing::TestWithParam<std::string> {};

// The first population is one batch; afterwards bfe methods ask a whole generation, the others
// one candidate at a time.
TEST_P(PagmoMethod, AsksTheFirstPopulationThenGenerationsOrSingleCandidates) {
    const SensitivityObjective f(space(), 1);
    auto a = make(GetParam(), 5);
    const int64_t pop = population_of(GetParam());
    ASSERT_GT(pop, 0);
    auto c = a->ask();
    EXPECT_EQ(static_cast<int64_t>(c.size()), pop);
    a->tell(c, f(c));
    for (int i = 0; i < 3 * pop; ++i) {
        c = a->ask();
        if (batch_evaluated(GetParam())) {
            ASSERT_EQ(static_cast<int64_t>(c.size()), pop) << i;
        } else {
            ASSERT_EQ(c.size(), 1u) << i;
        }
        a->tell(c, f(c));
    }
    EXPECT_GE(dynamic_cast<PagmoSearch&>(*a).generations(), batch_evaluated(GetParam()) ? 4 : 3);
}

// tell() may get a prefix of the asked candidates; the rest is asked again next time.
TEST_P(PagmoMethod, APrefixTellAsksTheRestNext) {
    const SensitivityObjective f(space(), 1);
    auto a = make(GetParam(), 5);
    auto c = a->ask();
    ASSERT_GE(c.size(), 3u);
    const std::vector<CodeSet> head(c.begin(), c.begin() + 2);
    a->tell(head, f(head));
    const auto rest = a->ask();
    EXPECT_EQ(rest, std::vector<CodeSet>(c.begin() + 2, c.end()));
    EXPECT_THROW(a->tell(head, f(head)), std::logic_error); // not what was asked
    a->tell({}, {});                                        // an empty tell changes nothing
    EXPECT_EQ(a->ask(), rest);
    auto fresh = make(GetParam(), 5);
    fresh->tell({}, {}); // also before the first ask
    EXPECT_EQ(fresh->ask(), c);
}

// Save/load at every point of two whole generations (boundaries, mid-batch and between single
// candidates) continues exactly as an uninterrupted run.
TEST_P(PagmoMethod, SaveLoadAnywhereEqualsAnUninterruptedRun) {
    const SensitivityObjective f(space(), 2);
    const int64_t pop = population_of(GetParam());
    const int64_t total = 3 * pop + 5;
    auto whole = make(GetParam(), 9);
    const History expected = run_history(*whole, f, total);
    for (int64_t cut : {int64_t{1}, pop - 1, pop, pop + 1, 2 * pop, 2 * pop + 3}) {
        auto part = make(GetParam(), 9);
        History got = run_history(*part, f, cut);
        Checkpoint saved;
        part->save(saved);
        part.reset();
        auto resumed = make(GetParam(), 9);
        resumed->load(saved);
        const History rest = run_history(*resumed, f, total - cut);
        got.candidates.insert(got.candidates.end(), rest.candidates.begin(), rest.candidates.end());
        got.scores.insert(got.scores.end(), rest.scores.begin(), rest.scores.end());
        EXPECT_TRUE(got == expected) << "cut after " << cut;
    }
}

// Replaying does not change the state: saving twice gives the same bytes, and a run that saves
// (and reloads itself) after every tell equals one that never saves.
TEST_P(PagmoMethod, SavingEveryStepChangesNothing) {
    const SensitivityObjective f(space(), 3);
    const int64_t total = 2 * population_of(GetParam()) + 3;
    auto plain = make(GetParam(), 4);
    const History expected = run_history(*plain, f, total);
    auto a = make(GetParam(), 4);
    History got;
    while (static_cast<int64_t>(got.scores.size()) < total) {
        auto c = a->ask();
        c.resize(std::min<size_t>(c.size(), static_cast<size_t>(total) - got.scores.size()));
        const auto s = f(c);
        a->tell(c, s);
        got.candidates.insert(got.candidates.end(), c.begin(), c.end());
        got.scores.insert(got.scores.end(), s.begin(), s.end());
        Checkpoint one, two;
        a->save(one);
        a->save(two);
        ASSERT_EQ(one, two);
        a = make(GetParam(), 4);
        a->load(one);
    }
    EXPECT_TRUE(got == expected);
}

TEST_P(PagmoMethod, InitCodesAreTheFirstIndividual) {
    CodeSet init;
    for (int l = 0; l < 13; ++l) {
        init.layers.push_back(engine::evenly_spaced_codes(32));
    }
    auto a = make(GetParam(), 2, init);
    const auto c = a->ask();
    EXPECT_EQ(c.at(0), init);
    auto b = make(GetParam(), 2);
    const auto d = b->ask();
    EXPECT_NE(d.at(0), init);
    EXPECT_EQ(std::vector<CodeSet>(c.begin() + 1, c.end()),
              std::vector<CodeSet>(d.begin() + 1, d.end()));
    // Starting codes of another model are refused when the search is made.
    init.layers.pop_back();
    EXPECT_THROW(make(GetParam(), 2, init), InputError);
}

TEST_P(PagmoMethod, ADamagedCheckpointIsAnInputError) {
    auto a = make(GetParam(), 1);
    Checkpoint saved;
    a->save(saved);
    auto broken = saved;
    broken.entries["pagmo/boundary"] = broken.entries["pagmo/boundary"].substr(0, 40);
    EXPECT_THROW(make(GetParam(), 1)->load(broken), InputError);
    broken = saved;
    broken.entries.erase("pagmo/log");
    EXPECT_THROW(make(GetParam(), 1)->load(broken), InputError);
}

/// Lowers the address-space limit to what the process uses now plus `headroom` bytes while
/// alive, so that a damaged size asking for gigabytes is a std::bad_alloc, not a long zero fill.
class AddressSpaceLimit {
public:
    explicit AddressSpaceLimit(rlim_t headroom) {
        getrlimit(RLIMIT_AS, &saved_);
        std::ifstream status("/proc/self/status");
        std::string key;
        rlim_t kib = 0;
        while (status >> key) {
            if (key == "VmSize:" && status >> kib) {
                break;
            }
        }
        rlimit lower = saved_;
        lower.rlim_cur = std::min<rlim_t>(saved_.rlim_max, kib * 1024 + headroom);
        setrlimit(RLIMIT_AS, &lower);
    }
    ~AddressSpaceLimit() { setrlimit(RLIMIT_AS, &saved_); }
    AddressSpaceLimit(const AddressSpaceLimit&) = delete;
    AddressSpaceLimit& operator=(const AddressSpaceLimit&) = delete;

private:
    rlimit saved_{};
};

// A damaged state (stored with valid checksums, as a crafted checkpoint is) is refused by
// load() with an InputError, or, where the damage leaves a consistent state (a changed value),
// the search goes on: no other exception, neither from load() nor from a later ask().
TEST_P(PagmoMethod, ADamagedStateIsAnInputErrorOrResumes) {
    const SensitivityObjective f(space(), 6);
    const int64_t pop = population_of(GetParam());
    auto a = make(GetParam(), 8);
    run_history(*a, f, 2 * pop + 2);
    Checkpoint saved;
    a->save(saved);
    auto b = make(GetParam(), 9);
    run_history(*b, f, 2 * pop + 2);
    Checkpoint other;
    b->save(other);
    std::vector<std::pair<std::string, Checkpoint>> cases;
    for (const std::string key : {"pagmo/boundary", "pagmo/log"}) {
        const std::string& bytes = saved.entries.at(key);
        constexpr size_t kFlips = 40;
        for (size_t k = 0; k < kFlips; ++k) {
            auto c = saved;
            c.entries[key][k * bytes.size() / kFlips] ^= static_cast<char>(0xff);
            cases.emplace_back(key + " byte " + std::to_string(k * bytes.size() / kFlips), c);
        }
        for (size_t cut : {size_t{0}, size_t{9}, bytes.size() / 2, bytes.size() - 1}) {
            auto c = saved;
            c.entries[key].resize(cut);
            cases.emplace_back(key + " cut to " + std::to_string(cut), c);
        }
        auto c = saved;
        c.entries[key] = other.entries.at(key);
        cases.emplace_back(key + " of another seed", c);
    }
    const AddressSpaceLimit limit(rlim_t{1} << 30);
    for (const auto& [what, c] : cases) {
        auto resumed = make(GetParam(), 8);
        try {
            resumed->load(c);
        } catch (const InputError&) {
            continue;
        } catch (const std::exception& e) {
            ADD_FAILURE() << what << ": load() threw a non-input error: " << e.what();
            continue;
        }
        try {
            run_history(*resumed, f, pop + 2);
        } catch (const std::exception& e) {
            ADD_FAILURE() << what << ": loaded, then ask/tell threw: " << e.what();
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Pagmo, PagmoMethod, ::testing::ValuesIn(kPagmoMethods));

// Every option's bad value is a ConfigError that names the key.
TEST(PagmoOptions, BadValuesNameTheKey) {
    struct Case {
        std::string method;
        std::string key;
        std::function<void(MethodOptions&)> spoil;
    };
    auto set = [](const std::string& key, auto value) {
        return [key, value](MethodOptions& o) {
            struct Setter : FieldVisitor {
                std::string key;
                decltype(value) v;
                void field(const std::string& k, int64_t& x) override {
                    if constexpr (std::is_same_v<decltype(v), int64_t>) {
                        if (k == key)
                            x = v;
                    }
                }
                void field(const std::string& k, double& x) override {
                    if constexpr (std::is_same_v<decltype(v), double>) {
                        if (k == key)
                            x = v;
                    }
                }
                void field(const std::string& k, std::string& x) override {
                    if constexpr (std::is_same_v<decltype(v), std::string>) {
                        if (k == key)
                            x = v;
                    }
                }
                void field(const std::string&, bool&) override {}
                void field(const std::string&, std::vector<double>&) override {}
            } s;
            s.key = key.substr(key.find('.') + 1);
            s.v = value;
            o.visit(s);
        };
    };
    const std::vector<Case> cases = {
        {"sga", "sga.population", set("sga.population", int64_t{1})},
        {"sga", "sga.cr", set("sga.cr", 1.5)},
        {"sga", "sga.eta_c", set("sga.eta_c", 0.5)},
        {"sga", "sga.m", set("sga.m", -0.1)},
        {"sga", "sga.param_m", set("sga.param_m", 200.0)},
        {"sga", "sga.param_s", set("sga.param_s", int64_t{0})},
        {"cmaes", "cmaes.population", set("cmaes.population", int64_t{4})},
        {"cmaes", "cmaes.sigma0", set("cmaes.sigma0", 0.0)},
        {"cmaes", "cmaes.cc", set("cmaes.cc", 2.0)},
        {"cmaes", "cmaes.cs", set("cmaes.cs", -0.5)},
        {"cmaes", "cmaes.cs", set("cmaes.cs", -1.0)},
        {"cmaes", "cmaes.c1", set("cmaes.c1", 1.1)},
        {"cmaes", "cmaes.cmu", set("cmaes.cmu", -2.0)},
        {"gaco", "gaco.population", set("gaco.population", int64_t{1})},
        {"gaco", "gaco.ker", set("gaco.ker", int64_t{21})},
        {"gaco", "gaco.q", set("gaco.q", -1.0)},
        {"gaco", "gaco.oracle", set("gaco.oracle", -1.0)},
        {"gaco", "gaco.acc", set("gaco.acc", -1.0)},
        {"gaco", "gaco.threshold", set("gaco.threshold", int64_t{0})},
        {"gaco", "gaco.n_gen_mark", set("gaco.n_gen_mark", int64_t{0})},
        {"gaco", "gaco.focus", set("gaco.focus", -1.0)},
        {"pso_gen", "pso_gen.population", set("pso_gen.population", int64_t{1})},
        {"pso_gen", "pso_gen.omega", set("pso_gen.omega", 1.5)},
        {"pso_gen", "pso_gen.eta1", set("pso_gen.eta1", 5.0)},
        {"pso_gen", "pso_gen.eta2", set("pso_gen.eta2", -1.0)},
        {"pso_gen", "pso_gen.max_vel", set("pso_gen.max_vel", 0.0)},
        {"pso_gen", "pso_gen.variant", set("pso_gen.variant", int64_t{7})},
        {"pso_gen", "pso_gen.neighb_type", set("pso_gen.neighb_type", int64_t{5})},
        {"pso_gen", "pso_gen.neighb_param", set("pso_gen.neighb_param", int64_t{20})},
        {"de", "de.population", set("de.population", int64_t{4})},
        {"de", "de.f", set("de.f", 1.5)},
        {"de", "de.cr", set("de.cr", -0.5)},
        {"de", "de.variant", set("de.variant", int64_t{11})},
        {"nsga2", "nsga2.population", set("nsga2.population", int64_t{7})},
        {"nsga2", "nsga2.cr", set("nsga2.cr", 1.0)},
        {"nsga2", "nsga2.eta_c", set("nsga2.eta_c", 0.0)},
        {"nsga2", "nsga2.m", set("nsga2.m", 2.0)},
        {"nsga2", "nsga2.eta_m", set("nsga2.eta_m", 101.0)},
        {"nsga2", "nsga2.tmax_min", set("nsga2.tmax_min", int64_t{11})},
        {"nsga2", "nsga2.tmax_max", set("nsga2.tmax_max", int64_t{15})},
    };
    for (const auto& c : cases) {
        const MethodEntry& e = method_entry(c.method);
        auto options = e.default_options();
        c.spoil(*options);
        test::expect_error<ConfigError>([&] { options->validate(); }, {"`" + c.key + "`"});
        test::expect_error<ConfigError>(
            [&] {
                e.make(*options, AlgorithmContext{space(), 1, 4, {}, std::nullopt, nullptr});
            },
            {"`" + c.key + "`"});
    }
}

// nsga2: each layer's tmax is a decision variable in [tmax_min, tmax_max]; the codes obey the
// rules of their own tmax; the front is non-dominated on (KD loss, -covered).
TEST(PagmoNsga2, SearchesTmaxPerLayerAndKeepsANonDominatedFront) {
    const CodeSpace s{4, 32};
    auto a = make("nsga2", 3, std::nullopt, s);
    std::set<int32_t> tmaxes;
    // A toy with two conflicting objectives: KD grows with tmax, coverage too.
    auto score = [](const std::vector<CodeSet>& cs) {
        std::vector<Fitness> out;
        for (const auto& c : cs) {
            Fitness f;
            double t = 0;
            for (const auto& l : c.layers) {
                t += l.tmax;
                f.kd_loss += 0.01 * l.tmax + 0.001 * std::abs(l.t2 - l.tmax / 2);
            }
            f.covered = t / (64.0 * static_cast<double>(c.layers.size()));
            out.push_back(f);
        }
        return out;
    };
    for (int i = 0; i < 8; ++i) {
        const auto c = a->ask();
        for (const auto& codes : c) {
            for (const auto& l : codes.layers) {
                ASSERT_TRUE(engine::codes_valid(l)) << engine::to_string(l);
                ASSERT_GE(l.tmax, 16);
                ASSERT_LE(l.tmax, 64);
                tmaxes.insert(l.tmax);
            }
        }
        a->tell(c, score(c));
    }
    EXPECT_GT(tmaxes.size(), 10u);
    const auto front = dynamic_cast<PagmoSearch&>(*a).front_points();
    ASSERT_GE(front.size(), 2u);
    EXPECT_EQ(a->front().size(), front.size());
    for (const auto& [codes, f] : front) {
        ASSERT_EQ(f.size(), 2u);
        for (const auto& [other, g] : front) {
            const bool dominates = g[0] <= f[0] && g[1] <= f[1] && (g[0] < f[0] || g[1] < f[1]);
            EXPECT_FALSE(dominates);
        }
    }
    // After a generation's last tell the front already holds that generation's selection:
    // the next ask (which completes the generation) does not change it.
    auto* p = dynamic_cast<PagmoSearch*>(a.get());
    const auto before = p->front_points();
    const auto next = a->ask();
    EXPECT_EQ(p->front_points(), before);
    a->tell(next, score(next));
    // A population that is not a multiple of 4 is rounded up for NSGA-II's pairing.
    Nsga2Options o;
    o.population = 25;
    auto b = method_entry("nsga2").make(MethodOptionsOf<Nsga2Options>(o),
                                        AlgorithmContext{s, 3, 4, {}, std::nullopt, nullptr});
    EXPECT_EQ(b->ask().size(), 28u);
    // Single-objective methods have no front.
    EXPECT_TRUE(make("sga", 1)->front().empty());
}

} // namespace
} // namespace triseg::search
