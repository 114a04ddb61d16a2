// Int8Network allocates nothing once warm (workspaces are per thread and kept
// between calls): this binary replaces the global operator new to count allocations made
// during a forward pass, on every thread, after a first call of the same shape.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <new>
#include <vector>

#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/int8/int8_network.h"
#include "tests/engine/int8/int8_fixture.h"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_allocations{0};

} // namespace

void* operator new(std::size_t size) {
    if (g_counting.load(std::memory_order_relaxed)) {
        g_allocations.fetch_add(1, std::memory_order_relaxed);
    }
    void* p = std::malloc(size != 0 ? size : 1);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}

void operator delete(void* p) noexcept {
    std::free(p);
}

void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace triseg::engine {
namespace {

constexpr int64_t kImages = 5;

/// Allocations (any thread) made by `fn`.
int64_t allocations_of(const std::function<void()>& fn) {
    g_allocations.store(0);
    g_counting.store(true);
    fn();
    g_counting.store(false);
    return g_allocations.load();
}

struct Fixture {
    Int8Network net{test::random_int8_model(0.125, 51)};
    std::vector<uint8_t> codes;
    std::vector<LayerCodes> maps;
    std::vector<CodeTable> tables;
    std::vector<const uint8_t*> ptrs;
    std::vector<float> logits;

    Fixture() {
        Rng rng(52);
        codes = test::random_codes(kImages * net.input_size(), rng);
        for (int64_t l = 0; l < net.num_layers(); ++l) {
            maps.push_back(test::random_valid_codes(rng));
            tables.push_back(make_table(maps.back(), "l"));
        }
        for (const auto& t : tables) {
            ptrs.push_back(t.data());
        }
        logits.resize(static_cast<size_t>(kImages * net.num_classes()));
    }
};

TEST(Int8NetworkNoAlloc, TheCountingOperatorNewSeesAllocations) {
    // The test below is only meaningful if an allocation would be counted.
    EXPECT_GE(allocations_of([] { std::vector<int> v(100, 1); }), 1);
}

TEST(Int8NetworkNoAlloc, ForwardPassesAllocateNothingOnceWarm) {
    Fixture f;
    std::vector<MapCounts> counts;
    std::vector<CodeHistogram> histograms;
    std::vector<uint8_t> block(static_cast<size_t>(kImages * f.net.block_output_size(4)));
    f.net.forward_counted(f.codes.data(), kImages, f.logits.data(), f.maps, nullptr, 2);
    const std::vector<std::pair<const char*, std::function<void()>>> passes{
        {"teacher",
         [&] { f.net.forward(f.codes.data(), kImages, f.logits.data(), {}, nullptr, 2); }},
        {"tables",
         [&] { f.net.forward(f.codes.data(), kImages, f.logits.data(), f.ptrs, nullptr, 2); }},
        {"histograms",
         [&] { f.net.forward(f.codes.data(), kImages, f.logits.data(), f.ptrs, &histograms, 2); }},
        {"counted",
         [&] {
             f.net.forward_counted(f.codes.data(), kImages, f.logits.data(), f.maps, &counts, 2);
         }},
        {"replay counted",
         [&] {
             f.net.forward_from_counted(4, block.data(), kImages, f.logits.data(), f.maps, &counts,
                                        2);
         }},
    };
    for (const auto& [name, pass] : passes) {
        SCOPED_TRACE(name);
        pass(); // warm: per-thread work memory and the output vectors reach their size
        EXPECT_EQ(allocations_of(pass), 0);
        EXPECT_EQ(allocations_of(pass), 0);
    }
}

} // namespace
} // namespace triseg::engine
