// Int8Network::forward_blocks and forward_from: stored block outputs, and the network replayed
// from any block, reproduce the full forward pass bit for bit (with and without tables).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/int8/int8_network.h"
#include "engine/int8/int8_reference.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

using test::expect_error;

/// The brief's width and an awkward one (odd channel counts).
constexpr double kWidth = 0.125;
constexpr double kAwkwardWidth = 0.09;
/// Images per pass; 7 is not divisible by 2 or 3 threads.
constexpr int64_t kImages = 7;

using test::same_bits;

/// Every block's output codes of `n` images, via forward_blocks, and the logits.
struct Blocks {
    std::vector<std::vector<uint8_t>> outputs;
    std::vector<float> logits;
};

Blocks run_blocks(const Int8Network& net,
                  const std::vector<uint8_t>& codes,
                  int64_t n,
                  const std::vector<const uint8_t*>& tables = {},
                  int threads = 0) {
    Blocks b;
    std::vector<uint8_t*> ptrs;
    for (int64_t i = 0; i < net.num_layers(); ++i) {
        b.outputs.emplace_back(static_cast<size_t>(n * net.block_output_size(i)));
    }
    for (auto& o : b.outputs) {
        ptrs.push_back(o.data());
    }
    b.logits.resize(static_cast<size_t>(n * net.num_classes()));
    net.forward_blocks(codes.data(), n, b.logits.data(), ptrs, tables, threads);
    return b;
}

std::vector<float> run_from(const Int8Network& net,
                            int64_t first,
                            const std::vector<uint8_t>& codes,
                            int64_t n,
                            const std::vector<const uint8_t*>& tables = {},
                            std::vector<CodeHistogram>* histograms = nullptr,
                            int threads = 0) {
    std::vector<float> logits(static_cast<size_t>(n * net.num_classes()));
    net.forward_from(first, codes.data(), n, logits.data(), tables, histograms, threads);
    return logits;
}

std::vector<float> run_full(const Int8Network& net,
                            const std::vector<uint8_t>& codes,
                            int64_t n,
                            const std::vector<const uint8_t*>& tables = {},
                            std::vector<CodeHistogram>* histograms = nullptr) {
    std::vector<float> logits(static_cast<size_t>(n * net.num_classes()));
    net.forward(codes.data(), n, logits.data(), tables, histograms);
    return logits;
}

std::vector<const uint8_t*> random_tables(int64_t layers, Rng& rng, std::vector<CodeTable>& keep) {
    keep.clear();
    for (int64_t i = 0; i < layers; ++i) {
        keep.push_back(make_table(test::random_valid_codes(rng), "l" + std::to_string(i)));
    }
    std::vector<const uint8_t*> ptrs;
    for (const auto& t : keep) {
        ptrs.push_back(t.data());
    }
    return ptrs;
}

class Int8SuffixTest : public ::testing::TestWithParam<double> {
protected:
    Int8SuffixTest()
        : model_(test::random_int8_model(GetParam(), 21)), net_(model_), codes_([this] {
              Rng rng(22);
              return test::random_codes(kImages * net_.input_size(), rng);
          }()) {}

    models::Int8Model model_;
    Int8Network net_;
    std::vector<uint8_t> codes_;
};

TEST_P(Int8SuffixTest, BlockSizesFollowTheLayout) {
    int64_t side = 32;
    for (int64_t i = 0; i < net_.num_layers(); ++i) {
        const auto& l = model_.convs[static_cast<size_t>(i)];
        EXPECT_EQ(net_.block_side(i), side);
        EXPECT_EQ(net_.block_output_size(i), l.out_channels * side * side);
        side /= l.pool_after ? 2 : 1;
    }
}

