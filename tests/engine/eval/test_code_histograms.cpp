// teacher_code_histograms: exact counts of the teacher's block-output codes, for any thread
// count and any split of the images.
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/rng.h"
#include "engine/eval/code_histograms.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

struct Fixture {
    Int8Network net{test::random_int8_model(0.125, 17)};
    Int8Inputs all;

    Fixture() {
        Rng rng(9);
        all.count = 13; // odd, so threads get unequal shares
        all.image_codes = net.input_size();
        all.codes = test::random_codes(all.count * all.image_codes, rng);
        all.labels.assign(static_cast<size_t>(all.count), 0);
    }
    ScoringSet set(const std::vector<int64_t>& images) const {
        return make_scoring_set(net, select_images(all, images), "reward", "test", 1);
    }
};

std::vector<int64_t> range(int64_t lo, int64_t hi) {
    std::vector<int64_t> v;
    for (int64_t i = lo; i < hi; ++i) {
        v.push_back(i);
    }
    return v;
}

TEST(CodeHistograms, CountTheTeachersBlockOutputsExactly) {
    const Fixture f;
    const auto set = f.set(range(0, f.all.count));
    const auto h = teacher_code_histograms(f.net, set, 1);
    ASSERT_EQ(static_cast<int64_t>(h.size()), f.net.num_layers());
    // The same counts from the stored block outputs of forward_blocks.
    std::vector<std::vector<uint8_t>> outputs(static_cast<size_t>(f.net.num_layers()));
    std::vector<uint8_t*> ptrs;
    for (int64_t b = 0; b < f.net.num_layers(); ++b) {
        outputs[static_cast<size_t>(b)].resize(
            static_cast<size_t>(set.count() * f.net.block_output_size(b)));
        ptrs.push_back(outputs[static_cast<size_t>(b)].data());
    }
    std::vector<float> logits(static_cast<size_t>(set.count() * f.net.num_classes()));
    f.net.forward_blocks(set.inputs.codes.data(), set.count(), logits.data(), ptrs, {}, 1);
    for (size_t b = 0; b < h.size(); ++b) {
        CodeHistogram expected{};
        for (uint8_t c : outputs[b]) {
            ++expected[c];
        }
        EXPECT_EQ(h[b], expected) << "block " << b;
        int64_t total = 0;
        for (int64_t n : h[b]) {
            total += n;
        }
        EXPECT_EQ(total, set.count() * f.net.block_output_size(static_cast<int64_t>(b)));
    }
    EXPECT_EQ(logits, set.teacher_logits); // the teacher: no tables
}

TEST(CodeHistograms, AreTheSameForAnyThreadCountAndAddUpOverSplits) {
    const Fixture f;
    const auto set = f.set(range(0, f.all.count));
    const auto one = teacher_code_histograms(f.net, set, 1);
    EXPECT_EQ(teacher_code_histograms(f.net, set, 2), one);
    EXPECT_EQ(teacher_code_histograms(f.net, set, 3), one);
    // Two ranks could each count a part and sum: the counts add up exactly.
    const auto a = teacher_code_histograms(f.net, f.set(range(0, 5)), 2);
    const auto b = teacher_code_histograms(f.net, f.set(range(5, f.all.count)), 3);
    for (size_t l = 0; l < one.size(); ++l) {
        for (size_t c = 0; c < 256; ++c) {
            EXPECT_EQ(a[l][c] + b[l][c], one[l][c]);
        }
    }
}

TEST(CodeHistograms, AnEmptySetIsAnInputError) {
    const Fixture f;
    ScoringSet empty;
    empty.name = "reward";
    empty.inputs.image_codes = f.net.input_size();
    test::expect_error<InputError>([&] { teacher_code_histograms(f.net, empty, 1); },
                                   {"reward set holds no images"});
}

} // namespace
} // namespace triseg::engine
