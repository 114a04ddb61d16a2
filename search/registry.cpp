// The algorithm registry.
#include "search/registry.h"

#include <map>

#include "common/error.h"
#include "common/option_checks.h"
#include "search/ppo_search.h"
#include "search/random_search.h"

namespace triseg::search {

namespace {

const std::map<std::string, AlgorithmFactory>& factories() {
    static const std::map<std::string, AlgorithmFactory> table = {
        {"ppo",
         [](const AlgorithmSettings& s) {
             return std::make_unique<PpoSearch>(s.space, s.seed, s.generation, s.ppo);
         }},
        {"random",
         [](const AlgorithmSettings& s) {
             return std::make_unique<RandomSearch>(s.space, s.seed, s.generation);
         }},
    };
    return table;
}

} // namespace

std::vector<std::string> algorithm_names() {
    std::vector<std::string> names;
    for (const auto& [name, factory] : factories()) {
        names.push_back(name);
    }
    return names;
}

std::unique_ptr<Algorithm> make_algorithm(const std::string& name,
                                          const AlgorithmSettings& settings) {
    const auto it = factories().find(name);
    TRISEG_CHECK(it != factories().end(), ConfigError,
                 "`search.method` must be one of " << detail::join(algorithm_names()) << "; got '"
                                                   << name << "'");
    return it->second(settings);
}

} // namespace triseg::search
