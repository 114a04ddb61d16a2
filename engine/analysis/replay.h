// Offline replay of a stored INT8 activation dump: what codes do to each layer's stored codes,
// and the network replayed from each stored layer's live set (Int8Network::forward_from).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/analysis/activation_stats.h"
#include "engine/core/code_set.h"
#include "engine/int8/int8_network.h"
#include "engine/int8/kd_loss.h"
#include "io/h5_activations.h"

namespace triseg::engine {

/// What an int8 dump of `net` stores per image: one entry per point (its name, shape and
/// quantization; pool_after from a VGG chain, false on other graphs), in forward order.
std::vector<io::ActsLayer> dump_layers(const Int8Network& net);
/// The other tensors an int8 dump of `net` stores (Int8Network::live_non_points, in that
/// order), so that replay can start from every point's live set. Empty for a VGG chain.
std::vector<io::ActsLayer> dump_live(const Int8Network& net);

/// Checks that an int8 dump was made by `net`: kind, layer names in order, shapes, pools,
/// scales and zero points, and the same for its live tensors (dump_live).
/// @throws InputError naming the dump, the model and the difference.
void check_dump_matches(const io::ActsHeader& dump,
                        const std::string& dump_path,
                        const Int8Network& net,
                        const std::string& model_path);

/// One stored layer replayed.
struct ReplayLayer {
    std::string name;
    bool approximated = false; ///< codes given for this layer
    LayerCodes codes;
    CodeHistogram before{}; ///< stored codes
    TableEffect effect;     ///< of the layer's table (identity when not approximated)
    LogitStats stats;       ///< suffix replay from this layer vs the teacher
    double seconds = 0.0;   ///< suffix compute time (reading excluded)
};

/// The replay of a whole dump.
struct ReplayReport {
    int64_t images = 0;
    double temperature = 2.0;
    double teacher_seconds = 0.0; ///< the classifier on the last stored layer
    double read_seconds = 0.0;
    std::vector<ReplayLayer> layers;

    nlohmann::json to_json() const;
    std::string table() const;
};

/// Replays every stored layer k from its live set (the layer's codes through
/// `codes.layers[k]` when `codes` is not empty, and the stored tensors a skip carries across
/// it) into the ops after it, in batches of `batch` images. The teacher is the replay of the
/// last layer without a table (exactly the full forward's logits). The dump must have passed
/// check_dump_matches for `net`.
/// `progress(done, total)` counts images replayed, over all layers (total = images * (layers + 1)).
ReplayReport replay_dump(const io::ActsReader& dump,
                         const Int8Network& net,
                         const CodeSet& codes,
                         double temperature,
                         int threads,
                         int64_t batch,
                         const std::function<void(int64_t, int64_t)>& progress = {});

} // namespace triseg::engine
