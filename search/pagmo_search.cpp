// PagmoSearch: the replay bridge between pagmo's evolve() and ask/tell.
#include "search/pagmo_search.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/vector.hpp>
#include <pagmo/algorithm.hpp>
#include <pagmo/algorithms/cmaes.hpp>
#include <pagmo/algorithms/de.hpp>
#include <pagmo/algorithms/gaco.hpp>
#include <pagmo/algorithms/nsga2.hpp>
#include <pagmo/algorithms/pso_gen.hpp>
#include <pagmo/algorithms/sga.hpp>
#include <pagmo/batch_evaluators/member_bfe.hpp>
#include <pagmo/population.hpp>
#include <pagmo/problem.hpp>
#include <pagmo/s11n.hpp>
#include <pagmo/types.hpp>
#include <pagmo/utils/multi_objective.hpp>

#include "common/error.h"
#include "common/rng_streams.h"
#include "search/pagmo_spec.h"

namespace triseg::search {

using pagmo::vector_double;

namespace pagmo_bridge {

/// Thrown through evolve() at the first fitness request the log cannot answer.
struct NeedFitness {};

/// One fitness or batch_fitness call of evolve(): the vectors and the values told so far.
struct PagmoCall {
    std::vector<vector_double> xs;
    std::vector<vector_double> fs; ///< fs.size() <= xs.size(); a prefix while pending

    template <typename Archive> void serialize(Archive& ar, unsigned /*version*/) {
        ar& xs;
        ar& fs;
    }
};

/// The log of fitness calls since the boundary, replayed in call order.
struct PagmoOracle {
    std::vector<PagmoCall> log;
    size_t cursor = 0;

    std::vector<vector_double> answer(const std::vector<vector_double>& xs) {
        if (cursor < log.size()) {
            const PagmoCall& c = log[cursor];
            if (c.xs != xs) {
                throw std::logic_error("PagmoSearch: the replay of pagmo's evolve asked for other "
                                       "vectors than the run it repeats (call " +
                                       std::to_string(cursor) + "); its state is not reproducible");
            }
            if (c.fs.size() == c.xs.size()) {
                ++cursor;
                return c.fs;
            }
            throw NeedFitness{};
        }
        log.push_back(PagmoCall{xs, {}});
        throw NeedFitness{};
    }
};

/// The pagmo problem: the code space's box, fitness answered by the oracle. Serialized
/// without the oracle pointer (PagmoSearch attaches its own after a load).
class CodeProblem {
public:
    CodeProblem() = default;
    CodeProblem(vector_double lb, vector_double ub, bool integer, int64_t nobj)
        : lb_(std::move(lb)), ub_(std::move(ub)), integer_(integer), nobj_(nobj) {}

    vector_double fitness(const vector_double& x) const { return oracle().answer({x}).at(0); }
    bool has_batch_fitness() const { return true; }
    vector_double batch_fitness(const vector_double& dvs) const {
        const size_t n = lb_.size();
        std::vector<vector_double> xs;
        for (size_t i = 0; i + n <= dvs.size(); i += n) {
            xs.emplace_back(dvs.begin() + static_cast<std::ptrdiff_t>(i),
                            dvs.begin() + static_cast<std::ptrdiff_t>(i + n));
        }
        vector_double out;
        for (const auto& f : oracle().answer(xs)) {
            out.insert(out.end(), f.begin(), f.end());
        }
        return out;
    }
    std::pair<vector_double, vector_double> get_bounds() const { return {lb_, ub_}; }
    vector_double::size_type get_nobj() const { return static_cast<size_t>(nobj_); }
    vector_double::size_type get_nix() const { return integer_ ? lb_.size() : 0; }
    std::string get_name() const { return "triseg tri-segment codes"; }

    template <typename Archive> void serialize(Archive& ar, unsigned /*version*/) {
        ar& lb_;
        ar& ub_;
        ar& integer_;
        ar& nobj_;
    }

