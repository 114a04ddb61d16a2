// Int8Network implementation.
#include "engine/int8/int8_network.h"

#include <algorithm>
#include <exception>

#include <omp.h>

#include "common/error.h"
#include "engine/int8/graph_kernels.h"
#include "engine/int8/int8_kernels.h"
#include "io/h5_int8_model.h"
#include "models/spec/vgg_layout.h"

namespace triseg::engine {

namespace {

/// Work memory of the thread that runs images of a forward pass. One per OS thread
/// (thread_local): it is kept between calls, so a call allocates only when it needs more than
/// the thread's earlier calls did, and concurrent calls from different threads (evaluator
/// threads, nested OpenMP teams) never share one.
struct Workspace {
    std::vector<uint8_t> a; ///< one image's tensors (Int8Network's arena)
    std::vector<int16_t> scratch;
    std::vector<int32_t> acc;            ///< accumulators of the portable conv
    std::vector<const uint8_t*> tensors; ///< where each tensor of the current image is
    /// This thread's share of a call's histograms / counts, added to the caller's at the end.
    std::vector<CodeHistogram> histograms;
    std::vector<MapCounts> counts;

    /// Grows a to at least `codes` entries (never shrinks).
    void reserve_codes(int64_t codes) {
        const auto n = static_cast<size_t>(codes);
        if (a.size() < n) {
            a.resize(n);
        }
    }
};

Workspace& thread_workspace() {
    static thread_local Workspace ws;
    return ws;
}

/// Adds the codes to `h`. Four interleaved partial counts: after ReLU most codes are equal
/// (zero), and one counter would serialize on store-to-load forwarding of the same bin.
void add_histogram(const uint8_t* codes, int64_t count, CodeHistogram& h) {
    uint32_t part[4][256] = {};
    int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
        ++part[0][codes[i]];
        ++part[1][codes[i + 1]];
        ++part[2][codes[i + 2]];
        ++part[3][codes[i + 3]];
    }
    for (; i < count; ++i) {
        ++part[0][codes[i]];
    }
    for (int v = 0; v < 256; ++v) {
        h[static_cast<size_t>(v)] +=
            static_cast<int64_t>(part[0][v]) + part[1][v] + part[2][v] + part[3][v];
    }
}

} // namespace

namespace {

/// Whether `op` runs on PackedConv3x3: a 3x3, stride-1, padding-1, one-group conv with ReLU
/// (clamp [zp_out, 255]).
bool packs(const models::Int8Graph& g, const models::Int8Op& op) {
    if (op.kind != models::Int8OpKind::Conv) {
        return false;
    }
    const auto& out = g.tensors[static_cast<size_t>(op.output)];
    return op.kernel == 3 && op.stride == 1 && op.padding == 1 && op.groups == 1 &&
           op.clamp_min == out.quant.zero_point && op.clamp_max == 255;
}

} // namespace

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
        packed_.push_back(
            packs(g, op) ? std::make_unique<PackedConv3x3>(models::conv_layer_of(g, op)) : nullptr);
    }
    for (int32_t t : points_) {
        op_of_point_.push_back(def[static_cast<size_t>(t)]);
    }
    // A point is replayable when every other tensor defined at or before its op (the input
    // included) is dead after it.
    for (size_t p = 0; p < points_.size(); ++p) {
        const int64_t cut = op_of_point_[p];
        bool clean = true;
        for (size_t t = 0; t < g.tensors.size(); ++t) {
            if (static_cast<int32_t>(t) != points_[p] && def[t] <= cut && last_use[t] > cut) {
                clean = false;
            }
        }
        replayable_.push_back(clean);
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
                     << " ops; the search, eval-codes, collect-percentiles, "
                        "analyze-sensitivity and describe run on it");
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

bool Int8Network::replayable(int64_t block) const {
    check_block(block, "block");
    return replayable_[static_cast<size_t>(block)];
}

int64_t Int8Network::replay_start(int64_t block) const {
    check_block(block, "block");
    for (int64_t b = block; b >= 0; --b) {
        if (replayable_[static_cast<size_t>(b)]) {
            return b;
        }
    }
    return -1;
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
    run(-1, codes, n, logits, mapping, nullptr, threads);
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
    Mapping mapping;
    mapping.tables = &tables;
    run(-1, codes, n, logits, mapping, &block_outputs, threads);
}

