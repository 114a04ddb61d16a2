// Teacher code histograms.
#include "engine/eval/code_histograms.h"

#include "common/error.h"

namespace triseg::engine {

std::vector<CodeHistogram>
teacher_code_histograms(const Int8Network& net, const ScoringSet& set, int threads) {
    TRISEG_CHECK(set.count() > 0, InputError,
                 "the " << set.name << " set holds no images; its code histograms would be empty");
    TRISEG_CHECK(set.inputs.image_codes == net.input_size(), InputError,
                 "the " << set.name << " set's images have " << set.inputs.image_codes
                        << " codes each; the network takes " << net.input_size());
    std::vector<float> logits(static_cast<size_t>(set.count() * net.num_classes()));
    std::vector<CodeHistogram> histograms;
    net.forward(set.inputs.codes.data(), set.count(), logits.data(), {}, &histograms, threads);
    return histograms;
}

} // namespace triseg::engine
