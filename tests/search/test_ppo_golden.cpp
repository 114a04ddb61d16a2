// PPO golden fixture: a fixed-seed run on the toy objective must reproduce the sampled codes,
// the update statistics and the final network and Adam state stored in
// tests/data/ppo_golden.json, bit for bit. The fixture pins the trajectory across CPUs,
// thread counts and launchers (docs/search.md, "Determinism"); rewrite it after an
// intended change with
//
//     build/tests/test_search --gtest_filter='PpoGolden.*' --regenerate
//
// This file has its own main() (for --regenerate), so gtest_main's is not linked in.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/int8/cpu_features.h"
#include "io/atomic_file.h"
#include "io/content_hash.h"
#include "search/ppo_search.h"
#include "search/toy_objectives.h"

namespace triseg::search {
namespace {

using json = nlohmann::json;

bool g_regenerate = false;

const std::string kFixture = std::string(TRISEG_SOURCE_DIR) + "/tests/data/ppo_golden.json";

constexpr uint64_t kSeed = 11;
constexpr uint64_t kObjectiveSeed = 3;
constexpr int64_t kGeneration = 4;
constexpr int64_t kEpisodes = 20; // 260 transitions: 5 updates of 50, 10 left in the buffer

/// The exact bits of a double, as C's hexadecimal floating point ("%a"); strtod reads it
/// back exactly.
std::string hex(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%a", v);
    return buf;
}

/// A code set as one line: "t1,v1,t2,v2" per layer, separated by spaces.
std::string codes_line(const CodeSet& c) {
    std::string s;
    for (const auto& l : c.layers) {
        s += (s.empty() ? "" : " ") + std::to_string(l.t1) + "," + std::to_string(l.v1) + "," +
             std::to_string(l.t2) + "," + std::to_string(l.v2);
    }
    return s;
}

/// The run, as the fixture stores it.
json golden_run() {
    const CodeSpace space{13, 32};
    const SensitivityObjective objective(space, kObjectiveSeed);
    PpoSearch ppo(space, kSeed, kGeneration, PpoOptions{});
    json codes = json::array();
    int64_t done = 0;
    while (done < kEpisodes) {
        const auto candidates = ppo.ask();
        ppo.tell(candidates, objective(candidates));
        for (const auto& c : candidates) {
            codes.push_back(codes_line(c));
        }
        done += static_cast<int64_t>(candidates.size());
    }
    json updates = json::array();
    for (const auto& record : ppo.take_log()) {
        json u = json::object();
        for (const auto& [name, value] : record.values) {
            u[name] = hex(value);
        }
        updates.push_back(u);
    }
    Checkpoint checkpoint;
    ppo.save(checkpoint);
    json state = json::object();
    for (const char* key : {"ppo/parameters", "ppo/adam_m", "ppo/adam_v", "ppo/buffer"}) {
        state[key] = io::sha256_hex(checkpoint.entries.at(key));
    }
    return {
        {"about",
         "PPO search, default PpoOptions, 13 layers, tmax 32, seed 11, "
         "generations of 4, 20 episodes on SensitivityObjective(seed 3). Codes: "
         "t1,v1,t2,v2 per layer. Doubles are C hex floats (%a); state entries are SHA-256 of the "
         "checkpoint's bytes. Rewrite: test_search --gtest_filter='PpoGolden.*' "
         "--regenerate"},
        {"codes", codes},
        {"updates", updates},
        {"proposal", codes_line(*ppo.proposal())},
        {"state_sha256", state}};
}

TEST(PpoGolden, FixedSeedRunReproducesTheFixtureBitForBit) {
    if (!engine::cpu_features().avx2 || !engine::cpu_features().fma) {
        GTEST_SKIP() << "this CPU lacks AVX2 or FMA, so glibc's libm runs its non-FMA exp/log/"
                        "tanh variants, which may round differently from those the fixture was "
                        "made with (docs/search.md, Determinism)";
    }
    const json got = golden_run();
    if (g_regenerate) {
        io::write_file_atomic(kFixture, got.dump(1) + "\n");
        std::printf("rewrote %s\n", kFixture.c_str());
        return;
    }
    const json want = json::parse(io::read_file(kFixture));
    ASSERT_EQ(got.at("codes").size(), want.at("codes").size());
    for (size_t e = 0; e < want.at("codes").size(); ++e) {
        ASSERT_EQ(got["codes"][e], want["codes"][e]) << "episode " << e;
    }
    ASSERT_EQ(got.at("updates").size(), want.at("updates").size());
    for (size_t u = 0; u < want.at("updates").size(); ++u) {
        for (const auto& [name, value] : want["updates"][u].items()) {
            EXPECT_EQ(got["updates"][u].at(name), value)
                << "update " << u + 1 << " " << name << ": got "
                << std::strtod(got["updates"][u].at(name).get<std::string>().c_str(), nullptr)
                << ", want " << std::strtod(value.get<std::string>().c_str(), nullptr);
        }
    }
    EXPECT_EQ(got.at("proposal"), want.at("proposal"));
    EXPECT_EQ(got.at("state_sha256"), want.at("state_sha256"));
}

} // namespace
} // namespace triseg::search

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--regenerate") == 0) {
            triseg::search::g_regenerate = true;
        } else {
            std::fprintf(stderr,
                         "unknown argument '%s' (this test takes gtest flags and "
                         "--regenerate)\n",
                         argv[i]);
            return 2;
        }
    }
    return RUN_ALL_TESTS();
}
