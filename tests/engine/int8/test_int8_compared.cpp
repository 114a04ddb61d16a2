// Int8Network::forward_compared (the search's forward that also measures each point's squared
// distance from the teacher's codes): logits and counts are forward_counted()'s bit for bit,
// and each point's sum is the one computed here from the mapped and the exact codes of every
// point, on a VGG chain, a ResNet and a MobileNetV2, every instruction set and thread count.
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
#include "tests/engine/int8/graph_fixture.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

/// Images per pass; 7 is not divisible by 2 or 3 threads.
constexpr int64_t kImages = 7;

Int8Network network(int which) {
    switch (which) {
    case 0:
        return Int8Network(test::random_int8_model(0.125, 41));
    case 1:
        return Int8Network(test::random_resnet_graph(42));
    default:
        return Int8Network(test::random_mobilenet_graph(43));
    }
}

/// Every point's codes ([kImages][size]) of a forward with `tables` (none: the teacher),
/// before each point's own table.
std::vector<std::vector<uint8_t>> point_codes(const Int8Network& net,
                                              const std::vector<uint8_t>& codes,
                                              const std::vector<const uint8_t*>& tables) {
    std::vector<std::vector<uint8_t>> out;
    std::vector<uint8_t*> ptrs;
    for (int64_t p = 0; p < net.num_layers(); ++p) {
        out.emplace_back(static_cast<size_t>(kImages * net.block_output_size(p)));
        ptrs.push_back(out.back().data());
    }
    std::vector<float> logits(static_cast<size_t>(kImages * net.num_classes()));
    net.forward_blocks(codes.data(), kImages, logits.data(), ptrs, tables, 1);
    return out;
}

class Int8Compared : public ::testing::TestWithParam<int> {};

TEST_P(Int8Compared, SumsAreTheSquaredDistanceOfTheMappedCodesFromTheTeachers) {
    Int8Network net = network(GetParam());
    Rng rng(44);
    const auto codes = test::random_codes(kImages * net.input_size(), rng);
    std::vector<LayerCodes> maps;
    std::vector<CodeTable> tables;
    std::vector<const uint8_t*> table_ptrs;
    for (int64_t p = 0; p < net.num_layers(); ++p) {
        maps.push_back(p == 0 ? test::make_codes(0, 0, 0, 0, 0) // identity: distance 0
                              : test::random_valid_codes(rng));
        tables.push_back(make_table(maps.back(), net.layer_names()[static_cast<size_t>(p)]));
    }
    for (const auto& t : tables) { // after the last push_back: the tables stay where they are
        table_ptrs.push_back(t.data());
    }
    // Computed here: the student's codes at point p are its own table applied to the codes
    // that reach p through the earlier points' tables.
    const auto teacher = point_codes(net, codes, {});
    const auto student = point_codes(net, codes, table_ptrs);
    std::vector<int64_t> want(maps.size(), 0);
    for (size_t p = 0; p < maps.size(); ++p) {
        for (size_t k = 0; k < teacher[p].size(); ++k) {
            const int d = int{tables[p][student[p][k]]} - int{teacher[p][k]};
            want[p] += d * d;
        }
    }
    EXPECT_EQ(want[0], 0);
    int64_t nonzero = 0;
    for (size_t p = 1; p < want.size(); ++p) {
        nonzero += want[p] > 0 ? 1 : 0;
    }
    EXPECT_GE(nonzero, static_cast<int64_t>(want.size()) / 2) << "the maps must change codes";

    std::vector<const uint8_t*> reference;
    for (const auto& t : teacher) {
        reference.push_back(t.data());
    }
    std::vector<float> counted_logits(static_cast<size_t>(kImages * net.num_classes()));
    std::vector<MapCounts> counted;
    net.forward_counted(codes.data(), kImages, counted_logits.data(), maps, &counted, 1);
    for (KernelIsa isa :
         {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512Vnni, KernelIsa::Avx512Zmm}) {
        if (!kernel_isa_supported(isa)) {
            continue;
        }
        net.use_kernel_isa(isa);
        for (int threads : {1, 2, 3}) {
            SCOPED_TRACE(std::string(kernel_isa_name(isa)) + ", threads " +
                         std::to_string(threads));
            std::vector<float> logits(counted_logits.size());
            std::vector<MapCounts> counts;
            std::vector<int64_t> sq_error(2, 99); // stale content must be replaced
            net.forward_compared(codes.data(), kImages, logits.data(), maps, &counts, reference,
                                 sq_error, threads);
            EXPECT_TRUE(test::same_bits(logits, counted_logits));
            EXPECT_EQ(counts, counted);
            EXPECT_EQ(sq_error, want);
        }
    }
}

TEST_P(Int8Compared, ReferenceCodesForAnotherPointCountAreAnInputError) {
    Int8Network net = network(GetParam());
    Rng rng(45);
    const auto codes = test::random_codes(kImages * net.input_size(), rng);
    const std::vector<LayerCodes> maps(static_cast<size_t>(net.num_layers()),
                                       test::make_codes(0, 0, 0, 0, 0));
    std::vector<uint8_t> buffer(static_cast<size_t>(kImages * net.block_output_size(0)));
    const std::vector<const uint8_t*> one{buffer.data()};
    std::vector<float> logits(static_cast<size_t>(kImages * net.num_classes()));
    std::vector<int64_t> sq_error;
    test::expect_error<InputError>(
        [&] {
            net.forward_compared(codes.data(), kImages, logits.data(), maps, nullptr, one, sq_error,
                                 1);
        },
        {"reference codes for 1 points"});
}

INSTANTIATE_TEST_SUITE_P(Families, Int8Compared, ::testing::Values(0, 1, 2), [](const auto& info) {
    return std::string(info.param == 0 ? "Vgg" : info.param == 1 ? "ResNet" : "MobileNet");
});

} // namespace
} // namespace triseg::engine
