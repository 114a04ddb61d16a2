// Int8Network: the packed convs, points and buffer plan of a graph, its sizes, and the forward
// entry points (the pass itself: int8_network_run.cpp).
#include "engine/int8/int8_network.h"

#include <utility>

#include "common/error.h"
#include "engine/int8/conv_kernel.h"
#include "engine/int8/int8_kernels.h"
#include "io/h5_int8_model.h"
#include "models/spec/vgg_layout.h"

namespace triseg::engine {

Int8Network::Int8Network(models::Int8Model model)
    : Int8Network([&model] {
          TRISEG_CHECK(!model.convs.empty(), InputError, "the integer model has no conv layers");
          validate_int8_linear(model.classifier);
          int64_t side = model.model.image_size;
          for (const auto& layer : model.convs) {
              validate_int8_conv(layer);
              side /= layer.pool_after ? 2 : 1;
          }
          const int64_t features = model.convs.back().out_channels * side * side;
          TRISEG_CHECK(model.classifier.in_features == features, InputError,
                       "the classifier takes " << model.classifier.in_features
                                               << " features but the last block gives "
                                               << features);
          return models::graph_from_chain(model);
      }()) {}

Int8Network::Int8Network(models::Int8Graph graph)
    : graph_(std::move(graph)), isa_(best_kernel_isa()) {
    models::validate_graph(graph_, "the integer model");
    models::validate_graph_accumulators(graph_, "the integer model");
    prepare();
}

void Int8Network::prepare() {
    const auto& g = graph_;
    if (models::is_chain(g)) {
        chain_ = std::make_unique<models::Int8Model>(models::chain_from_graph(g));
    }
    points_ = models::graph_points(g);
    TRISEG_CHECK(!points_.empty(), InputError,
                 "the integer model has no approximation point (no ReLU output)");
    point_of_tensor_.assign(g.tensors.size(), -1);
    for (size_t p = 0; p < points_.size(); ++p) {
        point_of_tensor_[static_cast<size_t>(points_[p])] = static_cast<int32_t>(p);
        names_.push_back(g.tensors[static_cast<size_t>(points_[p])].name);
    }
    // The op that defines each tensor, and the last op that reads it.
    std::vector<int64_t> def(g.tensors.size(), -1);
    std::vector<int64_t> last_use(g.tensors.size(), -1);
    for (size_t i = 0; i < g.ops.size(); ++i) {
        const auto& op = g.ops[i];
        for (int32_t t : op.inputs) {
            last_use[static_cast<size_t>(t)] = static_cast<int64_t>(i);
        }
        if (op.output >= 0) {
            def[static_cast<size_t>(op.output)] = static_cast<int64_t>(i);
        }
        packed_.push_back(make_conv_kernel(g, op));
    }
    for (int32_t t : points_) {
        op_of_point_.push_back(def[static_cast<size_t>(t)]);
    }
    // The live set of a point: its own tensor, then every other tensor defined at or before
    // its op (the input included) and read after it.
    std::vector<bool> live_somewhere(g.tensors.size(), false);
    for (size_t p = 0; p < points_.size(); ++p) {
        const int64_t cut = op_of_point_[p];
        std::vector<int32_t> live = {points_[p]};
        for (size_t t = 0; t < g.tensors.size(); ++t) {
            if (static_cast<int32_t>(t) != points_[p] && def[t] <= cut && last_use[t] > cut) {
                live.push_back(static_cast<int32_t>(t));
                live_somewhere[t] = true;
            }
        }
        live_.push_back(std::move(live));
    }
    for (size_t t = 0; t < g.tensors.size(); ++t) {
        if (live_somewhere[t] && point_of_tensor_[t] < 0) {
            live_non_points_.push_back(static_cast<int32_t>(t));
        }
    }
    // Buffers: every tensor but the input gets a slot of one image's arena; a slot is free
    // again after the last op that reads its tensor, and is reused by a later tensor that fits.
    struct Slot {
        int64_t offset = 0;
        int64_t size = 0;
        int32_t tensor = -1; ///< -1: free
    };
    std::vector<Slot> slots;
    offset_.assign(g.tensors.size(), -1);
    for (size_t i = 0; i < g.ops.size(); ++i) {
        const auto& op = g.ops[i];
        if (op.output > 0) {
            const int64_t need = g.tensors[static_cast<size_t>(op.output)].size();
            Slot* best = nullptr;
            for (auto& s : slots) {
                if (s.tensor < 0 && s.size >= need && (best == nullptr || s.size < best->size)) {
                    best = &s;
                }
            }
            if (best == nullptr) {
                slots.push_back({arena_, need, -1});
                arena_ += (need + 63) / 64 * 64;
                best = &slots.back();
            }
            best->tensor = op.output;
            offset_[static_cast<size_t>(op.output)] = best->offset;
        }
        for (auto& s : slots) {
            if (s.tensor >= 0 &&
                last_use[static_cast<size_t>(s.tensor)] <= static_cast<int64_t>(i) &&
                s.tensor != op.output) {
                s.tensor = -1;
            }
        }
    }
}

const models::Int8Model& Int8Network::model() const {
    TRISEG_CHECK(chain_ != nullptr, InputError,
                 "this stage runs on VGG chain models (vgg11, vgg16) only, but the integer "
                 "model is a "
                     << models::arch_name(graph_.model.arch) << " graph of " << graph_.ops.size()
                     << " ops; the search, eval-codes, collect-percentiles, analyze-sensitivity, "
                        "analyze-variance, train-ste, dump-acts --kind int8, replay and describe "
                        "run on it");
    return *chain_;
}

void Int8Network::use_kernel_isa(KernelIsa isa) {
    TRISEG_CHECK(kernel_isa_supported(isa), InputError,
                 "this CPU cannot run the " << kernel_isa_name(isa) << " conv kernel");
    isa_ = isa;
}

Int8Network load_int8_network(const std::string& path) {
    models::Int8Graph graph = io::read_int8_graph(path);
    try {
        return Int8Network(std::move(graph));
    } catch (const InputError& e) {
        throw InputError("int8 model '" + path + "' cannot run on the integer runtime: " +
                             e.what() + "; re-export it with `triseg export-int8`",
                         e.where());
    }
}

Int8Network::~Int8Network() = default;
Int8Network::Int8Network(Int8Network&&) noexcept = default;
Int8Network& Int8Network::operator=(Int8Network&&) noexcept = default;

int64_t Int8Network::input_size() const {
    return graph_.tensors[0].size();
}

int64_t Int8Network::num_classes() const {
    return graph_.ops.back().out_channels;
}

void Int8Network::quantize(const float* images, int64_t n, uint8_t* codes) const {
    quantize_input(images, n * input_size(), graph_.input_quant(), codes);
}

void Int8Network::check_block(int64_t block, const char* what) const {
    TRISEG_CHECK(block >= 0 && block < num_layers(), InputError,
                 what << " " << block << " is not in [0, " << num_layers() << ")");
}

const models::Int8Tensor& Int8Network::block_tensor(int64_t block) const {
    check_block(block, "block");
    return graph_.tensors[static_cast<size_t>(points_[static_cast<size_t>(block)])];
}

int64_t Int8Network::block_side(int64_t block) const {
    return block_tensor(block).height;
}

int64_t Int8Network::block_output_size(int64_t block) const {
    return block_tensor(block).size();
}

int64_t Int8Network::conv_macs(int64_t block) const {
    check_block(block, "block");
    return models::op_macs(
        graph_, graph_.ops[static_cast<size_t>(op_of_point_[static_cast<size_t>(block)])]);
}

int64_t Int8Network::classifier_macs() const {
    return models::op_macs(graph_, graph_.ops.back());
}

int64_t Int8Network::forward_macs() const {
    int64_t macs = 0;
    for (const auto& op : graph_.ops) {
        macs += models::op_macs(graph_, op);
    }
    return macs;
}

int64_t Int8Network::forward_from_macs(int64_t first) const {
    check_block(first, "block");
    int64_t macs = 0;
    for (size_t i = static_cast<size_t>(op_of_point_[static_cast<size_t>(first)]) + 1;
         i < graph_.ops.size(); ++i) {
        macs += models::op_macs(graph_, graph_.ops[i]);
    }
    return macs;
}

const std::vector<int32_t>& Int8Network::live_tensors(int64_t block) const {
    check_block(block, "block");
    return live_[static_cast<size_t>(block)];
}

std::vector<int64_t> Int8Network::live_sizes(int64_t block) const {
    std::vector<int64_t> sizes;
    for (int32_t t : live_tensors(block)) {
        sizes.push_back(graph_.tensors[static_cast<size_t>(t)].size());
    }
    return sizes;
}

bool Int8Network::replayable(int64_t block) const {
    return live_tensors(block).size() == 1;
}

void Int8Network::forward(const uint8_t* codes,
                          int64_t n,
                          float* logits,
                          const std::vector<const uint8_t*>& tables,
                          std::vector<CodeHistogram>* histograms,
                          int threads) const {
    Mapping mapping;
    mapping.tables = &tables;
    mapping.histograms = histograms;
    run(-1, &codes, n, logits, mapping, nullptr, threads);
}

void Int8Network::forward_blocks(const uint8_t* codes,
                                 int64_t n,
                                 float* logits,
                                 const std::vector<uint8_t*>& block_outputs,
                                 const std::vector<const uint8_t*>& tables,
                                 int threads) const {
    TRISEG_CHECK(block_outputs.size() == static_cast<size_t>(num_layers()), InputError,
                 "got " << block_outputs.size() << " block output buffers for a network of "
                        << num_layers() << " layers (approximation points)");
    std::vector<uint8_t*> keep(graph_.tensors.size(), nullptr);
    for (size_t p = 0; p < points_.size(); ++p) {
        keep[static_cast<size_t>(points_[p])] = block_outputs[p];
    }
    Mapping mapping;
    mapping.tables = &tables;
    run(-1, &codes, n, logits, mapping, &keep, threads);
}

void Int8Network::forward_tensors(const uint8_t* codes,
                                  int64_t n,
                                  float* logits,
                                  const std::vector<uint8_t*>& tensor_outputs,
                                  const std::vector<const uint8_t*>& tables,
                                  int threads) const {
    TRISEG_CHECK(tensor_outputs.size() == graph_.tensors.size(), InputError,
                 "got " << tensor_outputs.size() << " tensor output buffers for a graph of "
                        << graph_.tensors.size() << " tensors");
    Mapping mapping;
    mapping.tables = &tables;
    run(-1, &codes, n, logits, mapping, &tensor_outputs, threads);
}

void Int8Network::check_first(int64_t first) const {
    TRISEG_CHECK(first >= 0 && first < num_layers(), InputError,
                 "cannot replay from block " << first << ": the network has blocks 0 .. "
                                             << num_layers() - 1);
}

void Int8Network::check_live(int64_t first, const std::vector<const uint8_t*>& live) const {
    check_first(first);
    const auto& want = live_[static_cast<size_t>(first)];
    TRISEG_CHECK(live.size() == want.size(), InputError,
                 "got " << live.size() << " live tensor buffers to replay from block " << first
                        << " ('" << names_[static_cast<size_t>(first)] << "'), whose live set has "
                        << want.size());
}

void Int8Network::check_alone(int64_t first) const {
    check_first(first);
    std::string others;
    for (size_t j = 1; j < live_[static_cast<size_t>(first)].size(); ++j) {
        others += (others.empty() ? "'" : ", '") +
                  graph_.tensors[static_cast<size_t>(live_[static_cast<size_t>(first)][j])].name +
                  "'";
    }
    TRISEG_CHECK(others.empty(), InputError,
                 "cannot replay from block "
                     << first << " ('" << names_[static_cast<size_t>(first)]
                     << "') from its codes alone: a skip connection crosses it, carrying " << others
                     << " (pass its whole live set, Int8Network::live_tensors)");
}

void Int8Network::forward_from(int64_t first,
                               const std::vector<const uint8_t*>& live,
                               int64_t n,
                               float* logits,
                               const std::vector<const uint8_t*>& tables,
                               std::vector<CodeHistogram>* histograms,
                               int threads) const {
    check_live(first, live);
    Mapping mapping;
    mapping.tables = &tables;
    mapping.histograms = histograms;
    run(first, live.data(), n, logits, mapping, nullptr, threads);
}

void Int8Network::forward_from(int64_t first,
                               const uint8_t* codes,
                               int64_t n,
                               float* logits,
                               const std::vector<const uint8_t*>& tables,
                               std::vector<CodeHistogram>* histograms,
                               int threads) const {
    check_alone(first);
    Mapping mapping;
    mapping.tables = &tables;
    mapping.histograms = histograms;
    run(first, &codes, n, logits, mapping, nullptr, threads);
}

void Int8Network::check_maps(const std::vector<LayerCodes>& maps) const {
    TRISEG_CHECK(maps.size() == static_cast<size_t>(num_layers()), InputError,
                 "got code maps for " << maps.size() << " layers; the network has " << num_layers()
                                      << " layers (approximation points)");
    for (size_t l = 0; l < maps.size(); ++l) {
        validate_map(maps[l], names_[l]);
    }
}

void Int8Network::forward_counted(const uint8_t* codes,
                                  int64_t n,
                                  float* logits,
                                  const std::vector<LayerCodes>& maps,
                                  std::vector<MapCounts>* counts,
                                  int threads) const {
    check_maps(maps);
    Mapping mapping;
    mapping.maps = &maps;
    mapping.counts = counts;
    run(-1, &codes, n, logits, mapping, nullptr, threads);
}

void Int8Network::forward_compared(const uint8_t* codes,
                                   int64_t n,
                                   float* logits,
                                   const std::vector<LayerCodes>& maps,
                                   std::vector<MapCounts>* counts,
                                   const std::vector<const uint8_t*>& reference,
                                   std::vector<int64_t>& sq_error,
                                   int threads) const {
    check_maps(maps);
    TRISEG_CHECK(reference.size() == static_cast<size_t>(num_layers()), InputError,
                 "got reference codes for " << reference.size() << " points; the network has "
                                            << num_layers());
    Mapping mapping;
    mapping.maps = &maps;
    mapping.counts = counts;
    mapping.reference = &reference;
    mapping.sq_error = &sq_error;
    run(-1, &codes, n, logits, mapping, nullptr, threads);
}

void Int8Network::forward_from_counted(int64_t first,
                                       const std::vector<const uint8_t*>& live,
                                       int64_t n,
                                       float* logits,
                                       const std::vector<LayerCodes>& maps,
                                       std::vector<MapCounts>* counts,
                                       int threads) const {
    check_live(first, live);
    check_maps(maps);
    Mapping mapping;
    mapping.maps = &maps;
    mapping.counts = counts;
    run(first, live.data(), n, logits, mapping, nullptr, threads);
}

void Int8Network::forward_from_counted(int64_t first,
                                       const uint8_t* codes,
                                       int64_t n,
                                       float* logits,
                                       const std::vector<LayerCodes>& maps,
                                       std::vector<MapCounts>* counts,
                                       int threads) const {
    check_alone(first);
    check_maps(maps);
    Mapping mapping;
    mapping.maps = &maps;
    mapping.counts = counts;
    run(first, &codes, n, logits, mapping, nullptr, threads);
}

} // namespace triseg::engine
