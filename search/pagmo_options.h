// Options of the pagmo2 search methods: one config section each (`sga`, `gaco`, `cmaes`,
// `pso_gen`, `de`, `nsga2`), with defaults that fit a budget of about 500 evaluations.
#pragma once

#include <cstdint>
#include <utility>

#include "common/field_visitor.h"
#include "common/option_checks.h"

namespace triseg::search {

/// `sga`: pagmo's simple genetic algorithm (Holland 1975; Oliveto et al. 2007) on the relative
/// real encoding, with pagmo's default operators (exponential crossover, polynomial mutation,
/// tournament selection). Per generation: select parents, cross over, mutate, evaluate the
/// `population` offspring one at a time, keep the best.
struct SgaOptions {
    int64_t population = 20; ///< `sga.population`: individuals (>= 2)
    double cr = 0.9;         ///< `sga.cr`: crossover probability, [0, 1]
    double eta_c =
        2.0; ///< `sga.eta_c`: SBX distribution index, [1, 100] (unused by exponential crossover)
    double m = 0.05;      ///< `sga.m`: per-gene mutation probability, [0, 1]
    double param_m = 2.0; ///< `sga.param_m`: polynomial mutation index, [1, 100]
    int64_t param_s = 2;  ///< `sga.param_s`: tournament size

    void visit(FieldVisitor& v) {
        v.field("population", population);
        v.field("cr", cr);
        v.field("eta_c", eta_c);
        v.field("m", m);
        v.field("param_m", param_m);
        v.field("param_s", param_s);
    }
    void validate() const {
        detail::check_range<int64_t>("sga.population", population, 2, 100000);
        detail::check_range("sga.cr", cr, 0.0, 1.0);
        detail::check_range("sga.eta_c", eta_c, 1.0, 100.0);
        detail::check_range("sga.m", m, 0.0, 1.0);
        detail::check_range("sga.param_m", param_m, 1.0, 100.0);
        detail::check_range<int64_t>("sga.param_s", param_s, 1, population);
    }
    bool operator==(const SgaOptions& o) const {
        return population == o.population && cr == o.cr && eta_c == o.eta_c && m == o.m &&
               param_m == o.param_m && param_s == o.param_s;
    }
};

/// `cmaes`: pagmo's CMA-ES (Hansen 2006) on the relative real encoding, with memory between
/// generations and bounds enforced. Per generation: sample `population` points from
/// N(mean, sigma^2 C), evaluate them one at a time, update mean, paths, C and sigma.
struct CmaesOptions {
    int64_t population = 16; ///< `cmaes.population`: lambda, points per generation (>= 5)
    double sigma0 = 0.3;     ///< `cmaes.sigma0`: initial step size, in (0, 1]
    double cc = 0.0;         ///< `cmaes.cc`: path horizon, (0, 1], 0 = automatic
    double cs = 0.0;         ///< `cmaes.cs`: step-size path horizon, (0, 1], 0 = automatic
    double c1 = 0.0;         ///< `cmaes.c1`: rank-one learning rate, (0, 1], 0 = automatic
    double cmu = 0.0;        ///< `cmaes.cmu`: rank-mu learning rate, (0, 1], 0 = automatic

    void visit(FieldVisitor& v) {
        v.field("population", population);
        v.field("sigma0", sigma0);
        v.field("cc", cc);
        v.field("cs", cs);
        v.field("c1", c1);
        v.field("cmu", cmu);
    }
    void validate() const {
        detail::check_range<int64_t>("cmaes.population", population, 5, 100000);
        detail::check_range("cmaes.sigma0", sigma0, 1e-6, 1.0);
        for (const auto& [key, value] : {std::pair<const char*, double>{"cmaes.cc", cc},
                                         {"cmaes.cs", cs},
                                         {"cmaes.c1", c1},
                                         {"cmaes.cmu", cmu}}) {
            detail::check_range(key, value, 0.0, 1.0);
        }
    }
    bool operator==(const CmaesOptions& o) const {
        return population == o.population && sigma0 == o.sigma0 && cc == o.cc && cs == o.cs &&
               c1 == o.c1 && cmu == o.cmu;
    }
};

/// `gaco`: pagmo's extended ant colony optimization (Schlueter et al. 2009) on the integer
/// encoding with repair, with memory between generations; a generation of `population`
/// ants is evaluated as one batch.
struct GacoOptions {
    int64_t population = 20; ///< `gaco.population`: ants per generation (>= gaco.ker)
    int64_t ker = 10;        ///< `gaco.ker`: solutions kept in the archive (>= 1)
    double q = 1.0;          ///< `gaco.q`: convergence speed (smaller = faster), >= 0
    double oracle = 0.0;     ///< `gaco.oracle`: oracle of the penalty method, >= 0
    double acc = 0.01;       ///< `gaco.acc`: accuracy of the penalty distances, >= 0
    int64_t threshold = 1;   ///< `gaco.threshold`: generation after which q = 0.01, >= 1
    int64_t n_gen_mark = 7;  ///< `gaco.n_gen_mark`: standard deviations' convergence, >= 1
    double focus = 0.0;      ///< `gaco.focus`: greediness around the best solutions, >= 0

