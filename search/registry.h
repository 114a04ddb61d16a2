// The search-method registry: name -> options section -> factory (runtime selection from
// `search.method`). Adding a method = its .h/.cpp with a `xxx_method()` entry + one line in
// registry.cpp's table; see docs/development.md, "How to add a search method".
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <vector>

#include "common/error.h"
#include "search/algorithm.h"
#include "search/allocation_space.h"
#include "search/code_space.h"
#include "search/method_options.h"
#include "search/ppo_features.h"

namespace triseg::search {

/// What every algorithm gets besides its own options.
struct AlgorithmContext {
    CodeSpace space;
    uint64_t seed = 0;
    int64_t generation = 4; ///< candidates per ask() (`search.episodes_per_generation`)
    /// Per layer, how often each code 0..255 occurs at the block's output in the teacher on the
    /// reward images (empty when the caller did not compute them). Analytic methods (lloyd)
    /// read it.
    std::vector<std::array<int64_t, 256>> code_histograms;
    /// Starting codes from `search.init` (lloyd, evenly-spaced or a result file): evolutionary
    /// methods put them in their first population, PPO warm-starts on them. nullopt: a random
    /// start.
    std::optional<CodeSet> init;
    /// `search.space: allocation`: the per-layer coverage allocation the method searches instead
    /// of the codes of `space` (only methods with MethodEntry::supports_allocation); null in the
    /// codes space.
    std::shared_ptr<const AllocationSpace> allocation;
    /// Per layer, what PPO's enhanced state (`ppo.state: enhanced`) is made of; filled by the
    /// caller only for that option (empty otherwise). PpoSearch computes
    /// ppo_static_features() from it.
    std::vector<PpoLayerFacts> layer_facts;
    /// `ppo.init_policy`: the entries of another PPO search's checkpoint, to start the policy
    /// from (nullopt: none), and the file's name for messages.
    std::optional<Checkpoint> init_policy;
    std::string init_policy_path;
    /// The points' names in forward order (the model's; empty when the caller has none).
    std::vector<std::string> layer_names;
    /// `ppo.curriculum`: the layer indices ranked most sensitive first (empty without it).
    std::vector<int32_t> curriculum_order;
    std::string curriculum_sha256; ///< of that file's bytes (the resume key checks content)
};

/// Makes an algorithm from its own options (the type default_options() returns) and the context.
/// @throws ConfigError when an option, the space or the generation is invalid.
using AlgorithmFactory =
    std::function<std::unique_ptr<Algorithm>(const MethodOptions&, const AlgorithmContext&)>;

/// One registered search method.
struct MethodEntry {
    /// `search.method` value and YAML section name ("ppo").
    std::string name;
    /// One line for `triseg search --help`.
    std::string summary;
    /// True when the method has a top-level YAML section named `name` (its options' keys).
    bool has_section = false;
    /// True when the method reads AlgorithmContext::code_histograms (lloyd); the CLI computes
    /// them only for such methods or for `search.init: lloyd`.
    bool needs_code_histograms = false;
    /// True when the method can search `search.space: allocation` (AlgorithmContext::allocation).
    bool supports_allocation = false;
    /// True when the method's codes-space candidates carry their own tmax per layer (nsga2), so
    /// start codes keep each layer's tmax instead of being moved to approx.tmax.
    bool searches_layer_tmax = false;
    /// The options with their defaults (NoMethodOptions for a method without a section).
    std::function<std::unique_ptr<MethodOptions>()> default_options;
    AlgorithmFactory make;
};

/// Every registered method, sorted by name.
const std::vector<MethodEntry>& methods();

/// The registered names, sorted.
std::vector<std::string> algorithm_names();

/// The entry called `name`, or nullptr. Cheap: builds nothing.
const MethodEntry* find_method(const std::string& name);

/// The entry called `name`.
/// @throws ConfigError "`search.method` must be one of <names>; got 'x'".
const MethodEntry& method_entry(const std::string& name);

/// The names of the methods that support `search.space: allocation`, sorted.
std::vector<std::string> allocation_method_names();

/// A new algorithm with the given options (of the type `name`'s default_options() returns).
/// @throws ConfigError as method_entry() or the factory, or when the context holds an
/// allocation space and the method does not support it.
std::unique_ptr<Algorithm> make_algorithm(const std::string& name,
                                          const MethodOptions& options,
                                          const AlgorithmContext& context);

/// A new algorithm with its default options.
std::unique_ptr<Algorithm> make_algorithm(const std::string& name, const AlgorithmContext& context);

/// The plain options inside `options`, for factories.
/// @throws std::logic_error when `options` holds another method's options.
template <typename T> const T& options_as(const MethodOptions& options) {
    const auto* typed = dynamic_cast<const MethodOptionsOf<T>*>(&options);
    if (typed == nullptr) {
        throw std::logic_error(std::string("search method options are not ") + typeid(T).name());
    }
    return typed->value;
}

} // namespace triseg::search
