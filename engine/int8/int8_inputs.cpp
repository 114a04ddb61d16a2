// Dataset quantization for the integer network.
#include "engine/int8/int8_inputs.h"

#include "common/error.h"

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

} // namespace triseg::engine
