// ScoringSet construction.
#include "engine/eval/scoring_set.h"

#include <cstring>
#include <utility>

#include "common/error.h"

namespace triseg::engine {

Int8Inputs select_images(const Int8Inputs& all, const std::vector<int64_t>& indices) {
    Int8Inputs out;
    out.count = static_cast<int64_t>(indices.size());
    out.image_codes = all.image_codes;
    out.codes.resize(static_cast<size_t>(out.count * out.image_codes));
    out.labels.resize(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) {
        const int64_t j = indices[i];
        TRISEG_CHECK(j >= 0 && j < all.count, InputError,
                     "image index " << j << " is outside the " << all.count << " images");
        std::memcpy(out.codes.data() + static_cast<size_t>(i) * out.image_codes,
                    all.codes.data() + static_cast<size_t>(j * all.image_codes),
                    static_cast<size_t>(all.image_codes));
        out.labels[i] = all.labels.empty() ? -1 : all.labels[static_cast<size_t>(j)];
    }
    return out;
}

ScoringSet make_scoring_set(const Int8Network& net,
                            Int8Inputs inputs,
                            std::string name,
                            std::string source,
                            int threads,
                            bool keep_points) {
    ScoringSet s;
    s.name = std::move(name);
    s.source = std::move(source);
    s.inputs = std::move(inputs);
    s.classes = net.num_classes();
    s.teacher_logits.resize(static_cast<size_t>(s.inputs.count * s.classes));
    if (!keep_points) {
        net.forward(s.inputs.codes.data(), s.inputs.count, s.teacher_logits.data(), {}, nullptr,
                    threads);
        return s;
    }
    std::vector<uint8_t*> outputs;
    for (int64_t p = 0; p < net.num_layers(); ++p) {
        s.teacher_points.emplace_back(
            static_cast<size_t>(s.inputs.count * net.block_output_size(p)));
        outputs.push_back(s.teacher_points.back().data());
    }
    // No tables: a point's codes before its table are the exact teacher's.
    net.forward_blocks(s.inputs.codes.data(), s.inputs.count, s.teacher_logits.data(), outputs, {},
                       threads);
    return s;
}

} // namespace triseg::engine
