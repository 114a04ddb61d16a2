// VGG layer tables (Simonyan & Zisserman 2015, configurations A and D).
#include "models/spec/vgg_layout.h"

#include <algorithm>
#include <cmath>

namespace triseg::models {

namespace {
constexpr int64_t kPool = 0; // marks a max-pool in a layout table

const std::vector<int64_t>& base_table(VggArch arch) {
    static const std::vector<int64_t> vgg11 = {64,  kPool, 128,   kPool, 256, 256,  kPool,
                                               512, 512,   kPool, 512,   512, kPool};
    static const std::vector<int64_t> vgg16 = {64,  64,    kPool, 128,   128, kPool,
                                               256, 256,   256,   kPool, 512, 512,
                                               512, kPool, 512,   512,   512, kPool};
    return arch == VggArch::Vgg11 ? vgg11 : vgg16;
}
} // namespace

int64_t scaled_width(int64_t base, double width) {
    return std::max<int64_t>(1, std::llround(static_cast<double>(base) * width));
}

std::string arch_name(VggArch arch) {
    return arch == VggArch::Vgg11 ? "vgg11" : "vgg16";
}

std::vector<VggLayerSpec> vgg_layout(const VggOptions& opts) {
    std::vector<VggLayerSpec> layers;
    int64_t channels = opts.in_channels;
    int stage = 1;
    int index = 1;
    for (int64_t entry : base_table(opts.arch)) {
        if (entry == kPool) {
            layers.back().pool_after = true;
            ++stage;
            index = 1;
            continue;
        }
        VggLayerSpec spec;
        spec.name = "conv" + std::to_string(stage) + "_" + std::to_string(index++);
        spec.in_channels = channels;
        spec.out_channels = scaled_width(entry, opts.width);
        channels = spec.out_channels;
        layers.push_back(spec);
    }
    return layers;
}

} // namespace triseg::models
