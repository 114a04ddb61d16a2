// The search-method registry: one table, one line per method.
//
// Why one table and not self-registering static objects: triseg_search is a static library,
// and the linker drops an object file nobody references, so a static registrar in an
// algorithm's .cpp would silently vanish from the binary. Listing each method's entry
// function here references it, and the order (sorted by name) is fixed in one place.
#include "search/registry.h"

#include <algorithm>
#include <stdexcept>

#include "common/option_checks.h"
#include "search/layerwise_search.h"
#include "search/lloyd_search.h"
#include "search/pagmo_search.h"
#include "search/ppo_search.h"
#include "search/random_search.h"

namespace triseg::search {

const std::vector<MethodEntry>& methods() {
    static const std::vector<MethodEntry> table = [] {
        std::vector<MethodEntry> t = {
            cmaes_method(), de_method(),  gaco_method(),    layerwise_method(), lloyd_method(),
            nsga2_method(), ppo_method(), pso_gen_method(), random_method(),    sga_method(),
        };
        std::sort(t.begin(), t.end(),
                  [](const MethodEntry& a, const MethodEntry& b) { return a.name < b.name; });
        return t;
    }();
    return table;
}

std::vector<std::string> algorithm_names() {
    std::vector<std::string> names;
    for (const auto& entry : methods()) {
        names.push_back(entry.name);
    }
    return names;
}

const MethodEntry* find_method(const std::string& name) {
    for (const auto& entry : methods()) {
        if (entry.name == name) {
            return &entry;
        }
    }
    return nullptr;
}

const MethodEntry& method_entry(const std::string& name) {
    const MethodEntry* entry = find_method(name);
    TRISEG_CHECK(entry != nullptr, ConfigError,
                 "`search.method` must be one of " << detail::join(algorithm_names()) << "; got '"
                                                   << name << "'");
    return *entry;
}

std::vector<std::string> allocation_method_names() {
    std::vector<std::string> names;
    for (const auto& entry : methods()) {
        if (entry.supports_allocation) {
            names.push_back(entry.name);
        }
    }
    return names;
}

namespace {

const MethodEntry& entry_for(const std::string& name, const AlgorithmContext& context) {
    const MethodEntry& entry = method_entry(name);
    TRISEG_CHECK(!context.allocation || entry.supports_allocation, ConfigError,
                 "`search.space: allocation` works with "
                     << detail::join(allocation_method_names()) << "; '" << name
                     << "' searches the codes space only (set search.space=codes)");
    return entry;
}

} // namespace

std::unique_ptr<Algorithm> make_algorithm(const std::string& name,
                                          const MethodOptions& options,
                                          const AlgorithmContext& context) {
    return entry_for(name, context).make(options, context);
}

std::unique_ptr<Algorithm> make_algorithm(const std::string& name,
                                          const AlgorithmContext& context) {
    const MethodEntry& entry = entry_for(name, context);
    return entry.make(*entry.default_options(), context);
}

} // namespace triseg::search
