// MethodSections.
#include "cli/config/method_sections.h"

namespace triseg::cli {

MethodSections::MethodSections() {
    for (const auto& entry : search::methods()) {
        entries_.emplace_back(&entry, entry.default_options());
    }
}

MethodSections::MethodSections(const MethodSections& o) {
    for (const auto& [entry, options] : o.entries_) {
        entries_.emplace_back(entry, options->clone());
    }
}

MethodSections& MethodSections::operator=(const MethodSections& o) {
    if (this != &o) {
        MethodSections copy(o);
        entries_ = std::move(copy.entries_);
    }
    return *this;
}

search::MethodOptions& MethodSections::at(const std::string& name) {
    const search::MethodEntry& wanted = search::method_entry(name);
    for (auto& [entry, options] : entries_) {
        if (entry == &wanted) {
            return *options;
        }
    }
    throw std::logic_error("MethodSections lacks registered method '" + name + "'");
}

const search::MethodOptions& MethodSections::at(const std::string& name) const {
    return const_cast<MethodSections*>(this)->at(name);
}

void MethodSections::validate() const {
    for (const auto& entry : entries_) {
        entry.second->validate();
    }
}

bool MethodSections::operator==(const MethodSections& o) const {
    if (entries_.size() != o.entries_.size()) {
        return false;
    }
    for (size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].first != o.entries_[i].first ||
            !entries_[i].second->equals(*o.entries_[i].second)) {
            return false;
        }
    }
    return true;
}

} // namespace triseg::cli
