// ImageDataset: subsets and invariant checks.
#include "io/image_dataset.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"

namespace triseg::io {

ImageDataset ImageDataset::subset(const std::vector<int64_t>& indices,
                                  const std::string& suffix) const {
    ImageDataset out;
    out.name = name + suffix;
    out.count = static_cast<int64_t>(indices.size());
    out.channels = channels;
    out.height = height;
    out.width = width;
    out.num_classes = num_classes;
    const int64_t bytes = image_size();
    out.pixels.resize(static_cast<size_t>(out.count * bytes));
    out.labels.resize(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) {
        const int64_t src = indices[i];
        TRISEG_CHECK(src >= 0 && src < count, InputError,
                     "index " << src << " is out of range for dataset " << name << " with " << count
                              << " images");
        std::memcpy(out.pixels.data() + static_cast<int64_t>(i) * bytes,
                    pixels.data() + src * bytes, static_cast<size_t>(bytes));
        out.labels[i] = labels[static_cast<size_t>(src)];
    }
    return out;
}

void ImageDataset::check() const {
    TRISEG_CHECK(count >= 0 && channels > 0 && height > 0 && width > 0, InputError,
                 "dataset " << name << " has invalid shape " << count << "x" << channels << "x"
                            << height << "x" << width);
    TRISEG_CHECK(num_classes > 0, InputError,
                 "dataset " << name << " has num_classes " << num_classes << ", expected > 0");
    TRISEG_CHECK(static_cast<int64_t>(pixels.size()) == count * image_size(), InputError,
                 "dataset " << name << " holds " << pixels.size() << " pixel bytes, expected "
                            << count * image_size() << " (" << count << " images of "
                            << image_size() << " bytes)");
    TRISEG_CHECK(static_cast<int64_t>(labels.size()) == count, InputError,
                 "dataset " << name << " holds " << labels.size() << " labels for " << count
                            << " images");
    const auto bad = std::find_if(labels.begin(), labels.end(),
                                  [&](int64_t l) { return l < 0 || l >= num_classes; });
    TRISEG_CHECK(bad == labels.end(), InputError,
                 "dataset " << name << ": label " << (bad == labels.end() ? 0 : *bad)
                            << " of image " << (bad - labels.begin()) << " is outside [0, "
                            << num_classes << ")");
}

} // namespace triseg::io
