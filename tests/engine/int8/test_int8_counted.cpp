// Int8Network::forward_counted and forward_from_counted (the search's forward): the logits are
// forward()'s with make_table tables bit for bit, and the counts are map_counts of forward()'s
// histograms, on every instruction set, thread count, width and replay block.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/int8/code_map.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_network.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

using test::expect_error;
using test::same_bits;

/// Images per pass; 7 is not divisible by 2 or 3 threads.
constexpr int64_t kImages = 7;

/// Maps (random valid codes, plus edge maps on the first blocks) and their tables.
struct Maps {
    std::vector<LayerCodes> maps;
    std::vector<CodeTable> tables;
    std::vector<const uint8_t*> ptrs;
};

Maps random_maps(int64_t layers, Rng& rng) {
    Maps m;
    for (int64_t i = 0; i < layers; ++i) {
        m.maps.push_back(test::random_valid_codes(rng));
    }
    m.maps[0] = test::make_codes(0, 0, 0, 0, 0);      // identity
    m.maps[1] = test::make_codes(2, 0, 6, 0, 12);     // zeros as values
    m.maps[2] = test::make_codes(10, 200, 40, 3, 40); // values outside their segments
    for (size_t i = 0; i < m.maps.size(); ++i) {
        m.tables.push_back(make_table(m.maps[i], "l" + std::to_string(i)));
    }
    for (const auto& t : m.tables) {
        m.ptrs.push_back(t.data());
    }
    return m;
}

/// map_counts of each block's histogram.
std::vector<MapCounts> counts_of(const std::vector<CodeHistogram>& histograms,
                                 const std::vector<LayerCodes>& maps,
                                 int64_t from_block = 0) {
    std::vector<MapCounts> out(histograms.size());
    for (size_t i = static_cast<size_t>(from_block); i < histograms.size(); ++i) {
        out[i] = map_counts(histograms[i], maps[i]);
    }
    return out;
}

std::vector<KernelIsa> supported_isas() {
    std::vector<KernelIsa> out;
    for (KernelIsa isa :
         {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512Vnni, KernelIsa::Avx512Zmm}) {
        if (kernel_isa_supported(isa)) {
            out.push_back(isa);
        }
    }
    return out;
}

class Int8CountedTest : public ::testing::TestWithParam<double> {
protected:
    Int8CountedTest()
        : model_(test::random_int8_model(GetParam(), 31)), net_(model_), codes_([this] {
              Rng rng(32);
              return test::random_codes(kImages * net_.input_size(), rng);
          }()) {}

    std::vector<float> logits() const {
        return std::vector<float>(static_cast<size_t>(kImages * net_.num_classes()));
    }

    models::Int8Model model_;
    Int8Network net_;
    std::vector<uint8_t> codes_;
};

TEST_P(Int8CountedTest, LogitsAndCountsEqualTheTablesAndHistogramsPath) {
    Rng rng(33);
    const Maps m = random_maps(net_.num_layers(), rng);
    auto want = logits();
    std::vector<CodeHistogram> hist;
    net_.forward(codes_.data(), kImages, want.data(), m.ptrs, &hist, 1);
    const auto want_counts = counts_of(hist, m.maps);
    for (KernelIsa isa : supported_isas()) {
        net_.use_kernel_isa(isa);
        for (int threads : {1, 2, 3}) {
            SCOPED_TRACE(std::string(kernel_isa_name(isa)) + ", threads " +
                         std::to_string(threads));
            auto got = logits();
            std::vector<MapCounts> counts(2); // stale content must be replaced
            counts[0].codes = 99;
            net_.forward_counted(codes_.data(), kImages, got.data(), m.maps, &counts, threads);
            EXPECT_TRUE(same_bits(got, want));
            EXPECT_EQ(counts, want_counts);
            auto uncounted = logits();
            net_.forward_counted(codes_.data(), kImages, uncounted.data(), m.maps, nullptr,
                                 threads);
            EXPECT_TRUE(same_bits(uncounted, want));
        }
    }
}

