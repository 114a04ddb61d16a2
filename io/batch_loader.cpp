// BatchLoader: deterministic shuffling, padding, augmentation and normalization to float.
#include "io/batch_loader.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "common/error.h"
#include "common/rng.h"
#include "common/rng_streams.h"

namespace triseg::io {
namespace {

constexpr int kLevels = 256;

/// Where one output image reads from its source: output (y, x) shows source row y + dy and
/// column x + dx, or column (width_out - 1 - x) + dx when flipped; outside the source it is
/// a zero pixel.
struct Placement {
    int64_t dy = 0;
    int64_t dx = 0;
    bool flip = false;
};

} // namespace

BatchLoader::BatchLoader(const ImageDataset& data, BatchLoaderOptions opts)
    : data_(data), opts_(std::move(opts)) {
    data_.check();
    TRISEG_CHECK(opts_.batch_size >= 1, ConfigError,
                 "batch size must be >= 1, got " << opts_.batch_size);
    TRISEG_CHECK(opts_.image_size >= data_.height && opts_.image_size >= data_.width, ConfigError,
                 "`data.image_size` must be at least the image size of "
                     << data_.name << " (" << data_.height << "x" << data_.width << "), got "
                     << opts_.image_size);
    TRISEG_CHECK(opts_.crop_padding >= 0, ConfigError,
                 "`data.crop_padding` must be >= 0, got " << opts_.crop_padding);
    const auto channels = static_cast<size_t>(data_.channels);
    TRISEG_CHECK(opts_.mean.size() == channels, ConfigError,
                 "`data.mean` must have one entry per channel of "
                     << data_.name << " (" << channels << "), got " << opts_.mean.size());
    TRISEG_CHECK(opts_.std.size() == channels, ConfigError,
                 "`data.std` must have one entry per channel of " << data_.name << " (" << channels
                                                                  << "), got " << opts_.std.size());
    for (double s : opts_.std) {
        TRISEG_CHECK(s > 0, ConfigError, "`data.std` entries must be > 0, got " << s);
    }
    start_epoch(0);
}

void BatchLoader::start_epoch(int64_t epoch) {
    TRISEG_CHECK(epoch >= 0, ConfigError, "epoch must be >= 0, got " << epoch);
    epoch_ = epoch;
    cursor_ = 0;
    order_.resize(static_cast<size_t>(data_.count));
    std::iota(order_.begin(), order_.end(), int64_t{0});
    if (opts_.shuffle) {
        Rng(opts_.seed, static_cast<uint64_t>(epoch)).shuffle(order_);
    }
}

int64_t BatchLoader::images_per_epoch() const {
    return opts_.drop_last ? data_.count / opts_.batch_size * opts_.batch_size : data_.count;
}

int64_t BatchLoader::batches_per_epoch() const {
    return (images_per_epoch() + opts_.batch_size - 1) / opts_.batch_size;
}

bool BatchLoader::next(Batch& out) {
    const int64_t end = images_per_epoch();
    if (cursor_ >= end) {
        return false;
    }
    const int64_t n = std::min(opts_.batch_size, end - cursor_);
    const int64_t channels = data_.channels;
    const int64_t h = data_.height;
    const int64_t w = data_.width;
    const int64_t side = opts_.image_size;
    const int64_t plane = side * side;
    out.size = n;
    out.channels = channels;
    out.height = side;
    out.width = side;
    out.images.resize(static_cast<size_t>(n * channels * plane));
    out.labels.resize(static_cast<size_t>(n));
    out.indices.resize(static_cast<size_t>(n));

    // (pixel / 255 - mean) / std for every pixel value; index 0 is also the padding value.
    std::vector<float> lut(static_cast<size_t>(channels * kLevels));
    for (int64_t c = 0; c < channels; ++c) {
        for (int v = 0; v < kLevels; ++v) {
            lut[c * kLevels + v] = static_cast<float>((v / 255.0 - opts_.mean[c]) / opts_.std[c]);
        }
    }

    const int64_t top = (side - h) / 2;
    const int64_t left = (side - w) / 2;
    const int64_t pad = opts_.crop_padding;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t index = order_[static_cast<size_t>(cursor_ + i)];
        out.indices[i] = index;
        out.labels[i] = data_.labels[static_cast<size_t>(index)];

        // Centred placement, then (augment) a random crop of the image padded by `pad` on
        // each side and a random flip. The draws depend only on (seed, epoch, index).
        Placement p{-top, -left, false};
        if (opts_.augment) {
            Rng rng(opts_.seed ^ rng_streams::kAugmentSeedXor,
                    static_cast<uint64_t>(epoch_) * static_cast<uint64_t>(data_.count) +
                        static_cast<uint64_t>(index));
            const auto span = static_cast<uint64_t>(2 * pad + 1);
            p.dy += static_cast<int64_t>(rng.uniform_below(span)) - pad;
            p.dx += static_cast<int64_t>(rng.uniform_below(span)) - pad;
            p.flip = opts_.flip && rng.coin();
        }

        // Output rows [y0, y1) and columns [x0, x1) come from the source; the rest is padding.
        // Unflipped source column: x + dx. Flipped: base - x with base = side - 1 + dx.
        const int64_t y0 = std::max<int64_t>(0, -p.dy);
        const int64_t y1 = std::min<int64_t>(side, h - p.dy);
        const int64_t base = side - 1 + p.dx;
        const int64_t x0 =
            p.flip ? std::max<int64_t>(0, base - w + 1) : std::max<int64_t>(0, -p.dx);
        const int64_t x1 =
            p.flip ? std::min<int64_t>(side, base + 1) : std::min<int64_t>(side, w - p.dx);

        const uint8_t* src_image = data_.pixels.data() + index * data_.image_size();
        float* dst_image = out.images.data() + i * channels * plane;
        for (int64_t c = 0; c < channels; ++c) {
            const float* table = lut.data() + c * kLevels;
            const float zero = table[0];
            float* dst_plane = dst_image + c * plane;
            std::fill(dst_plane, dst_plane + plane, zero);
            if (y0 >= y1 || x0 >= x1) {
                continue;
            }
            for (int64_t y = y0; y < y1; ++y) {
                const uint8_t* src = src_image + (c * h + y + p.dy) * w;
                float* dst = dst_plane + y * side;
                if (p.flip) {
                    for (int64_t x = x0; x < x1; ++x) {
                        dst[x] = table[src[base - x]];
                    }
                } else {
                    for (int64_t x = x0; x < x1; ++x) {
                        dst[x] = table[src[x + p.dx]];
                    }
                }
            }
        }
    }
    cursor_ += n;
    return true;
}

} // namespace triseg::io