    void visit(FieldVisitor& v) {
        v.field("population", population);
        v.field("ker", ker);
        v.field("q", q);
        v.field("oracle", oracle);
        v.field("acc", acc);
        v.field("threshold", threshold);
        v.field("n_gen_mark", n_gen_mark);
        v.field("focus", focus);
    }
    void validate() const {
        detail::check_range<int64_t>("gaco.population", population, 2, 100000);
        detail::check_range<int64_t>("gaco.ker", ker, 1, population);
        detail::check_range("gaco.q", q, 0.0, 1e6);
        detail::check_range("gaco.oracle", oracle, 0.0, 1e300);
        detail::check_range("gaco.acc", acc, 0.0, 1e6);
        detail::check_range<int64_t>("gaco.threshold", threshold, 1, 1000000);
        detail::check_range<int64_t>("gaco.n_gen_mark", n_gen_mark, 1, 1000000);
        detail::check_range("gaco.focus", focus, 0.0, 1e6);
    }
    bool operator==(const GacoOptions& o) const {
        return population == o.population && ker == o.ker && q == o.q && oracle == o.oracle &&
               acc == o.acc && threshold == o.threshold && n_gen_mark == o.n_gen_mark &&
               focus == o.focus;
    }
};

/// `pso_gen`: pagmo's generational particle swarm (Poli et al. 2007) on the relative real
/// encoding; a generation is evaluated as one batch. Velocities are drawn afresh each
/// generation (pagmo's memory = false: pagmo 2.18 does not serialize the remembered ones).
struct PsoGenOptions {
    int64_t population = 20; ///< `pso_gen.population`: particles (>= 2)
    double omega = 0.7298;   ///< `pso_gen.omega`: inertia weight (or constriction), [0, 1]
    double eta1 = 2.05;      ///< `pso_gen.eta1`: social component, [0, 4]
    double eta2 = 2.05;      ///< `pso_gen.eta2`: cognitive component, [0, 4]
    double max_vel = 0.5;    ///< `pso_gen.max_vel`: maximum velocity (share of the box), (0, 1]
    int64_t variant = 5;     ///< `pso_gen.variant`: pagmo's PSO variant, 1..6
    int64_t neighb_type = 2; ///< `pso_gen.neighb_type`: 1 gbest, 2 lbest, 3 von Neumann, 4 adaptive
    int64_t neighb_param = 4; ///< `pso_gen.neighb_param`: neighbourhood size, [1, population - 1]