    PagmoOracle* oracle_ = nullptr;

private:
    PagmoOracle& oracle() const {
        if (oracle_ == nullptr) {
            throw std::logic_error("PagmoSearch: the problem has no oracle attached");
        }
        return *oracle_;
    }
    vector_double lb_, ub_;
    bool integer_ = false;
    int64_t nobj_ = 1;
};

} // namespace pagmo_bridge
} // namespace triseg::search

PAGMO_S11N_PROBLEM_EXPORT(triseg::search::pagmo_bridge::CodeProblem)

namespace triseg::search {

using pagmo_bridge::CodeProblem;
using pagmo_bridge::NeedFitness;
using pagmo_bridge::PagmoCall;
using pagmo_bridge::PagmoOracle;

struct PagmoSearch::Impl {
    PagmoMethodSpec spec;
    CodeSpace space;
    uint64_t seed = 0;
    std::optional<CodeSet> init;
    /// The allocation space (search.space: allocation): one tmax per layer, Lloyd-Max codes
    /// inside; null in the codes space.
    std::shared_ptr<const AllocationSpace> alloc;
    /// Codes-space individuals placed after `init` in the first population (nsga2: the
    /// uniform-tmax Lloyd-Max points).
    std::vector<CodeSet> starts;

    PagmoOracle oracle;
    bool have_population = false;
    int64_t generations = 0;
    pagmo::algorithm algorithm;
    pagmo::population population;
    std::vector<CodeSet> asked;

    size_t dimension() const {
        const auto l = static_cast<size_t>(space.layers);
        if (alloc) {
            return l;
        }
        return spec.encoding == PagmoEncoding::IntegerTmax ? 5 * l : 4 * l;
    }

    bool relative() const { return spec.encoding == PagmoEncoding::Relative; }

    /// Allocation space: x holds per layer a position in [0, 1] (relative methods: tmax index
    /// min(n - 1, floor(u n)) of the n values) or an integer tmax (clamped, rounded half away
    /// from zero).
    CodeSet decode_allocation(const vector_double& x) const {
        TRISEG_CHECK(x.size() == dimension(), InputError,
                     "PagmoSearch: a vector of " << x.size() << " values; the allocation needs "
                                                 << dimension());
        std::vector<int32_t> tmax;
        const int32_t n = alloc->choices();
        for (size_t l = 0; l < x.size(); ++l) {
            TRISEG_CHECK(std::isfinite(x[l]), InputError,
                         "PagmoSearch: layer " << l << "'s allocation is " << x[l]);
            if (relative()) {
                const double u = std::clamp(x[l], 0.0, 1.0);
                tmax.push_back(alloc->tmax_min() +
                               std::min(n - 1, static_cast<int32_t>(std::floor(u * n))));
            } else {
                tmax.push_back(static_cast<int32_t>(std::round(
                    std::clamp(x[l], double(alloc->tmax_min()), double(alloc->tmax_max())))));
            }
        }
        return alloc->decode(tmax);
    }

    vector_double encode_tmax(const std::vector<int32_t>& tmax) const {
        vector_double x;
        const int32_t n = alloc->choices();
        for (int32_t t : tmax) {
            const int32_t c = std::clamp(t, alloc->tmax_min(), alloc->tmax_max());
            x.push_back(relative() ? (c - alloc->tmax_min() + 0.5) / n : double(c));
        }
        return x;
    }

    CodeSpace layer_space(int32_t tmax) const { return CodeSpace{1, tmax}; }

