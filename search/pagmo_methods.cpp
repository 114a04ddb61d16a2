// The registry entries of the pagmo2 methods: options section -> pagmo algorithm.
// Every algorithm runs one generation per evolve() call (gen = 1), keeps its memory between
// calls where pagmo has the flag and serializes it (cmaes, gaco), and has its stopping
// tolerances off (ftol = xtol = 0), so that the search runs until the driver's budget ends.
// pso_gen runs without memory: pagmo 2.18's pso_gen::serialize leaves out m_memory and the
// remembered velocities and neighbourhoods, so a checkpoint could not hold them; without memory
// each generation starts from the population (the particles' best positions) with fresh
// velocities drawn from the serialized std::mt19937, and a resumed run repeats exactly.
#include <memory>
#include <vector>

#include <pagmo/algorithm.hpp>
#include <pagmo/algorithms/cmaes.hpp>
#include <pagmo/algorithms/de.hpp>
#include <pagmo/algorithms/gaco.hpp>
#include <pagmo/algorithms/nsga2.hpp>
#include <pagmo/algorithms/pso_gen.hpp>
#include <pagmo/algorithms/sga.hpp>
#include <pagmo/batch_evaluators/member_bfe.hpp>
#include <pagmo/bfe.hpp>

#include "search/allocation_space.h"
#include "search/pagmo_options.h"
#include "search/pagmo_search.h"
#include "search/pagmo_spec.h"
#include "search/registry.h"

namespace triseg::search {

namespace {

template <typename Uda> pagmo::algorithm with_batch(Uda uda) {
    uda.set_bfe(pagmo::bfe{pagmo::member_bfe{}});
    return pagmo::algorithm{std::move(uda)};
}

unsigned u(int64_t v) {
    return static_cast<unsigned>(v);
}

/// nsga2 in the codes space with the reward images' histograms: the same tmax at every layer
/// with its Lloyd-Max codes, for 7 tmax values spread over [tmax_min, tmax_max], so the front
/// starts at least as good as a uniform Lloyd-Max sweep. Empty otherwise (the allocation space
/// seeds itself, see PagmoSearch).
std::vector<CodeSet> uniform_lloyd_starts(const PagmoMethodSpec& spec, const AlgorithmContext& c) {
    std::vector<CodeSet> out;
    if (c.allocation || spec.encoding != PagmoEncoding::IntegerTmax || c.code_histograms.empty()) {
        return out;
    }
    const AllocationSpace a(spec.tmax_min, spec.tmax_max, c.code_histograms);
    for (int32_t t : a.spread(kUniformStarts)) {
        out.push_back(a.uniform(t));
    }
    return out;
}

/// An entry whose factory builds a PagmoSearch from `spec(options)`.
template <typename Options, typename SpecFn>
MethodEntry pagmo_entry(const char* name, const char* summary, SpecFn spec) {
    MethodEntry e;
    e.name = name;
    e.summary = summary;
    e.has_section = true;
    e.supports_allocation = true;
    e.default_options = [] { return std::make_unique<MethodOptionsOf<Options>>(); };
    e.make = [spec](const MethodOptions& o, const AlgorithmContext& c) {
        const Options& options = options_as<Options>(o);
        options.validate();
        const PagmoMethodSpec s = spec(options);
        return std::make_unique<PagmoSearch>(s, c.space, c.seed, c.generation, c.init, c.allocation,
                                             uniform_lloyd_starts(s, c));
    };
    return e;
}

} // namespace

MethodEntry sga_method() {
    return pagmo_entry<SgaOptions>(
        "sga", "pagmo2 simple genetic algorithm, relative real encoding, one at a time",
        [](const SgaOptions& o) {
            PagmoMethodSpec s;
            s.name = "sga";
            s.population = o.population;
            s.make = [o](unsigned seed) {
                return pagmo::algorithm{pagmo::sga(1u, o.cr, o.eta_c, o.m, o.param_m, u(o.param_s),
                                                   "exponential", "polynomial", "tournament",
                                                   seed)};
            };
            return s;
        });
}

MethodEntry cmaes_method() {
    return pagmo_entry<CmaesOptions>(
        "cmaes", "pagmo2 CMA-ES, relative real encoding, one at a time", [](const CmaesOptions& o) {
            PagmoMethodSpec s;
            s.name = "cmaes";
            s.population = o.population;
            s.make = [o](unsigned seed) {
                // pagmo's "automatic" is -1; ours is 0 (a rate of 0 would switch a path off).
                auto rate = [](double r) { return r == 0.0 ? -1.0 : r; };
                return pagmo::algorithm{pagmo::cmaes(1u, rate(o.cc), rate(o.cs), rate(o.c1),
                                                     rate(o.cmu), o.sigma0, 0.0, 0.0,
                                                     /*memory=*/true, /*force_bounds=*/true, seed)};
            };
            return s;
        });
}

MethodEntry gaco_method() {
    return pagmo_entry<GacoOptions>(
        "gaco", "pagmo2 ant colony optimization, integer encoding, batch-evaluated",
        [](const GacoOptions& o) {
            PagmoMethodSpec s;
            s.name = "gaco";
            s.encoding = PagmoEncoding::Integer;
            s.population = o.population;
            s.make = [o](unsigned seed) {
                return with_batch(pagmo::gaco(1u, u(o.ker), o.q, o.oracle, o.acc, u(o.threshold),
                                              u(o.n_gen_mark), 100000u, 100000u, o.focus,
                                              /*memory=*/true, seed));
            };
            return s;
        });
}

MethodEntry pso_gen_method() {
    return pagmo_entry<PsoGenOptions>(
        "pso_gen", "pagmo2 generational particle swarm, relative real encoding, batch-evaluated",
        [](const PsoGenOptions& o) {
            PagmoMethodSpec s;
            s.name = "pso_gen";
            s.population = o.population;
            s.make = [o](unsigned seed) {
                return with_batch(pagmo::pso_gen(1u, o.omega, o.eta1, o.eta2, o.max_vel,
                                                 u(o.variant), u(o.neighb_type), u(o.neighb_param),
                                                 /*memory=*/false, seed));
            };
            return s;
        });
}

MethodEntry de_method() {
    return pagmo_entry<DeOptions>(
        "de", "pagmo2 differential evolution, relative real encoding, one at a time",
        [](const DeOptions& o) {
            PagmoMethodSpec s;
            s.name = "de";
            s.population = o.population;
            s.make = [o](unsigned seed) {
                return pagmo::algorithm{pagmo::de(1u, o.f, o.cr, u(o.variant), 0.0, 0.0, seed)};
            };
            return s;
        });
}

MethodEntry nsga2_method() {
    MethodEntry e = pagmo_entry<Nsga2Options>(
        "nsga2", "pagmo2 NSGA-II: KD loss vs coverage, tmax per layer, batch-evaluated",
        [](const Nsga2Options& o) {
            PagmoMethodSpec s;
            s.name = "nsga2";
            s.encoding = PagmoEncoding::IntegerTmax;
            s.objectives = 2;
            s.population = o.effective_population();
            s.tmax_min = static_cast<int32_t>(o.tmax_min);
            s.tmax_max = static_cast<int32_t>(o.tmax_max);
            s.make = [o](unsigned seed) {
                return with_batch(pagmo::nsga2(1u, o.cr, o.eta_c, o.m, o.eta_m, seed));
            };
            return s;
        });
    e.needs_code_histograms = true; // the uniform-tmax Lloyd-Max starts
    e.searches_layer_tmax = true;
    return e;
}

} // namespace triseg::search