void Int8Network::forward_from(int64_t first,
                               const uint8_t* codes,
                               int64_t n,
                               float* logits,
                               const std::vector<const uint8_t*>& tables,
                               std::vector<CodeHistogram>* histograms,
                               int threads) const {
    TRISEG_CHECK(first >= 0 && first < num_layers(), InputError,
                 "cannot replay from block " << first << ": the network has blocks 0 .. "
                                             << num_layers() - 1);
    TRISEG_CHECK(replayable_[static_cast<size_t>(first)], InputError,
                 "cannot replay from block " << first << " ('" << names_[static_cast<size_t>(first)]
                                             << "'): a skip connection crosses it (replay from "
                                             << "block " << replay_start(first) << " instead)");
    Mapping mapping;
    mapping.tables = &tables;
    mapping.histograms = histograms;
    run(first, codes, n, logits, mapping, nullptr, threads);
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
    run(-1, codes, n, logits, mapping, nullptr, threads);
}

void Int8Network::forward_from_counted(int64_t first,
                                       const uint8_t* codes,
                                       int64_t n,
                                       float* logits,
                                       const std::vector<LayerCodes>& maps,
                                       std::vector<MapCounts>* counts,
                                       int threads) const {
    TRISEG_CHECK(first >= 0 && first < num_layers(), InputError,
                 "cannot replay from block " << first << ": the network has blocks 0 .. "
                                             << num_layers() - 1);
    TRISEG_CHECK(replayable_[static_cast<size_t>(first)], InputError,
                 "cannot replay from block " << first << " ('" << names_[static_cast<size_t>(first)]
                                             << "'): a skip connection crosses it (replay from "
                                             << "block " << replay_start(first) << " instead)");
    check_maps(maps);
    Mapping mapping;
    mapping.maps = &maps;
    mapping.counts = counts;
    run(first, codes, n, logits, mapping, nullptr, threads);
}