    std::pair<vector_double, vector_double> bounds() const {
        if (alloc) {
            if (relative()) {
                return {vector_double(dimension(), 0.0), vector_double(dimension(), 1.0)};
            }
            return {vector_double(dimension(), alloc->tmax_min()),
                    vector_double(dimension(), alloc->tmax_max())};
        }
        switch (spec.encoding) {
        case PagmoEncoding::Relative:
            return {vector_double(dimension(), 0.0), vector_double(dimension(), 1.0)};
        case PagmoEncoding::Integer:
            return {space.lower_bounds(), space.upper_bounds()};
        case PagmoEncoding::IntegerTmax: {
            vector_double lb, ub;
            const auto lo = layer_space(spec.tmax_min).lower_bounds();
            const auto hi = layer_space(spec.tmax_max).upper_bounds();
            for (int64_t l = 0; l < space.layers; ++l) {
                lb.push_back(spec.tmax_min);
                lb.insert(lb.end(), lo.begin(), lo.end());
                ub.push_back(spec.tmax_max);
                ub.insert(ub.end(), hi.begin(), hi.end());
            }
            return {lb, ub};
        }
        }
        throw std::logic_error("PagmoSearch: unknown encoding");
    }

    CodeSet decode(const vector_double& x) const {
        if (alloc) {
            return decode_allocation(x);
        }
        switch (spec.encoding) {
        case PagmoEncoding::Relative:
            return space.decode_relative(x);
        case PagmoEncoding::Integer:
            return space.decode(x);
        case PagmoEncoding::IntegerTmax: {
            TRISEG_CHECK(x.size() == dimension(), InputError,
                         "PagmoSearch: a vector of " << x.size() << " values; the space needs "
                                                     << dimension());
            CodeSet out;
            for (size_t l = 0; l < static_cast<size_t>(space.layers); ++l) {
                const double* v = x.data() + 5 * l;
                TRISEG_CHECK(std::isfinite(v[0]), InputError,
                             "PagmoSearch: layer " << l << "'s tmax is " << v[0]);
                const auto tmax = static_cast<int32_t>(
                    std::round(std::clamp(v[0], double(spec.tmax_min), double(spec.tmax_max))));
                out.layers.push_back(
                    layer_space(tmax).decode(vector_double(v + 1, v + 5)).layers[0]);
            }
            return out;
        }
        }
        throw std::logic_error("PagmoSearch: unknown encoding");
    }

    /// The vector of valid codes (an inverse of decode on valid codes).
    vector_double encode(const CodeSet& codes) const {
        if (alloc) {
            return encode_tmax(alloc->tmax_of(codes));
        }
        switch (spec.encoding) {
        case PagmoEncoding::Relative:
            return space.encode_relative(space.repair(codes));
        case PagmoEncoding::Integer:
            return space.encode(space.repair(codes));
        case PagmoEncoding::IntegerTmax: {
            TRISEG_CHECK(static_cast<int64_t>(codes.layers.size()) == space.layers, InputError,
                         "PagmoSearch: the starting codes have "
                             << codes.layers.size() << " layers; the model has " << space.layers);
            vector_double x;
            for (const auto& c : codes.layers) {
                const int32_t tmax = std::clamp(c.tmax, spec.tmax_min, spec.tmax_max);
                const auto s = layer_space(tmax);
                const auto v = s.encode(s.repair(CodeSet{{c}}));
                x.push_back(tmax);
                x.insert(x.end(), v.begin(), v.end());
            }
            return x;
        }
        }
        throw std::logic_error("PagmoSearch: unknown encoding");
    }

