// Name -> factory map of search algorithms (runtime selection from `search.method`).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "search/algorithm.h"
#include "search/code_space.h"
#include "search/ppo_options.h"

namespace triseg::search {

/// Everything a factory may need; each algorithm reads its own part.
struct AlgorithmSettings {
    CodeSpace space;
    uint64_t seed = 0;
    int64_t generation = 4; ///< candidates per ask()
    PpoOptions ppo;
};

using AlgorithmFactory = std::function<std::unique_ptr<Algorithm>(const AlgorithmSettings&)>;

/// The registered names, sorted: "ppo", "random".
std::vector<std::string> algorithm_names();

/// A new algorithm. @throws ConfigError "`search.method` must be one of ppo, random; got 'x'".
std::unique_ptr<Algorithm> make_algorithm(const std::string& name,
                                          const AlgorithmSettings& settings);

} // namespace triseg::search
