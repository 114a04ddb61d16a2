// ppo_layer_facts and read_init_policy.
#include "cli/ppo_inputs.h"

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/h5_search_checkpoint.h"

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

} // namespace triseg::cli