    /// The first population in the allocation space: the `search.init` codes (when given),
    /// then the same tmax at every layer for kUniformStarts values spread over the range (the
    /// uniform-tmax Lloyd-Max points), then per layer the tmax of the coverage quantiles
    /// 0.86, 0.88, ..., 0.98 (AllocationSpace::quantile_tmax; those not already present), as
    /// far as the population has room, then random tmax per layer.
    std::vector<vector_double> first_allocation_population() const {
        Rng rng(seed, rng_streams::kPagmoInit);
        std::vector<vector_double> xs;
        if (init) {
            xs.push_back(encode(*init));
        }
        const auto room = [&] { return spec.population - static_cast<int64_t>(xs.size()); };
        for (int32_t t : alloc->spread(std::min(kUniformStarts, room()))) {
            xs.push_back(encode_tmax(std::vector<int32_t>(dimension(), t)));
        }
        for (int p = 86; p <= 98 && room() > 0; p += 2) {
            vector_double x = encode_tmax(alloc->quantile_tmax(p / 100.0));
            if (std::find(xs.begin(), xs.end(), x) == xs.end()) {
                xs.push_back(std::move(x));
            }
        }
        while (static_cast<int64_t>(xs.size()) < spec.population) {
            std::vector<int32_t> tmax;
            for (size_t l = 0; l < dimension(); ++l) {
                tmax.push_back(alloc->tmax_min() +
                               static_cast<int32_t>(rng.uniform_below(uint64_t(alloc->choices()))));
            }
            xs.push_back(encode_tmax(tmax));
        }
        return xs;
    }

    /// Individual i of the first population (deterministic in the seed).
    std::vector<vector_double> first_population() const {
        if (alloc) {
            return first_allocation_population();
        }
        Rng rng(seed, rng_streams::kPagmoInit);
        std::vector<vector_double> xs;
        for (int64_t i = 0; i < spec.population; ++i) {
            vector_double x;
            if (spec.encoding == PagmoEncoding::Relative) {
                for (size_t k = 0; k < dimension(); ++k) {
                    x.push_back(rng.uniform01());
                }
            } else {
                CodeSet c;
                for (int64_t l = 0; l < space.layers; ++l) {
                    const int32_t tmax =
                        spec.encoding == PagmoEncoding::IntegerTmax
                            ? spec.tmax_min + static_cast<int32_t>(rng.uniform_below(
                                                  uint64_t(spec.tmax_max - spec.tmax_min + 1)))
                            : space.tmax;
                    c.layers.push_back(layer_space(tmax).sample(rng));
                }
                x = encode(c);
            }
            xs.push_back(i == 0 && init ? encode(*init) : x);
        }
        // The starts replace the random individuals that follow init (the draws above stay the
        // same, so a search without starts is unchanged).
        const size_t first = init ? 1 : 0;
        for (size_t k = 0; k < starts.size() && first + k < xs.size(); ++k) {
            xs[first + k] = encode(starts[k]);
        }
        return xs;
    }

    vector_double fitness_vector(const Fitness& f) const {
        if (spec.objectives == 2) {
            return {f.kd_loss, -f.covered};
        }
        return {-f.reward()}; // the KD loss plus the coverage-target penalty, if any
    }

    void attach(pagmo::population& pop) {
        auto* p = pop.get_problem().extract<CodeProblem>();
        if (p == nullptr) {
            throw std::logic_error("PagmoSearch: the population holds another problem");
        }
        p->oracle_ = &oracle;
    }

    /// One pagmo generation (the first population, or one evolve call) replayed from the
    /// boundary; returns normally when it completed (then it is the new boundary).
    /// @throws NeedFitness at the first request the log cannot answer.
    void step() {
        oracle.cursor = 0;
        if (!have_population) {
            const auto xs = first_population();
            const auto fs = oracle.answer(xs);
            const auto [lb, ub] = bounds();
            pagmo::population pop(
                pagmo::problem(
                    CodeProblem(lb, ub, spec.encoding != PagmoEncoding::Relative, spec.objectives)),
                0u, pop_seed());
            for (size_t i = 0; i < xs.size(); ++i) {
                pop.push_back(xs[i], fs[i]);
            }
            population = std::move(pop);
            attach(population);
            have_population = true;
        } else {
            pagmo::algorithm a = algorithm;
            pagmo::population p = population;
            attach(p);
            pagmo::population next = a.evolve(p);
            algorithm = std::move(a);
            population = std::move(next);
            attach(population);
        }
        if (oracle.cursor != oracle.log.size()) {
            throw std::logic_error("PagmoSearch: a pagmo generation ended before using the " +
                                   std::to_string(oracle.log.size()) + " fitness calls it made");
        }
        oracle.log.clear();
        oracle.cursor = 0;
        ++generations;
    }

