// PagmoMethodSpec: what PagmoSearch needs to know about one pagmo method (includes pagmo; only
// search/pagmo_*.cpp include it, so pagmo's headers stay out of everyone else's build).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <pagmo/algorithm.hpp>

#include "search/pagmo_search.h"

namespace triseg::search {

struct PagmoMethodSpec {
    std::string name;                                 ///< "sga", the registry name
    PagmoEncoding encoding = PagmoEncoding::Relative; ///< how vectors map to codes
    int64_t objectives = 1;                           ///< 1: {kd}; 2: {kd, -covered}
    int64_t population = 20;                          ///< individuals of the first population
    int32_t tmax_min = 0;                             ///< IntegerTmax: tmax range per layer
    int32_t tmax_max = 0;
    /// The algorithm (one generation per evolve call, memory on where pagmo has it) seeded
    /// with `seed`.
    std::function<pagmo::algorithm(unsigned seed)> make;
};

} // namespace triseg::search
