// ppo_layer_facts, read_init_policy and read_curriculum_order.
#include "cli/ppo_inputs.h"

#include <map>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/content_hash.h"
#include "io/h5_search_checkpoint.h"
#include "io/json_file.h"

namespace triseg::cli {

std::vector<search::PpoLayerFacts>
ppo_layer_facts(const engine::Int8Network& net,
                const std::vector<std::array<int64_t, 256>>& histograms) {
    TRISEG_CHECK(static_cast<int64_t>(histograms.size()) == net.num_layers(), InputError,
                 "the enhanced PPO state needs one code histogram per point; got "
                     << histograms.size() << " for " << net.num_layers());
    const auto& graph = net.graph();
    std::vector<search::PpoLayerFacts> out;
    for (int64_t k = 0; k < net.num_layers(); ++k) {
        const auto& tensor = net.block_tensor(k);
        search::PpoLayerFacts f;
        f.histogram = histograms[static_cast<size_t>(k)];
        f.scale = static_cast<double>(tensor.quant.scale);
        f.zero_point = tensor.quant.zero_point;
        for (const auto& op : graph.ops) {
            if (op.output < 0 ||
                graph.tensors.at(static_cast<size_t>(op.output)).name != tensor.name ||
                op.kind != models::Int8OpKind::Conv) {
                continue;
            }
            const size_t per_channel = op.weight.size() / static_cast<size_t>(op.out_channels);
            for (size_t i = 0; i < op.weight.size(); ++i) {
                f.weights.push_back(static_cast<double>(op.weight[i]) *
                                    static_cast<double>(op.weight_scale[i / per_channel]));
            }
        }
        out.push_back(std::move(f));
    }
    return out;
}

search::Checkpoint read_init_policy(const std::string& path) {
    TRISEG_CHECK(io::file_exists(path), ConfigError,
                 "`ppo.init_policy` is '" << path
                                          << "', which is not an existing file (the checkpoint.h5 "
                                             "of a PPO search)");
    const io::SearchCheckpointFile file = io::read_search_checkpoint(path);
    TRISEG_CHECK(file.method == "ppo", InputError,
                 "`ppo.init_policy` '" << path << "' is the checkpoint of a " << file.method
                                       << " search, not of a PPO search");
    search::Checkpoint c;
    c.entries = file.entries;
    return c;
}

CurriculumOrder read_curriculum_order(const std::string& path,
                                      const std::vector<std::string>& names) {
    TRISEG_CHECK(io::file_exists(path), ConfigError,
                 "`ppo.curriculum` is '"
                     << path
                     << "', which is not an existing file (the sensitivity.json "
                        "of `triseg analyze-sensitivity`)");
    constexpr size_t kMaxBytes = size_t{16} << 20;
    const std::string what = "`ppo.curriculum` '" + path + "'";
    const std::string text = io::read_file(path, "ppo.curriculum file", kMaxBytes);
    const nlohmann::json j = io::parse_json_strict(text, what);
    TRISEG_CHECK(j.is_object() && j.contains("ranking") && j["ranking"].is_array(), InputError,
                 what << " holds no \"ranking\" list (is it the sensitivity.json of `triseg "
                         "analyze-sensitivity`?)");
    std::map<std::string, int32_t> index;
    for (size_t i = 0; i < names.size(); ++i) {
        index[names[i]] = static_cast<int32_t>(i);
    }
    std::vector<int32_t> order;
    std::vector<bool> seen(names.size(), false);
    std::string unknown;
    for (const auto& row : j["ranking"]) {
        TRISEG_CHECK(row.is_object() && row.contains("layer") && row["layer"].is_string(),
                     InputError, what << " has a ranking row without a \"layer\" name");
        const std::string name = row["layer"].get<std::string>();
        const auto it = index.find(name);
        if (it == index.end()) {
            unknown += (unknown.empty() ? "" : ", ") + name.substr(0, 80);
            continue;
        }
        TRISEG_CHECK(!seen[static_cast<size_t>(it->second)], InputError,
                     what << " ranks layer " << name << " twice");
        seen[static_cast<size_t>(it->second)] = true;
        order.push_back(it->second);
    }
    std::string missing;
    for (size_t i = 0; i < names.size(); ++i) {
        if (!seen[i]) {
            missing += (missing.empty() ? "" : ", ") + names[i];
        }
    }
    TRISEG_CHECK(unknown.empty() && missing.empty(), InputError,
                 what << " does not rank this model's layers"
                      << (missing.empty() ? "" : "; missing: " + missing)
                      << (unknown.empty() ? "" : "; unknown: " + unknown)
                      << " (run `triseg analyze-sensitivity` on this run)");
    return {order, io::sha256_hex(text)};
}

} // namespace triseg::cli