TEST_P(Int8SuffixTest, ForwardBlocksKeepsLogitsAndStoresPreTableOutputs) {
    Rng rng(23);
    std::vector<CodeTable> keep;
    const auto tables = random_tables(net_.num_layers(), rng, keep);
    for (const auto& t : {std::vector<const uint8_t*>{}, tables}) {
        const Blocks b = run_blocks(net_, codes_, kImages, t);
        std::vector<CodeHistogram> hist;
        EXPECT_TRUE(same_bits(b.logits, run_full(net_, codes_, kImages, t, &hist)));
        // The stored codes are what the histograms count: before the table.
        for (size_t i = 0; i < b.outputs.size(); ++i) {
            CodeHistogram h{};
            for (uint8_t c : b.outputs[i]) {
                ++h[c];
            }
            EXPECT_EQ(h, hist[i]) << model_.convs[i].name;
        }
    }
    // Block 0 from the plain reference kernel, image by image.
    const Blocks b = run_blocks(net_, codes_, kImages);
    const int64_t size0 = net_.block_output_size(0);
    for (int64_t img = 0; img < kImages; ++img) {
        std::vector<uint8_t> y(static_cast<size_t>(size0));
        reference::conv3x3_u8(model_.convs[0], codes_.data() + img * net_.input_size(), 32, 32,
                              y.data(), nullptr);
        EXPECT_TRUE(std::equal(y.begin(), y.end(), b.outputs[0].begin() + img * size0));
    }
}

TEST_P(Int8SuffixTest, ReplayFromEveryBlockReproducesTheFullForwardBitForBit) {
    Rng rng(24);
    std::vector<CodeTable> keep;
    const auto tables = random_tables(net_.num_layers(), rng, keep);
    for (const auto& t : {std::vector<const uint8_t*>{}, tables}) {
        const Blocks b = run_blocks(net_, codes_, kImages, t);
        std::vector<CodeHistogram> full_hist;
        const auto full = run_full(net_, codes_, kImages, t, &full_hist);
        for (int64_t k = 0; k < net_.num_layers(); ++k) {
            SCOPED_TRACE("replay from block " + std::to_string(k));
            std::vector<CodeHistogram> hist;
            const auto& stored = b.outputs[static_cast<size_t>(k)];
            EXPECT_TRUE(same_bits(run_from(net_, k, stored, kImages, t, &hist), full));
            for (int64_t i = 0; i < net_.num_layers(); ++i) {
                const auto& expected = i > k ? full_hist[static_cast<size_t>(i)] : CodeHistogram{};
                EXPECT_EQ(hist[static_cast<size_t>(i)], expected) << "block " << i;
            }
            for (int threads : {1, 2, 3}) {
                EXPECT_TRUE(
                    same_bits(run_from(net_, k, stored, kImages, t, nullptr, threads), full));
            }
        }
    }
}

TEST_P(Int8SuffixTest, ATableOnTheReplayedBlockOnlyEqualsThatTableInTheFullForward) {
    Rng rng(25);
    const Blocks teacher = run_blocks(net_, codes_, kImages);
    for (int64_t k = 0; k < net_.num_layers(); ++k) {
        const CodeTable table = make_table(test::random_valid_codes(rng), "k");
        std::vector<const uint8_t*> one(static_cast<size_t>(net_.num_layers()), nullptr);
        one[static_cast<size_t>(k)] = table.data();
        EXPECT_TRUE(
            same_bits(run_from(net_, k, teacher.outputs[static_cast<size_t>(k)], kImages, one),
                      run_full(net_, codes_, kImages, one)))
            << "block " << k;
    }
}

INSTANTIATE_TEST_SUITE_P(Widths, Int8SuffixTest, ::testing::Values(kWidth, kAwkwardWidth));

TEST(Int8Suffix, BadArgumentsAreErrors) {
    const Int8Network net(test::random_int8_model(kWidth, 26));
    std::vector<uint8_t> codes(static_cast<size_t>(net.block_output_size(0)));
    std::vector<float> logits(static_cast<size_t>(net.num_classes()));
    expect_error<InputError>([&] { net.forward_from(8, codes.data(), 1, logits.data()); },
                             {"block 8", "0 .. 7"});
    expect_error<InputError>([&] { net.forward_from(-1, codes.data(), 1, logits.data()); },
                             {"block -1"});
    const std::vector<const uint8_t*> two(2, nullptr);
    expect_error<InputError>([&] { net.forward_from(0, codes.data(), 1, logits.data(), two); },
                             {"2 code tables", "8 layers"});
    std::vector<uint8_t> input(static_cast<size_t>(net.input_size()));
    expect_error<InputError>(
        [&] { net.forward_blocks(input.data(), 1, logits.data(), std::vector<uint8_t*>(3)); },
        {"3 block output buffers", "8 layers"});
    expect_error<InputError>([&] { net.block_output_size(9); }, {"block 9"});
}

} // namespace
} // namespace triseg::engine
