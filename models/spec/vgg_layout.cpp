// VGG layer tables (Simonyan & Zisserman 2015, configurations A and D).
#include "models/spec/vgg_layout.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace triseg::models {

namespace {
constexpr int64_t kPool = 0; // marks a max-pool in a layout table

const std::vector<int64_t>& base_table(ModelArch arch) {
    static const std::vector<int64_t> vgg11 = {64,  kPool, 128,   kPool, 256, 256,  kPool,
                                               512, 512,   kPool, 512,   512, kPool};
    static const std::vector<int64_t> vgg16 = {64,  64,    kPool, 128,   128, kPool,
                                               256, 256,   256,   kPool, 512, 512,
                                               512, kPool, 512,   512,   512, kPool};
    return arch == ModelArch::Vgg11 ? vgg11 : vgg16;
}
} // namespace

int64_t scaled_width(int64_t base, double width) {
    return std::max<int64_t>(1, std::llround(static_cast<double>(base) * width));
}

std::string arch_name(ModelArch arch) {
    switch (arch) {
    case ModelArch::Vgg11:
        return "vgg11";
    case ModelArch::Vgg16:
        return "vgg16";
    case ModelArch::ResNet20:
        return "resnet20";
    case ModelArch::ResNet32:
        return "resnet32";
    case ModelArch::ResNet56:
        return "resnet56";
    case ModelArch::ResNet18:
        return "resnet18";
    case ModelArch::MobileNetV2:
        return "mobilenetv2";
    }
    return "?";
}

std::vector<VggLayerSpec> vgg_layout(const ModelOptions& opts) {
    TRISEG_CHECK(is_vgg(opts.arch), ConfigError,
                 "`model.arch` " << arch_name(opts.arch) << " is not a VGG chain; this stage "
                                 << "runs vgg11 and vgg16 only");
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
