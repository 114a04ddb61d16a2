// Int8Network: exact integer inference of an exported model, with optional code tables.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "models/int8_model.h"

namespace triseg::engine {

class PackedConv3x3;

/// 256-bin histogram of codes, one per conv block.
using CodeHistogram = std::array<int64_t, 256>;

/// The teacher (no tables) and the search student (a table at each block output) in one.
///
///     codes = quantize(normalized image)                       # input codes
///     for block i: codes = table_i[requant_relu(conv_i(codes))]; maxpool when pool_after
///     logits = classifier(codes)
///
/// Every step is integer arithmetic (see models/int8_model.h, engine/requant.h), so the
/// results are identical on every machine and for any thread count. Images are processed in
/// parallel (OpenMP), each by one thread.
class Int8Network {
public:
    /// Packs the weights. @throws InputError when the model is inconsistent.
    explicit Int8Network(models::Int8Model model);
    ~Int8Network();
    Int8Network(Int8Network&&) noexcept;
    Int8Network& operator=(Int8Network&&) noexcept;

    const models::Int8Model& model() const { return model_; }
    /// Codes per input image (C * H * W).
    int64_t input_size() const;
    int64_t num_classes() const { return model_.classifier.out_features; }
    int64_t num_layers() const { return static_cast<int64_t>(model_.convs.size()); }

    /// Quantizes `n` normalized float images (NCHW) to input codes [n][input_size].
    void quantize(const float* images, int64_t n, uint8_t* codes) const;

    /// Logits [n][num_classes] of `n` images given as input codes [n][input_size].
    /// @param tables empty (the teacher), or one entry per block: a 256-entry table or null.
    /// @param histograms when not null, set to one histogram per block of the block's output
    ///        codes before its table (summed over all images and positions).
    /// @param threads OpenMP threads (0 = the current OpenMP default).
    /// @throws InputError when `tables` has the wrong length.
    void forward(const uint8_t* codes,
                 int64_t n,
                 float* logits,
                 const std::vector<const uint8_t*>& tables = {},
                 std::vector<CodeHistogram>* histograms = nullptr,
                 int threads = 0) const;

private:
    models::Int8Model model_;
    std::vector<std::unique_ptr<PackedConv3x3>> packed_;
};

} // namespace triseg::engine