    void visit(FieldVisitor& v) {
        v.field("population", population);
        v.field("omega", omega);
        v.field("eta1", eta1);
        v.field("eta2", eta2);
        v.field("max_vel", max_vel);
        v.field("variant", variant);
        v.field("neighb_type", neighb_type);
        v.field("neighb_param", neighb_param);
    }
    void validate() const {
        detail::check_range<int64_t>("pso_gen.population", population, 2, 100000);
        detail::check_range("pso_gen.omega", omega, 0.0, 1.0);
        detail::check_range("pso_gen.eta1", eta1, 0.0, 4.0);
        detail::check_range("pso_gen.eta2", eta2, 0.0, 4.0);
        detail::check_range("pso_gen.max_vel", max_vel, 1e-9, 1.0);
        detail::check_range<int64_t>("pso_gen.variant", variant, 1, 6);
        detail::check_range<int64_t>("pso_gen.neighb_type", neighb_type, 1, 4);
        detail::check_range<int64_t>("pso_gen.neighb_param", neighb_param, 1, population - 1);
    }
    bool operator==(const PsoGenOptions& o) const {
        return population == o.population && omega == o.omega && eta1 == o.eta1 && eta2 == o.eta2 &&
               max_vel == o.max_vel && variant == o.variant && neighb_type == o.neighb_type &&
               neighb_param == o.neighb_param;
    }
};

/// `de`: pagmo's differential evolution (Storn and Price 1997) on the relative real encoding.
/// Per generation: one trial vector per individual (mutation F, crossover CR), evaluated one
/// at a time, kept when it is not worse.
struct DeOptions {
    int64_t population = 20; ///< `de.population`: individuals (>= 5)
    double f = 0.8;          ///< `de.f`: weight of the difference vector, [0, 1]
    double cr = 0.9;         ///< `de.cr`: crossover probability, [0, 1]
    int64_t variant = 2;     ///< `de.variant`: pagmo's mutation variant, 1..10 (2 = rand/1/exp)

    void visit(FieldVisitor& v) {
        v.field("population", population);
        v.field("f", f);
        v.field("cr", cr);
        v.field("variant", variant);
    }
    void validate() const {
        detail::check_range<int64_t>("de.population", population, 5, 100000);
        detail::check_range("de.f", f, 0.0, 1.0);
        detail::check_range("de.cr", cr, 0.0, 1.0);
        detail::check_range<int64_t>("de.variant", variant, 1, 10);
    }
    bool operator==(const DeOptions& o) const {
        return population == o.population && f == o.f && cr == o.cr && variant == o.variant;
    }
};

/// `nsga2`: pagmo's NSGA-II (Deb et al. 2002) on the integer encoding with repair, with each
/// layer's tmax as an extra decision variable in [tmax_min, tmax_max]. Two objectives: the
/// KD loss and minus the covered share of block output codes; a generation is evaluated as
/// one batch. The final population's non-dominated set is the accuracy-coverage front
/// (front.json).
struct Nsga2Options {
    /// `nsga2.population`: individuals, >= 8; NSGA-II pairs them in fours, so pagmo gets this
    /// number rounded up to a multiple of 4 (effective_population()).
    int64_t population = 24;
    double cr = 0.95;      ///< `nsga2.cr`: crossover probability, [0, 1)
    double eta_c = 10.0;   ///< `nsga2.eta_c`: SBX distribution index, [1, 100]
    double m = 0.02;       ///< `nsga2.m`: per-gene mutation probability, [0, 1]
    double eta_m = 20.0;   ///< `nsga2.eta_m`: polynomial mutation index, [1, 100]
    int64_t tmax_min = 16; ///< `nsga2.tmax_min`: smallest tmax per layer, [12, 255]
    int64_t tmax_max = 64; ///< `nsga2.tmax_max`: largest tmax per layer, [tmax_min, 255]

    void visit(FieldVisitor& v) {
        v.field("population", population);
        v.field("cr", cr);
        v.field("eta_c", eta_c);
        v.field("m", m);
        v.field("eta_m", eta_m);
        v.field("tmax_min", tmax_min);
        v.field("tmax_max", tmax_max);
    }
    void validate() const {
        detail::check_range<int64_t>("nsga2.population", population, 8, 100000);
        detail::check_range("nsga2.cr", cr, 0.0, 0.999999);
        detail::check_range("nsga2.eta_c", eta_c, 1.0, 100.0);
        detail::check_range("nsga2.m", m, 0.0, 1.0);
        detail::check_range("nsga2.eta_m", eta_m, 1.0, 100.0);
        detail::check_range<int64_t>("nsga2.tmax_min", tmax_min, 12, 255);
        detail::check_range<int64_t>("nsga2.tmax_max", tmax_max, tmax_min, 255);
    }
    int64_t effective_population() const { return (population + 3) / 4 * 4; }
    bool operator==(const Nsga2Options& o) const {
        return population == o.population && cr == o.cr && eta_c == o.eta_c && m == o.m &&
               eta_m == o.eta_m && tmax_min == o.tmax_min && tmax_max == o.tmax_max;
    }
};

} // namespace triseg::search
