// apply_map and map_counts: the vector map equals make_table's lookup code for code, and its
// counts equal the histogram's, on every instruction set, length, edge map and in place.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/int8/code_map.h"
#include "engine/int8/int8_kernels.h"
#include "tests/engine/int8/int8_fixture.h"

namespace triseg::engine {
namespace {

using test::make_codes;

/// The ISAs this machine can run (Portable always).
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

/// The counts by their definition, code by code.
MapCounts direct_counts(const std::vector<uint8_t>& codes, const LayerCodes& map) {
    const CodeTable t = make_table(map, "direct");
    MapCounts c;
    for (uint8_t v : codes) {
        c.codes += 1;
        c.changed += t[v] != v;
        c.zeroed += v != 0 && t[v] == 0;
        c.covered += v <= map.tmax;
    }
    return c;
}

CodeHistogram histogram_of(const std::vector<uint8_t>& codes) {
    CodeHistogram h{};
    for (uint8_t v : codes) {
        ++h[v];
    }
    return h;
}

/// Edge maps: identity (tmax 0), empty segments, values on and outside their segments, zeros
/// as values, the top code.
std::vector<LayerCodes> edge_maps() {
    return {make_codes(0, 0, 0, 0, 0),         make_codes(0, 7, 0, 9, 255),
            make_codes(5, 5, 5, 5, 5),         make_codes(2, 0, 6, 0, 12),
            make_codes(10, 200, 40, 3, 40),    make_codes(255, 1, 255, 2, 255),
            make_codes(3, 4, 100, 101, 101),   make_codes(4, 12, 10, 255, 254),
            make_codes(0, 128, 127, 255, 255), make_codes(1, 1, 2, 2, 2)};
}

/// Lengths around the 64-code vectors and the 255-vector flush of the byte counters.
const std::vector<int64_t> kLengths = {0, 1, 63, 64, 65, 129, 255 * 64, 255 * 64 + 1, 600 * 64 + 5};

void expect_map_matches_table(const std::vector<uint8_t>& codes, const LayerCodes& map) {
    const CodeTable t = make_table(map, "expected");
    std::vector<uint8_t> expected(codes.size());
    for (size_t i = 0; i < codes.size(); ++i) {
        expected[i] = t[codes[i]];
    }
    const MapCounts want = direct_counts(codes, map);
    const auto n = static_cast<int64_t>(codes.size());
    for (KernelIsa isa : supported_isas()) {
        SCOPED_TRACE(std::string("isa ") + kernel_isa_name(isa));
        std::vector<uint8_t> out(codes.size(), 0xAB);
        MapCounts got;
        got.codes = 5; // counts are added, not assigned
        apply_map(isa, codes.data(), out.data(), n, map, &got);
        EXPECT_EQ(out, expected);
        EXPECT_EQ(got.codes, want.codes + 5);
        got.codes -= 5;
        EXPECT_EQ(got, want);
        std::vector<uint8_t> in_place = codes;
        apply_map(isa, in_place.data(), in_place.data(), n, map, nullptr);
        EXPECT_EQ(in_place, expected);
    }
}

TEST(CodeMap, EveryCodeOfEveryEdgeMapEqualsTheTable) {
    std::vector<uint8_t> all;
    for (int rep = 0; rep < 3; ++rep) { // 768 codes: every code in vector lanes and the tail
        for (int v = 0; v < 256; ++v) {
            all.push_back(static_cast<uint8_t>(v));
        }
    }
    all.push_back(255);
    for (const auto& map : edge_maps()) {
        SCOPED_TRACE(to_string(map));
        expect_map_matches_table(all, map);
    }
}

TEST(CodeMap, RandomCodesAndMapsAtEveryLengthEqualTheTableAndTheHistogram) {
    Rng rng(3);
    for (int64_t n : kLengths) {
        SCOPED_TRACE("n " + std::to_string(n));
        const std::vector<uint8_t> codes = test::random_codes(n, rng);
        const LayerCodes map = test::random_valid_codes(rng);
        SCOPED_TRACE(to_string(map));
        expect_map_matches_table(codes, map);
        EXPECT_EQ(map_counts(histogram_of(codes), map), direct_counts(codes, map));
    }
}

TEST(CodeMap, LongRunsOfOneCodeOverflowNoByteCounter) {
    // Mostly one code (as after ReLU: zeros), so every byte lane would wrap without flushes.
    const LayerCodes map = make_codes(4, 6, 10, 12, 20);
    for (uint8_t v : {uint8_t{0}, uint8_t{3}, uint8_t{7}, uint8_t{15}, uint8_t{200}}) {
        SCOPED_TRACE("code " + std::to_string(v));
        std::vector<uint8_t> codes(static_cast<size_t>(1000 * 64 + 17), v);
        codes[12345] = 9;
        expect_map_matches_table(codes, map);
    }
}

TEST(CodeMap, MapCountsOfAHistogramFollowTheDefinition) {
    Rng rng(4);
    const std::vector<uint8_t> codes = test::random_codes(5000, rng);
    for (const auto& map : edge_maps()) {
        SCOPED_TRACE(to_string(map));
        EXPECT_EQ(map_counts(histogram_of(codes), map), direct_counts(codes, map));
    }
    EXPECT_EQ(map_counts(CodeHistogram{}, make_codes(2, 4, 6, 8, 12)), MapCounts{});
}

TEST(CodeMap, CountsAdd) {
    MapCounts a;
    a.codes = 1;
    a.changed = 2;
    a.zeroed = 3;
    a.covered = 4;
    MapCounts b = a;
    b += a;
    EXPECT_EQ(b.codes, 2);
    EXPECT_EQ(b.changed, 4);
    EXPECT_EQ(b.zeroed, 6);
    EXPECT_EQ(b.covered, 8);
    EXPECT_FALSE(a == b);
}

} // namespace
} // namespace triseg::engine