TEST_P(Int8CountedTest, CountsAreNotTrivial) {
    // Every block's codes are partly changed, zeroed and covered, and partly not, so that
    // the equality above checks the counts, not zeros.
    Rng rng(34);
    const Maps m = random_maps(net_.num_layers(), rng);
    auto got = logits();
    std::vector<MapCounts> counts;
    net_.forward_counted(codes_.data(), kImages, got.data(), m.maps, &counts, 2);
    ASSERT_EQ(counts.size(), static_cast<size_t>(net_.num_layers()));
    for (int64_t i = 3; i < net_.num_layers(); ++i) {
        const auto& c = counts[static_cast<size_t>(i)];
        SCOPED_TRACE("block " + std::to_string(i));
        EXPECT_EQ(c.codes, kImages * net_.block_output_size(i));
        EXPECT_GT(c.changed, 0);
        EXPECT_GT(c.zeroed, 0);
        EXPECT_GT(c.covered, c.changed);
        EXPECT_LT(c.covered, c.codes);
    }
    EXPECT_EQ(counts[0].changed, 0); // the identity map changes nothing
}

TEST_P(Int8CountedTest, ReplayFromEveryBlockEqualsForwardFromWithTables) {
    Rng rng(35);
    const Maps m = random_maps(net_.num_layers(), rng);
    // Stored pre-table block outputs of the anchor = these maps' tables.
    std::vector<std::vector<uint8_t>> outputs;
    std::vector<uint8_t*> ptrs;
    for (int64_t i = 0; i < net_.num_layers(); ++i) {
        outputs.emplace_back(static_cast<size_t>(kImages * net_.block_output_size(i)));
    }
    for (auto& o : outputs) {
        ptrs.push_back(o.data());
    }
    auto full = logits();
    net_.forward_blocks(codes_.data(), kImages, full.data(), ptrs, m.ptrs, 2);
    for (KernelIsa isa : supported_isas()) {
        net_.use_kernel_isa(isa);
        for (int64_t k = 0; k < net_.num_layers(); ++k) {
            SCOPED_TRACE(std::string(kernel_isa_name(isa)) + ", from block " + std::to_string(k));
            auto want = logits();
            std::vector<CodeHistogram> hist;
            net_.forward_from(k, outputs[static_cast<size_t>(k)].data(), kImages, want.data(),
                              m.ptrs, &hist, 1);
            EXPECT_TRUE(same_bits(want, full));
            for (int threads : {1, 3}) {
                auto got = logits();
                std::vector<MapCounts> counts;
                net_.forward_from_counted(k, outputs[static_cast<size_t>(k)].data(), kImages,
                                          got.data(), m.maps, &counts, threads);
                EXPECT_TRUE(same_bits(got, full));
                EXPECT_EQ(counts, counts_of(hist, m.maps, k + 1));
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Widths, Int8CountedTest, ::testing::Values(0.125, 0.09));

TEST(Int8Counted, BadMapsAreInputErrors) {
    const Int8Network net(test::random_int8_model(0.125, 36));
    Rng rng(37);
    const auto codes = test::random_codes(net.input_size(), rng);
    std::vector<float> logits(static_cast<size_t>(net.num_classes()));
    std::vector<LayerCodes> maps(static_cast<size_t>(net.num_layers()),
                                 test::make_codes(2, 4, 6, 8, 12));
    std::vector<LayerCodes> short_maps(maps.begin(), maps.end() - 1);
    expect_error<InputError>(
        [&] { net.forward_counted(codes.data(), 1, logits.data(), short_maps, nullptr); },
        {"got code maps for 7 layers; the network has 8 layers"});
    std::vector<LayerCodes> broken = maps;
    broken[3] = test::make_codes(9, 4, 6, 8, 12); // t1 > t2
    expect_error<InputError>(
        [&] { net.forward_counted(codes.data(), 1, logits.data(), broken, nullptr); },
        {net.model().convs[3].name, "not a valid tri-segment map"});
    expect_error<InputError>(
        [&] {
            net.forward_from_counted(net.num_layers(), codes.data(), 1, logits.data(), maps,
                                     nullptr);
        },
        {"cannot replay from block 8"});
}

} // namespace
} // namespace triseg::engine
