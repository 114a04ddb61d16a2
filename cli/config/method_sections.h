// MethodSections: the options section of every registered search method, held generically.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "search/method_options.h"
#include "search/registry.h"

namespace triseg::cli {

/// One options object per registered search method (search::methods(), in registry order),
/// starting at its defaults. Methods with a YAML section (MethodEntry::has_section) appear in
/// the config under their name; the others hold NoMethodOptions. A value type: copies are deep.
class MethodSections {
public:
    MethodSections();
    MethodSections(const MethodSections& o);
    MethodSections& operator=(const MethodSections& o);
    MethodSections(MethodSections&&) noexcept = default;
    MethodSections& operator=(MethodSections&&) noexcept = default;
    ~MethodSections() = default;

    /// The options of method `name`. @throws ConfigError listing the methods when unknown.
    search::MethodOptions& at(const std::string& name);
    const search::MethodOptions& at(const std::string& name) const;

    /// The plain options struct of method `name` (for tests and tools that know the method).
    template <typename T> T& get(const std::string& name) {
        auto* typed = dynamic_cast<search::MethodOptionsOf<T>*>(&at(name));
        if (typed == nullptr) {
            throw std::logic_error("the options of method '" + name + "' are of another type");
        }
        return typed->value;
    }

    /// (name, options) of every method, in registry order.
    const std::vector<
        std::pair<const search::MethodEntry*, std::unique_ptr<search::MethodOptions>>>&
    entries() const {
        return entries_;
    }

    void validate() const;
    bool operator==(const MethodSections& o) const;
    bool operator!=(const MethodSections& o) const { return !(*this == o); }

private:
    std::vector<std::pair<const search::MethodEntry*, std::unique_ptr<search::MethodOptions>>>
        entries_;
};

} // namespace triseg::cli
