// Input codes: one image's quantization (quantize_input, int8_kernels.h) and a whole dataset's.
#include "engine/int8/int8_inputs.h"

#include <cmath>

#include "common/error.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_layer_checks.h"

namespace triseg::engine {

Int8Inputs quantize_dataset(const Int8Network& net,
                            const io::ImageDataset& data,
                            const io::BatchLoaderOptions& opts) {
    TRISEG_CHECK(!opts.shuffle && !opts.augment, ConfigError,
                 "integer inputs are made in dataset order without augmentation");
    io::BatchLoader loader(data, opts);
    loader.start_epoch(0);
    Int8Inputs in;
    in.image_codes = net.input_size();
    in.codes.resize(static_cast<size_t>(data.count * in.image_codes));
    in.labels.reserve(static_cast<size_t>(data.count));
    io::Batch batch;
    while (loader.next(batch)) {
        TRISEG_CHECK(batch.channels * batch.height * batch.width == in.image_codes, InputError,
                     "images of '" << data.name << "' have " << batch.channels << "x"
                                   << batch.height << "x" << batch.width
                                   << " values but the integer model takes " << in.image_codes);
        net.quantize(batch.images.data(), batch.size, in.codes.data() + in.count * in.image_codes);
        in.labels.insert(in.labels.end(), batch.labels.begin(), batch.labels.end());
        in.count += batch.size;
    }
    return in;
}

void quantize_input(const float* x, int64_t count, models::QuantParams q, uint8_t* out) {
    // A normal scale: 1 / scale of a denormal is inf, and NaN codes are undefined behaviour.
    TRISEG_CHECK(std::isnormal(q.scale) && q.scale > 0.0f, InputError,
                 "input quantization scale must be a normal float > 0, got " << q.scale);
    detail::check_zero_point(q.zero_point, "input quantization");
    const float inv = 1.0f / q.scale;
    const auto zp = static_cast<float>(q.zero_point);
    for (int64_t i = 0; i < count; ++i) {
        TRISEG_CHECK(!std::isnan(x[i]), InputError,
                     "input image value " << i << " is NaN; cannot quantize it");
        float v = std::nearbyint(x[i] * inv) + zp;
        v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
        out[i] = static_cast<uint8_t>(v);
    }
}

} // namespace triseg::engine
