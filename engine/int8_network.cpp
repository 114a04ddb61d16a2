// Int8Network implementation.
#include "engine/int8_network.h"

#include <exception>

#include <omp.h>

#include "common/error.h"
#include "engine/int8_kernels.h"

namespace triseg::engine {

namespace {

/// Per-thread work memory of one forward pass.
struct Workspace {
    std::vector<uint8_t> a;
    std::vector<uint8_t> b;
    std::vector<int16_t> scratch;
    std::vector<CodeHistogram> histograms;
};

void add_histogram(const uint8_t* codes, int64_t count, CodeHistogram& h) {
    for (int64_t i = 0; i < count; ++i) {
        ++h[codes[i]];
    }
}

} // namespace

Int8Network::Int8Network(models::Int8Model model) : model_(std::move(model)) {
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

Int8Network::~Int8Network() = default;
Int8Network::Int8Network(Int8Network&&) noexcept = default;
Int8Network& Int8Network::operator=(Int8Network&&) noexcept = default;

int64_t Int8Network::input_size() const {
    return model_.model.in_channels * model_.model.image_size * model_.model.image_size;
}

void Int8Network::quantize(const float* images, int64_t n, uint8_t* codes) const {
    quantize_input(images, n * input_size(), model_.input, codes);
}

void Int8Network::forward(const uint8_t* codes,
                          int64_t n,
                          float* logits,
                          const std::vector<const uint8_t*>& tables,
                          std::vector<CodeHistogram>* histograms,
                          int threads) const {
    const auto layers = static_cast<size_t>(num_layers());
    TRISEG_CHECK(tables.empty() || tables.size() == layers, InputError,
                 "got " << tables.size() << " code tables for a network of " << layers
                        << " conv layers");
    if (histograms != nullptr) {
        histograms->assign(layers, CodeHistogram{});
    }
    const int team = threads > 0 ? threads : omp_get_max_threads();
    const int64_t in_size = input_size();
    const int64_t classes = num_classes();
    int64_t max_codes = in_size;
    for (const auto& layer : model_.convs) {
        max_codes = std::max(max_codes, layer.out_channels * model_.model.image_size *
                                            model_.model.image_size);
    }
    std::vector<Workspace> spaces(static_cast<size_t>(team));
    // Exceptions must not cross the OpenMP region: keep the first and rethrow after it.
    std::exception_ptr failure;

#pragma omp parallel num_threads(team)
    {
        Workspace& ws = spaces[static_cast<size_t>(omp_get_thread_num())];
        ws.a.resize(static_cast<size_t>(max_codes));
        ws.b.resize(static_cast<size_t>(max_codes));
        if (histograms != nullptr) {
            ws.histograms.assign(layers, CodeHistogram{});
        }
#pragma omp for schedule(static)
        for (int64_t img = 0; img < n; ++img) {
            try {
                const uint8_t* in = codes + img * in_size;
                uint8_t* cur = ws.a.data();
                uint8_t* next = ws.b.data();
                int64_t side = model_.model.image_size;
                for (size_t i = 0; i < layers; ++i) {
                    const auto& layer = model_.convs[i];
                    const uint8_t* table = tables.empty() ? nullptr : tables[i];
                    const int64_t count = layer.out_channels * side * side;
                    if (histograms != nullptr) {
                        packed_[i]->run(in, side, side, next, nullptr, ws.scratch);
                        add_histogram(next, count, ws.histograms[i]);
                        if (table != nullptr) {
                            for (int64_t k = 0; k < count; ++k) {
                                next[k] = table[next[k]];
                            }
                        }
                    } else {
                        packed_[i]->run(in, side, side, next, table, ws.scratch);
                    }
                    std::swap(cur, next);
                    if (layer.pool_after) {
                        maxpool2x2_u8(cur, layer.out_channels, side, side, next);
                        side /= 2;
                        std::swap(cur, next);
                    }
                    in = cur;
                }
                linear_u8(model_.classifier, in, logits + img * classes);
            } catch (...) {
#pragma omp critical(triseg_int8_failure)
                if (!failure) {
                    failure = std::current_exception();
                }
            }
        }
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    if (histograms != nullptr) {
        for (const auto& ws : spaces) { // integer sums: order does not matter
            for (size_t i = 0; i < ws.histograms.size(); ++i) {
                for (int c = 0; c < 256; ++c) {
                    (*histograms)[i][c] += ws.histograms[i][c];
                }
            }
        }
    }
}

} // namespace triseg::engine