    /// Replays from the boundary until pagmo asks for fitness values the log does not hold,
    /// and returns the candidates of that request (the log's last call).
    /// @throws std::logic_error when the replay does not reproduce the log.
    std::vector<CodeSet> next_request() {
        // A pagmo generation that asks nothing (a stopping rule) would loop forever here; the
        // methods' stopping tolerances are off (pagmo_methods.cpp), so this is a logic error.
        constexpr int kMaxSilentGenerations = 100;
        for (int silent = 0; silent < kMaxSilentGenerations; ++silent) {
            try {
                step();
            } catch (const NeedFitness&) {
                if (oracle.cursor + 1 != oracle.log.size()) {
                    throw std::logic_error("PagmoSearch: the replay stopped at call " +
                                           std::to_string(oracle.cursor) + " of " +
                                           std::to_string(oracle.log.size()));
                }
                const PagmoCall& call = oracle.log.back();
                std::vector<CodeSet> out;
                for (size_t i = call.fs.size(); i < call.xs.size(); ++i) {
                    out.push_back(decode(call.xs[i]));
                }
                return out;
            }
        }
        throw std::logic_error("PagmoSearch: pagmo's " + spec.name + " made " +
                               std::to_string(kMaxSilentGenerations) +
                               " generations without a fitness request");
    }

    /// Checks a loaded state before pagmo touches it: sizes and values of the population and
    /// of the log, then a replay on a copy (what the next ask() does).
    /// @throws std::exception (any kind) saying what does not fit.
    void check_loaded() const {
        const size_t n = dimension();
        const auto nf = static_cast<size_t>(spec.objectives);
        const auto check_x = [&](const vector_double& x, const char* where) {
            if (x.size() != n ||
                !std::all_of(x.begin(), x.end(), [](double v) { return std::isfinite(v); })) {
                throw std::invalid_argument(std::string(where) + " holds a vector of " +
                                            std::to_string(x.size()) +
                                            " values or a non-finite value; the space needs " +
                                            std::to_string(n) + " finite values");
            }
        };
        if (generations < 0) {
            throw std::invalid_argument("a negative generation count");
        }
        if (have_population) {
            const auto* p = population.get_problem().extract<CodeProblem>();
            if (p == nullptr || p->get_bounds() != bounds() || p->get_nobj() != nf) {
                throw std::invalid_argument("the population's problem is not this code space");
            }
            if (population.size() == 0 || population.get_ID().size() != population.size() ||
                population.get_f().size() != population.size()) {
                throw std::invalid_argument("the population's sizes do not agree");
            }
            for (const auto& x : population.get_x()) {
                check_x(x, "the population");
            }
            for (const auto& f : population.get_f()) {
                if (f.size() != nf) {
                    throw std::invalid_argument("the population holds a fitness of " +
                                                std::to_string(f.size()) + " values");
                }
            }
        }
        for (size_t c = 0; c < oracle.log.size(); ++c) {
            const PagmoCall& call = oracle.log[c];
            const bool last = c + 1 == oracle.log.size();
            if (call.xs.empty() || call.fs.size() > call.xs.size() ||
                (!last && call.fs.size() != call.xs.size())) {
                throw std::invalid_argument("the log's call " + std::to_string(c) + " has " +
                                            std::to_string(call.fs.size()) + " values for " +
                                            std::to_string(call.xs.size()) + " vectors");
            }
            for (const auto& x : call.xs) {
                check_x(x, "the log");
            }
            for (const auto& f : call.fs) {
                if (f.size() != nf) {
                    throw std::invalid_argument("the log holds a fitness of " +
                                                std::to_string(f.size()) + " values");
                }
            }
        }
        Impl trial = *this;
        trial.next_request();
    }

