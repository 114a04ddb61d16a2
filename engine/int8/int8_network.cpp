// Int8Network implementation.
#include "engine/int8/int8_network.h"

#include <algorithm>
#include <exception>

#include <omp.h>

#include "common/error.h"
#include "engine/int8/int8_kernels.h"
#include "io/h5_int8_model.h"

namespace triseg::engine {

namespace {

/// Work memory of the thread that runs images of a forward pass. One per OS thread
/// (thread_local): it is kept between calls, so a call allocates only when it needs more than
/// the thread's earlier calls did, and concurrent calls from different threads (evaluator
/// threads, nested OpenMP teams) never share one.
struct Workspace {
    std::vector<uint8_t> a;
    std::vector<uint8_t> b;
    std::vector<int16_t> scratch;
    /// This thread's share of a call's histograms / counts, added to the caller's at the end.
    std::vector<CodeHistogram> histograms;
    std::vector<MapCounts> counts;

    /// Grows a and b to at least `codes` entries (never shrinks).
    void reserve_codes(int64_t codes) {
        const auto n = static_cast<size_t>(codes);
        if (a.size() < n) {
            a.resize(n);
            b.resize(n);
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

Int8Network::Int8Network(models::Int8Model model)
    : model_(std::move(model)), isa_(best_kernel_isa()) {
    TRISEG_CHECK(!model_.convs.empty(), InputError, "the integer model has no conv layers");
    for (const auto& layer : model_.convs) {
        packed_.push_back(std::make_unique<PackedConv3x3>(layer));
    }
    validate_int8_linear(model_.classifier);
    int64_t side = model_.model.image_size;
    for (const auto& layer : model_.convs) {
        side /= layer.pool_after ? 2 : 1;
    }
    const int64_t features = model_.convs.back().out_channels * side * side;
    TRISEG_CHECK(model_.classifier.in_features == features, InputError,
                 "the classifier takes " << model_.classifier.in_features << " features but the "
                                         << "last block gives " << features);
}

void Int8Network::use_kernel_isa(KernelIsa isa) {
    TRISEG_CHECK(kernel_isa_supported(isa), InputError,
                 "this CPU cannot run the " << kernel_isa_name(isa) << " conv kernel");
    isa_ = isa;
}

Int8Network load_int8_network(const std::string& path) {
    models::Int8Model model = io::read_int8_model(path);
    try {
        return Int8Network(std::move(model));
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
    return model_.model.in_channels * model_.model.image_size * model_.model.image_size;
}

void Int8Network::quantize(const float* images, int64_t n, uint8_t* codes) const {
    quantize_input(images, n * input_size(), model_.input, codes);
}

int64_t Int8Network::block_side(int64_t block) const {
    TRISEG_CHECK(block >= 0 && block < num_layers(), InputError,
                 "block " << block << " is not in [0, " << num_layers() << ")");
    int64_t side = model_.model.image_size;
    for (int64_t i = 0; i < block; ++i) {
        side /= model_.convs[static_cast<size_t>(i)].pool_after ? 2 : 1;
    }
    return side;
}

int64_t Int8Network::block_output_size(int64_t block) const {
    const int64_t side = block_side(block);
    return model_.convs[static_cast<size_t>(block)].out_channels * side * side;
}

int64_t Int8Network::conv_macs(int64_t block) const {
    const int64_t side = block_side(block);
    const auto& layer = model_.convs[static_cast<size_t>(block)];
    return layer.out_channels * layer.in_channels * 9 * side * side;
}

int64_t Int8Network::classifier_macs() const {
    return model_.classifier.in_features * model_.classifier.out_features;
}

int64_t Int8Network::forward_macs() const {
    int64_t macs = classifier_macs();
    for (int64_t i = 0; i < num_layers(); ++i) {
        macs += conv_macs(i);
    }
    return macs;
}

int64_t Int8Network::forward_from_macs(int64_t first) const {
    TRISEG_CHECK(first >= 0 && first < num_layers(), InputError,
                 "block " << first << " is not in [0, " << num_layers() << ")");
    int64_t macs = classifier_macs();
    for (int64_t i = first + 1; i < num_layers(); ++i) {
        macs += conv_macs(i);
    }
    return macs;
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
                        << num_layers() << " conv layers");
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
    Mapping mapping;
    mapping.tables = &tables;
    mapping.histograms = histograms;
    run(first, codes, n, logits, mapping, nullptr, threads);
}

void Int8Network::check_maps(const std::vector<LayerCodes>& maps) const {
    TRISEG_CHECK(maps.size() == static_cast<size_t>(num_layers()), InputError,
                 "got code maps for " << maps.size() << " layers; the network has " << num_layers()
                                      << " conv layers");
    for (size_t l = 0; l < maps.size(); ++l) {
        validate_map(maps[l], model_.convs[l].name);
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
                        << " conv layers");
    if (histograms != nullptr) {
        histograms->assign(layers, CodeHistogram{});
    }
    if (counts != nullptr) {
        counts->assign(layers, MapCounts{});
    }
    const int team = threads > 0 ? threads : omp_get_max_threads();
    const int64_t in_size = first < 0 ? input_size() : block_output_size(first);
    const int64_t start_side = first < 0 ? model_.model.image_size : block_side(first);
    const auto start = static_cast<size_t>(first + 1);
    const int64_t classes = num_classes();
    int64_t max_codes = in_size;
    for (const auto& layer : model_.convs) {
        max_codes = std::max(max_codes, layer.out_channels * model_.model.image_size *
                                            model_.model.image_size);
    }
    // Exceptions must not cross the OpenMP region: keep the first and rethrow after it.
    std::exception_ptr failure;

#pragma omp parallel num_threads(team)
    {
        Workspace& ws = thread_workspace();
        ws.reserve_codes(max_codes);
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
#pragma omp for schedule(static)
        for (int64_t img = 0; img < n; ++img) {
            try {
                const uint8_t* in = codes + img * in_size;
                uint8_t* cur = ws.a.data();
                uint8_t* next = ws.b.data();
                int64_t side = start_side;
                if (first >= 0) {
                    // The stored block output: its table or map, then its pool, as run below.
                    const auto f = static_cast<size_t>(first);
                    const auto& layer = model_.convs[f];
                    const uint8_t* table = tables.empty() ? nullptr : tables[f];
                    if (maps != nullptr) { // the stored codes stay untouched
                        apply_map(isa_, in, cur, in_size, (*maps)[f], nullptr);
                        in = cur;
                    } else if (table != nullptr) {
                        for (int64_t k = 0; k < in_size; ++k) {
                            cur[k] = table[in[k]];
                        }
                        in = cur;
                    }
                    if (layer.pool_after) {
                        maxpool2x2_u8(in, layer.out_channels, side, side, next);
                        side /= 2;
                        std::swap(cur, next);
                        in = cur;
                    }
                }
                for (size_t i = start; i < layers; ++i) {
                    const auto& layer = model_.convs[i];
                    const uint8_t* table = tables.empty() ? nullptr : tables[i];
                    uint8_t* keep = block_outputs != nullptr ? (*block_outputs)[i] : nullptr;
                    const int64_t count = layer.out_channels * side * side;
                    if (maps != nullptr) {
                        // One vector pass: the map and its counts (no histogram, no table).
                        packed_[i]->run_with(isa_, in, side, side, next, nullptr, ws.scratch);
                        apply_map(isa_, next, next, count, (*maps)[i],
                                  my_counts != nullptr ? &(*my_counts)[i] : nullptr);
                    } else if (histograms != nullptr || keep != nullptr) {
                        packed_[i]->run_with(isa_, in, side, side, next, nullptr, ws.scratch);
                        if (histograms != nullptr) {
                            add_histogram(next, count, (*my_histograms)[i]);
                        }
                        if (keep != nullptr) {
                            std::copy(next, next + count, keep + img * count);
                        }
                        if (table != nullptr) {
                            for (int64_t k = 0; k < count; ++k) {
                                next[k] = table[next[k]];
                            }
                        }
                    } else {
                        packed_[i]->run_with(isa_, in, side, side, next, table, ws.scratch);
                    }
                    std::swap(cur, next);
                    if (layer.pool_after) {
                        maxpool2x2_u8(cur, layer.out_channels, side, side, next);
                        side /= 2;
                        std::swap(cur, next);
                    }
                    in = cur;
                }
                // validated once, in the constructor
                linear_u8_prevalidated(model_.classifier, in, logits + img * classes);
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
