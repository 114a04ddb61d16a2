// ImageSplit: which split of a dataset a set of images is drawn from.
#pragma once

#include <string>

namespace triseg::engine {

/// Where the images of a scoring set come from. Config values: train, test.
enum class ImageSplit { Train, Test };

/// "train" or "test".
inline std::string split_name(ImageSplit s) {
    return s == ImageSplit::Train ? "train" : "test";
}

} // namespace triseg::engine