    unsigned algorithm_seed() const {
        return static_cast<unsigned>(Rng(seed, rng_streams::kPagmoSeeds).next_u64() >> 32);
    }
    unsigned pop_seed() const {
        Rng rng(seed, rng_streams::kPagmoSeeds);
        rng.next_u64();
        return static_cast<unsigned>(rng.next_u64() >> 32);
    }
};

PagmoSearch::PagmoSearch(const PagmoMethodSpec& spec,
                         CodeSpace space,
                         uint64_t seed,
                         int64_t generation,
                         std::optional<CodeSet> init,
                         std::shared_ptr<const AllocationSpace> allocation,
                         std::vector<CodeSet> starts)
    : impl_(std::make_unique<Impl>()) {
    space.validate();
    TRISEG_CHECK(generation >= 1, ConfigError,
                 "`search.episodes_per_generation` must be at least 1, got " << generation);
    impl_->spec = spec;
    impl_->space = space;
    impl_->seed = seed;
    impl_->init = std::move(init);
    impl_->alloc = std::move(allocation);
    impl_->starts = std::move(starts);
    for (const auto& c : impl_->starts) {
        impl_->encode(c); // a wrong layer count fails here
    }
    TRISEG_CHECK(!impl_->alloc || impl_->alloc->layers() == space.layers, InputError,
                 "PagmoSearch: an allocation space of "
                     << impl_->alloc->layers() << " layers for a model of " << space.layers);
    if (impl_->init) {
        impl_->encode(*impl_->init); // a wrong layer count fails here, not mid-search
    }
    try {
        impl_->algorithm = spec.make(impl_->algorithm_seed());
    } catch (const std::invalid_argument& e) {
        TRISEG_THROW(ConfigError,
                     "the `" << spec.name << "` options are invalid for pagmo: " << e.what());
    }
}

PagmoSearch::~PagmoSearch() = default;

std::string PagmoSearch::name() const {
    return impl_->spec.name;
}

int64_t PagmoSearch::generations() const {
    return impl_->generations;
}

std::vector<CodeSet> PagmoSearch::ask() {
    impl_->asked = impl_->next_request();
    return impl_->asked;
}

void PagmoSearch::tell(const std::vector<CodeSet>& candidates, const std::vector<Fitness>& scores) {
    auto& asked = impl_->asked;
    if (candidates.size() != scores.size() || candidates.size() > asked.size() ||
        !std::equal(candidates.begin(), candidates.end(), asked.begin())) {
        throw std::logic_error("PagmoSearch::tell: " + std::to_string(scores.size()) +
                               " scores for " + std::to_string(candidates.size()) +
                               " candidates that are not a prefix of the " +
                               std::to_string(asked.size()) + " asked");
    }
    if (scores.empty()) { // nothing scored (a budget that ended before this ask)
        asked.clear();
        return;
    }
    PagmoCall& call = impl_->oracle.log.back();
    for (const auto& s : scores) {
        call.fs.push_back(impl_->fitness_vector(s));
    }
    asked.clear();
}

namespace {
constexpr const char* kMethodKey = "pagmo/method";
constexpr const char* kBoundaryKey = "pagmo/boundary";
constexpr const char* kLogKey = "pagmo/log";
} // namespace

void PagmoSearch::save(Checkpoint& checkpoint) const {
    checkpoint.entries[kMethodKey] = impl_->spec.name;
    {
        std::ostringstream os;
        {
            boost::archive::binary_oarchive ar(os);
            ar << impl_->have_population;
            ar << impl_->generations;
            ar << impl_->algorithm;
            ar << impl_->population;
        }
        checkpoint.entries[kBoundaryKey] = os.str();
    }
    std::ostringstream os;
    {
        boost::archive::binary_oarchive ar(os);
        ar << impl_->oracle.log;
    }
    checkpoint.entries[kLogKey] = os.str();
}

void PagmoSearch::load(const Checkpoint& checkpoint) {
    const auto& e = checkpoint.entries;
    const auto method = e.find(kMethodKey);
    TRISEG_CHECK(method != e.end() && method->second == impl_->spec.name, InputError,
                 "the checkpoint holds no " << impl_->spec.name
                                            << " search state (was it written by another method?)");
    const auto boundary = e.find(kBoundaryKey);
    const auto log = e.find(kLogKey);
    TRISEG_CHECK(boundary != e.end() && log != e.end(), InputError,
                 "the checkpoint's " << impl_->spec.name << " state is incomplete (no "
                                     << kBoundaryKey << " or " << kLogKey << ")");
    Impl fresh;
    fresh.spec = impl_->spec;
    fresh.space = impl_->space;
    fresh.seed = impl_->seed;
    fresh.init = impl_->init;
    fresh.alloc = impl_->alloc;
    fresh.starts = impl_->starts;
    try {
        {
            std::istringstream is(boundary->second);
            boost::archive::binary_iarchive ar(is);
            ar >> fresh.have_population;
            ar >> fresh.generations;
            ar >> fresh.algorithm;
            ar >> fresh.population;
        }
        std::istringstream is(log->second);
        boost::archive::binary_iarchive ar(is);
        ar >> fresh.oracle.log;
    } catch (const std::exception& ex) {
        TRISEG_THROW(InputError,
                     "the checkpoint's " << impl_->spec.name << " state is damaged: " << ex.what());
    }
    TRISEG_CHECK(fresh.algorithm.get_name() == impl_->algorithm.get_name(), InputError,
                 "the checkpoint's " << impl_->spec.name << " state holds pagmo's "
                                     << fresh.algorithm.get_name());
    if (fresh.have_population) {
        fresh.attach(fresh.population);
    }
    try {
        fresh.check_loaded(); // a damaged state fails here, not in a later ask()
    } catch (const std::exception& ex) {
        TRISEG_THROW(InputError,
                     "the checkpoint's " << impl_->spec.name << " state is damaged: " << ex.what());
    }
    *impl_ = std::move(fresh);
    if (impl_->have_population) {
        impl_->attach(impl_->population);
    }
}

std::vector<std::pair<CodeSet, std::vector<double>>> PagmoSearch::front_points() const {
    // When every fitness of the pending generation is known (the budget ended on a
    // generation's last tell), finish that generation on a copy: its selection is then part of
    // the population the front comes from.
    std::optional<Impl> settled;
    {
        Impl copy = *impl_;
        try {
            copy.step();
            settled = std::move(copy);
        } catch (const NeedFitness&) {
        }
    }
    const Impl& s = settled ? *settled : *impl_;
    std::vector<std::pair<CodeSet, std::vector<double>>> out;
    if (!s.have_population) {
        return out;
    }
    const auto& fs = s.population.get_f();
    const auto& xs = s.population.get_x();
    std::vector<size_t> keep;
    if (s.spec.objectives == 1) {
        keep.push_back(s.population.best_idx());
    } else {
        const auto fronts = std::get<0>(pagmo::fast_non_dominated_sorting(fs));
        keep.assign(fronts.at(0).begin(), fronts.at(0).end());
        std::sort(keep.begin(), keep.end(),
                  [&](size_t a, size_t b) { return fs[a] < fs[b] || (fs[a] == fs[b] && a < b); });
    }
    for (const size_t i : keep) {
        CodeSet c = s.decode(xs[i]);
        const bool seen =
            std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.first == c; });
        if (!seen) {
            out.emplace_back(std::move(c), fs[i]);
        }
    }
    return out;
}

std::vector<CodeSet> PagmoSearch::front() const {
    if (impl_->spec.objectives < 2) {
        return {};
    }
    std::vector<CodeSet> out;
    for (auto& p : front_points()) {
        out.push_back(std::move(p.first));
    }
    return out;
}

} // namespace triseg::search
