// MethodOptions: the type-erased options section of one search method (see search/registry.h).
#pragma once

#include <memory>
#include <utility>

#include "common/field_visitor.h"

namespace triseg::search {

/// The options of one search method, behind a small virtual interface so that the run
/// configuration can read, write, compare and validate every registered method's section
/// without naming its type. A method with options wraps its plain XxxOptions struct in
/// MethodOptionsOf<XxxOptions>; a method without options uses NoMethodOptions.
class MethodOptions {
public:
    virtual ~MethodOptions() = default;

    /// Visits every field in the order the YAML section lists them.
    virtual void visit(FieldVisitor& visitor) = 0;
    /// @throws ConfigError naming the key (`ppo.lr`), the value and the allowed range.
    virtual void validate() const = 0;
    virtual std::unique_ptr<MethodOptions> clone() const = 0;
    /// True when `other` holds the same type and equal values.
    virtual bool equals(const MethodOptions& other) const = 0;
};

/// MethodOptions over a plain options struct T, which provides `void visit(FieldVisitor&)`,
/// `void validate() const` and `operator==`.
template <typename T> class MethodOptionsOf final : public MethodOptions {
public:
    MethodOptionsOf() = default;
    explicit MethodOptionsOf(T value) : value(std::move(value)) {}

    void visit(FieldVisitor& visitor) override { value.visit(visitor); }
    void validate() const override { value.validate(); }
    std::unique_ptr<MethodOptions> clone() const override {
        return std::make_unique<MethodOptionsOf<T>>(value);
    }
    bool equals(const MethodOptions& other) const override {
        const auto* o = dynamic_cast<const MethodOptionsOf<T>*>(&other);
        return o != nullptr && o->value == value;
    }

    T value;
};

/// The options of a method that has none (no YAML section).
class NoMethodOptions final : public MethodOptions {
public:
    void visit(FieldVisitor& /*visitor*/) override {}
    void validate() const override {}
    std::unique_ptr<MethodOptions> clone() const override {
        return std::make_unique<NoMethodOptions>();
    }
    bool equals(const MethodOptions& other) const override {
        return dynamic_cast<const NoMethodOptions*>(&other) != nullptr;
    }
};

} // namespace triseg::search
