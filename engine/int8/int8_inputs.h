// Input codes of a whole dataset for the integer network (quantized once, reused).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/int8/int8_network.h"
#include "io/batch_loader.h"
#include "io/image_dataset.h"

namespace triseg::engine {

/// Images as the integer network's input codes, with their labels, in dataset order.
struct Int8Inputs {
    int64_t count = 0;
    int64_t image_codes = 0;     ///< codes per image
    std::vector<uint8_t> codes;  ///< [count][image_codes]
    std::vector<int64_t> labels; ///< [count]
};

/// Pads, normalizes (as `opts` says; it must not shuffle or augment) and quantizes every
/// image of `data` with the network's input quantization.
/// @throws ConfigError when `opts` shuffles or augments; InputError on a size mismatch.
Int8Inputs quantize_dataset(const Int8Network& net,
                            const io::ImageDataset& data,
                            const io::BatchLoaderOptions& opts);

} // namespace triseg::engine
