// resume_key: to_yaml minus an explicit list of keys.
#include "cli/config/resume_key.h"

#include "cli/config/config.h"
#include "common/error.h"
#include "search/registry.h"

#include <yaml-cpp/yaml.h>

namespace triseg::cli {

const std::vector<std::string>& resume_exempt_keys() {
    static const std::vector<std::string> keys = {"search.episodes",
                                                  "search.max_evaluations",
                                                  "search.max_macs",
                                                  "search.max_seconds",
                                                  "approx.max_acc_drop",
                                                  "runtime.threads",
                                                  "runtime.device",
                                                  "train",
                                                  "qat",
                                                  "ste"};
    return keys;
}

std::string remove_config_keys(const std::string& yaml, const std::vector<std::string>& exempt) {
    YAML::Node root = YAML::Load(yaml);
    TRISEG_CHECK(root.IsMap(), ConfigError, "remove_config_keys: the config is not a mapping");
    for (const std::string& path : exempt) {
        const size_t dot = path.find('.');
        if (dot == std::string::npos) {
            root.remove(path);
            continue;
        }
        YAML::Node section = root[path.substr(0, dot)];
        if (section.IsMap()) {
            section.remove(path.substr(dot + 1));
        }
    }
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str()) + "\n";
}

std::string resume_key(const RunConfig& config,
                       const std::string& model_sha256,
                       const std::vector<std::string>& data_files) {
    // The other methods' sections do not touch this search: editing one, adding a method or
    // changing another method's default must not block a resume.
    std::vector<std::string> exempt = resume_exempt_keys();
    for (const auto& entry : search::methods()) {
        if (entry.has_section && entry.name != config.search.method) {
            exempt.push_back(entry.name);
        }
    }
    std::string key = remove_config_keys(to_yaml(config), exempt) +
                      "# integer model file sha256: " + model_sha256 + "\n";
    for (const auto& line : data_files) {
        key += std::string(kDataFileLine) + line + "\n";
    }
    return key;
}

} // namespace triseg::cli
