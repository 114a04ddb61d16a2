// FieldVisitor: one typed callback per kind of option field, so an options object can list its
// keys once and be read, written, compared or perturbed by whoever visits it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace triseg {

/// Visits the fields of an options struct in a fixed order, one call per field, with the
/// field's config key (without its section) and a mutable reference. Readers assign the
/// reference, writers only read it. The config reader and writer (cli/config) implement it;
/// a search method's options (search::MethodOptions::visit) call it.
class FieldVisitor {
public:
    virtual ~FieldVisitor() = default;

    virtual void field(const std::string& key, int64_t& value) = 0;
    virtual void field(const std::string& key, double& value) = 0;
    virtual void field(const std::string& key, bool& value) = 0;
    virtual void field(const std::string& key, std::string& value) = 0;
    virtual void field(const std::string& key, std::vector<double>& value) = 0;
};

} // namespace triseg