void Int8Network::run(int64_t first,
                      const uint8_t* codes,
                      int64_t n,
                      float* logits,
                      const Mapping& mapping,
                      const std::vector<uint8_t*>* block_outputs,
                      int threads) const {
    const auto layers = static_cast<size_t>(num_layers());
    static const std::vector<const uint8_t*> kNoTables;
    const std::vector<const uint8_t*>& tables =
        mapping.tables != nullptr ? *mapping.tables : kNoTables;
    const std::vector<LayerCodes>* maps = mapping.maps;
    std::vector<CodeHistogram>* histograms = mapping.histograms;
    std::vector<MapCounts>* counts = mapping.counts;
    TRISEG_CHECK(tables.empty() || tables.size() == layers, InputError,
                 "got " << tables.size() << " code tables for a network of " << layers
                        << " layers (approximation points)");
    if (histograms != nullptr) {
        histograms->assign(layers, CodeHistogram{});
    }
    if (counts != nullptr) {
        counts->assign(layers, MapCounts{});
    }
    const auto& g = graph_;
    const int team = threads > 0 ? threads : omp_get_max_threads();
    const int64_t in_size = first < 0 ? input_size() : block_output_size(first);
    // The stored tensor forward_from starts from, and the first op to run.
    const int32_t start_tensor = first < 0 ? 0 : points_[static_cast<size_t>(first)];
    const size_t start_op =
        first < 0 ? 0 : static_cast<size_t>(op_of_point_[static_cast<size_t>(first)]) + 1;
    const int64_t classes = num_classes();
    // Exceptions must not cross the OpenMP region: keep the first and rethrow after it.
    std::exception_ptr failure;

#pragma omp parallel num_threads(team)
    {
        Workspace& ws = thread_workspace();
        ws.reserve_codes(arena_);
        // This thread's histograms / counts (kept between calls: no allocation once warm).
        std::vector<CodeHistogram>* my_histograms = nullptr;
        std::vector<MapCounts>* my_counts = nullptr;
        if (histograms != nullptr) {
            ws.histograms.assign(layers, CodeHistogram{});
            my_histograms = &ws.histograms;
        }
        if (counts != nullptr) {
            ws.counts.assign(layers, MapCounts{});
            my_counts = &ws.counts;
        }
        std::vector<const uint8_t*>& at = ws.tensors;
        at.assign(g.tensors.size(), nullptr);
#pragma omp for schedule(static)
        for (int64_t img = 0; img < n; ++img) {
            try {
                uint8_t* arena = ws.a.data();
                const uint8_t* in = codes + img * in_size;
                if (first >= 0) {
                    // The stored point output: its table or map into its buffer (the stored
                    // codes stay untouched), as the loop below does after the op.
                    const auto f = static_cast<size_t>(first);
                    uint8_t* buf = arena + offset_[static_cast<size_t>(start_tensor)];
                    const uint8_t* table = tables.empty() ? nullptr : tables[f];
                    if (maps != nullptr) {
                        apply_map(isa_, in, buf, in_size, (*maps)[f], nullptr);
                        in = buf;
                    } else if (table != nullptr) {
                        for (int64_t k = 0; k < in_size; ++k) {
                            buf[k] = table[in[k]];
                        }
                        in = buf;
                    }
                }
                at[static_cast<size_t>(start_tensor)] = in;
                for (size_t i = start_op; i < g.ops.size(); ++i) {
                    const models::Int8Op& op = g.ops[i];
                    const models::Int8Tensor& x = g.tensors[static_cast<size_t>(op.inputs[0])];
                    const uint8_t* src = at[static_cast<size_t>(op.inputs[0])];
                    if (op.kind == models::Int8OpKind::Linear) {
                        linear_op_u8(op, x, src, logits + img * classes);
                        continue;
                    }
                    const auto t = static_cast<size_t>(op.output);
                    const models::Int8Tensor& y = g.tensors[t];
                    uint8_t* out = arena + offset_[t];
                    at[t] = out;
                    const int32_t p = point_of_tensor_[t];
                    const auto pi = static_cast<size_t>(p);
                    const uint8_t* table = p < 0 || tables.empty() ? nullptr : tables[pi];
                    uint8_t* keep =
                        p >= 0 && block_outputs != nullptr ? (*block_outputs)[pi] : nullptr;
                    const bool plain =
                        p < 0 || (maps == nullptr && histograms == nullptr && keep == nullptr);
                    // The op itself (a packed conv takes the table when nothing else is due).
                    switch (op.kind) {
                    case models::Int8OpKind::Conv:
                        if (packed_[i] != nullptr) {
                            packed_[i]->run_with(isa_, src, x.height, x.width, out,
                                                 plain ? table : nullptr, ws.scratch);
                            if (plain) {
                                table = nullptr; // applied
                            }
                        } else {
                            conv_u8(op, x, y, src, out, ws.acc);
                        }
                        break;
                    case models::Int8OpKind::Add:
                        add_u8(op, x, g.tensors[static_cast<size_t>(op.inputs[1])], y, src,
                               at[static_cast<size_t>(op.inputs[1])], out);
                        break;
                    case models::Int8OpKind::MaxPool:
                        if (op.kernel == 2 && op.stride == 2 && x.height % 2 == 0 &&
                            x.width % 2 == 0) {
                            maxpool2x2_u8(src, x.channels, x.height, x.width, out);
                        } else {
                            maxpool_u8(op, x, y, src, out);
                        }
                        break;
                    case models::Int8OpKind::AvgPool:
                    case models::Int8OpKind::GlobalAvgPool:
                        avgpool_u8(op, x, y, src, out);
                        break;
                    case models::Int8OpKind::Linear:
                        break;
                    }
                    if (p < 0) {
                        continue;
                    }
                    // The point: its map (and counts), or its histogram, copy and table.
                    const int64_t count = y.size();
                    if (maps != nullptr) {
                        apply_map(isa_, out, out, count, (*maps)[pi],
                                  my_counts != nullptr ? &(*my_counts)[pi] : nullptr);
                        continue;
                    }
                    if (histograms != nullptr) {
                        add_histogram(out, count, (*my_histograms)[pi]);
                    }
                    if (keep != nullptr) {
                        std::copy(out, out + count, keep + img * count);
                    }
                    if (table != nullptr) {
                        for (int64_t k = 0; k < count; ++k) {
                            out[k] = table[out[k]];
                        }
                    }
                }
            } catch (...) {
#pragma omp critical(triseg_int8_failure)
                if (!failure) {
                    failure = std::current_exception();
                }
            }
        }
        // Integer sums: the order in which the threads add does not matter.
        if (my_histograms != nullptr || my_counts != nullptr) {
#pragma omp critical(triseg_int8_sums)
            for (size_t i = 0; i < layers; ++i) {
                if (my_histograms != nullptr) {
                    for (size_t c = 0; c < 256; ++c) {
                        (*histograms)[i][c] += (*my_histograms)[i][c];
                    }
                }
                if (my_counts != nullptr) {
                    (*counts)[i] += (*my_counts)[i];
                }
            }
        }
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
}

} // namespace triseg::engine
