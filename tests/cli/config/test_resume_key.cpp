// resume_key: the whole effective config minus an explicit list of keys that may change.
#include "cli/config/resume_key.h"

#include "cli/config/config.h"
#include "common/error.h"
#include "search/registry.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace triseg::cli {
namespace {

const std::string kSha = "00ff";

std::string key_of(const RunConfig& c) {
    return resume_key(c, kSha);
}

TEST(ResumeKey, EndsWithTheModelHashAndOmitsTheExemptKeys) {
    const std::string key = key_of(RunConfig{});
    const std::string tail = "# integer model file sha256: 00ff\n";
    ASSERT_GE(key.size(), tail.size());
    EXPECT_EQ(key.substr(key.size() - tail.size()), tail);
    EXPECT_NE(key_of(RunConfig{}), resume_key(RunConfig{}, "00fe"));
    const YAML::Node root = YAML::Load(key);
    EXPECT_FALSE(root["train"]);
    EXPECT_FALSE(root["qat"]);
    EXPECT_FALSE(root["search"]["episodes"]);
    EXPECT_FALSE(root["approx"]["max_acc_drop"]);
    EXPECT_TRUE(root["search"]["method"]);
    EXPECT_TRUE(root["runtime"]["seed"]);
    EXPECT_FALSE(root["runtime"]["threads"]);
    // Of the method sections, only the active method's (ppo by default).
    for (const auto& entry : search::methods()) {
        EXPECT_EQ(static_cast<bool>(root[entry.name]), entry.has_section && entry.name == "ppo")
            << entry.name;
    }
}

// Each key of the exempt list may change on resume: the key stays.
TEST(ResumeKey, BudgetAndOtherExemptKeysMayChange) {
    const std::string base = key_of(RunConfig{});
    const std::vector<std::pair<std::string, std::function<void(RunConfig&)>>> changes = {
        {"search.episodes", [](RunConfig& c) { c.search.episodes = 9; }},
        {"search.max_evaluations", [](RunConfig& c) { c.search.max_evaluations = 9; }},
        {"search.max_macs", [](RunConfig& c) { c.search.max_macs = 9; }},
        {"search.max_seconds", [](RunConfig& c) { c.search.max_seconds = 9; }},
        {"approx.max_acc_drop", [](RunConfig& c) { c.approx.max_acc_drop = 0.5; }},
        {"runtime.threads", [](RunConfig& c) { c.runtime.threads = 3; }},
        {"runtime.device", [](RunConfig& c) { c.runtime.device = "cuda"; }},
        {"train", [](RunConfig& c) { c.train.epochs = 99; }},
        {"qat", [](RunConfig& c) { c.qat.lr = 0.5; }},
        {"ste", [](RunConfig& c) { c.ste.alpha = 0.1; }},
    };
    std::vector<std::string> covered;
    for (const auto& [path, change] : changes) {
        RunConfig c;
        change(c);
        ASSERT_NE(c, RunConfig{}) << path;
        EXPECT_EQ(key_of(c), base) << path;
        covered.push_back(path);
    }
    EXPECT_EQ(covered, resume_exempt_keys()) << "one check per exempt key";
}

/// Every "section.key" path of a YAML mapping of sections.
std::vector<std::string> all_paths(const YAML::Node& root) {
    std::vector<std::string> out;
    for (const auto& section : root) {
        for (const auto& key : section.second) {
            out.push_back(section.first.Scalar() + "." + key.first.Scalar());
        }
    }
    return out;
}

bool exempt(const std::string& path) {
    for (const std::string& e : resume_exempt_keys()) {
        if (path == e || path.rfind(e + ".", 0) == 0) {
            return true;
        }
    }
    return false;
}

// Any other key, in any section (every registered method's included, found through the emitted
// YAML, so a new method is covered with no edit here), is part of the key.
TEST(ResumeKey, EveryOtherKeyIsPartOfTheKey) {
    const std::string yaml = to_yaml(RunConfig{});
    const std::string base = remove_config_keys(yaml, resume_exempt_keys());
    const auto paths = all_paths(YAML::Load(yaml));
    int part_of_key = 0;
    for (const std::string& path : paths) {
        YAML::Node changed = YAML::Load(yaml);
        const size_t dot = path.find('.');
        changed[path.substr(0, dot)][path.substr(dot + 1)] = "changed-value";
        const std::string key = remove_config_keys(YAML::Dump(changed), resume_exempt_keys());
        if (exempt(path)) {
            EXPECT_EQ(key, base) << path;
        } else {
            EXPECT_NE(key, base) << path;
            ++part_of_key;
        }
    }
    EXPECT_GT(part_of_key, 30);
    for (const auto& entry : search::methods()) {
        const bool found = std::any_of(paths.begin(), paths.end(), [&](const std::string& p) {
            return p.rfind(entry.name + ".", 0) == 0;
        });
        EXPECT_EQ(found, entry.has_section) << entry.name;
    }
}

/// Changes field number `target` of an options object (see test_config.cpp's ChangeField).
class ChangeOne final : public FieldVisitor {
public:
    explicit ChangeOne(int target) : target_(target) {}
    void field(const std::string& /*key*/, int64_t& v) override { v += hit(); }
    void field(const std::string& /*key*/, double& v) override { v += 0.125 * hit(); }
    void field(const std::string& /*key*/, bool& v) override { v = hit() ? !v : v; }
    void field(const std::string& /*key*/, std::string& v) override { v += hit() ? "x" : ""; }
    void field(const std::string& /*key*/, std::vector<double>& v) override {
        if (hit()) {
            v.push_back(1.0);
        }
    }
    bool changed = false;

private:
    int hit() {
        const bool yes = count_++ == target_;
        changed = changed || yes;
        return yes ? 1 : 0;
    }
    int target_;
    int count_ = 0;
};

// The same through RunConfig: every field of the active method's options.
TEST(ResumeKey, EveryOptionOfTheActiveMethodIsPartOfTheKey) {
    for (const auto& entry : search::methods()) {
        RunConfig active;
        active.search.method = entry.name;
        const std::string base = key_of(active);
        for (int target = 0;; ++target) {
            RunConfig c = active;
            ChangeOne change(target);
            c.methods.at(entry.name).visit(change);
            if (!change.changed) {
                break;
            }
            EXPECT_NE(key_of(c), base) << entry.name << " field " << target;
        }
    }
}

// Another method's section does not touch this search: editing it (or a method's default, or
// adding a method) keeps the key, so a search in progress still resumes.
TEST(ResumeKey, OtherMethodsSectionsAreNotPartOfTheKey) {
    int checked = 0;
    for (const auto& entry : search::methods()) {
        RunConfig active;
        active.search.method = entry.name;
        const std::string base = key_of(active);
        for (const auto& other : search::methods()) {
            if (other.name == entry.name || !other.has_section) {
                continue;
            }
            for (int target = 0;; ++target) {
                RunConfig c = active;
                ChangeOne change(target);
                c.methods.at(other.name).visit(change);
                if (!change.changed) {
                    break;
                }
                EXPECT_EQ(key_of(c), base)
                    << entry.name << " active, " << other.name << " field " << target << " changed";
                ++checked;
            }
        }
        // The key holds the active method's section and no other.
        for (const auto& other : search::methods()) {
            const bool present = base.find("\n" + other.name + ":") != std::string::npos;
            EXPECT_EQ(present, other.has_section && other.name == entry.name)
                << entry.name << " active, section " << other.name;
        }
    }
    EXPECT_GT(checked, 30);
}

TEST(ResumeKey, NonExemptExamplesChangeTheKey) {
    const std::string base = key_of(RunConfig{});
    RunConfig c;
    c.runtime.seed = 1;
    EXPECT_NE(key_of(c), base);
    c = RunConfig{};
    c.search.method = "random";
    EXPECT_NE(key_of(c), base);
    c = RunConfig{};
    c.approx.tmax = 64;
    EXPECT_NE(key_of(c), base);
    c = RunConfig{};
    c.search.reward_images = 17;
    EXPECT_NE(key_of(c), base);
}

TEST(ResumeKey, RemoveConfigKeysRefusesANonMapping) {
    EXPECT_THROW(remove_config_keys("- a\n- b\n", resume_exempt_keys()), ConfigError);
}

// A search warm-started elsewhere is another search.
TEST(ResumeKey, SearchInitIsPartOfTheKey) {
    RunConfig lloyd;
    lloyd.search.init = "lloyd";
    RunConfig random;
    random.search.init = "random";
    RunConfig even;
    even.search.init = "evenly-spaced";
    EXPECT_NE(key_of(lloyd), key_of(random));
    EXPECT_NE(key_of(lloyd), key_of(even));
}

} // namespace
} // namespace triseg::cli
