// bench_ppo_update: the cost of the PPO search's own work (sampling and updates), without a
// CNN: PpoSearch runs against the toy objective (search/toy_objectives.h), whose scoring
// is negligible, and the time spent in ask() (sampling a generation) and tell() (where the
// updates happen) is summed separately. Each figure is the median of --rounds runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "common/error.h"
#include "search/ppo_search.h"
#include "search/toy_objectives.h"

namespace {

struct Flags {
    int64_t episodes = 500;
    int64_t layers = 13;
    int64_t generation = 4;
    int64_t rounds = 3;
    std::string policy = "mlp"; ///< ppo.policy
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int run(const Flags& f) {
    using namespace triseg::search;
    using Clock = std::chrono::steady_clock;
    const CodeSpace space{f.layers, 32};
    const SensitivityObjective objective(space, 1);
    std::vector<double> ask_s;
    std::vector<double> tell_s;
    int64_t updates = 0;
    for (int64_t r = 0; r < f.rounds; ++r) {
        PpoOptions options;
        options.policy = f.policy;
        PpoSearch ppo(space, 7, f.generation, options);
        double in_ask = 0.0;
        double in_tell = 0.0;
        int64_t done = 0;
        while (done < f.episodes) {
            auto t = Clock::now();
            auto candidates = ppo.ask();
            in_ask += std::chrono::duration<double>(Clock::now() - t).count();
            candidates.resize(
                std::min<size_t>(candidates.size(), static_cast<size_t>(f.episodes - done)));
            const auto scores = objective(candidates);
            t = Clock::now();
            ppo.tell(candidates, scores);
            in_tell += std::chrono::duration<double>(Clock::now() - t).count();
            done += static_cast<int64_t>(candidates.size());
        }
        ask_s.push_back(in_ask);
        tell_s.push_back(in_tell);
        updates = ppo.updates();
    }
    const double generations = static_cast<double>((f.episodes + f.generation - 1) / f.generation);
    std::printf("PPO (ppo.policy %s) on the toy objective: %lld episodes, %lld layers, "
                "generations of %lld, %lld updates, median of %lld rounds\n",
                f.policy.c_str(), static_cast<long long>(f.episodes),
                static_cast<long long>(f.layers), static_cast<long long>(f.generation),
                static_cast<long long>(updates), static_cast<long long>(f.rounds));
    std::printf("ask  %8.3f s  (%7.3f ms per generation)\n", median(ask_s),
                1e3 * median(ask_s) / generations);
    std::printf("tell %8.3f s  (%7.3f ms per update)\n", median(tell_s),
                updates > 0 ? 1e3 * median(tell_s) / static_cast<double>(updates) : 0.0);
    // What an episode of a real search pays on rank 0 for PPO's own work (compare with the
    // `evaluate` part of the search's `search loop:` line).
    const double episodes = static_cast<double>(f.episodes);
    std::printf("per episode: ask %.3f ms, tell %.3f ms\n", 1e3 * median(ask_s) / episodes,
                1e3 * median(tell_s) / episodes);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    Flags f;
    return triseg::bench::guarded_main("bench_ppo_update", [&] {
        triseg::bench::BenchFlags flags(
            "bench_ppo_update",
            "Time of the PPO search's own sampling (ask) and updates (tell) on the toy\n"
            "objective, without a CNN; medians of --rounds runs.");
        flags.add_int("episodes", f.episodes, 1, "episodes (candidates) per run");
        flags.add_int("layers", f.layers, 1, "layers of the code space");
        flags.add_int("generation", f.generation, 1, "candidates per ask()");
        flags.add_int("rounds", f.rounds, 1, "runs; each figure is their median");
        flags.add_string("policy", f.policy, "mlp|gru", "ppo.policy");
        if (!flags.parse(argc, argv)) {
            return 0;
        }
        return run(f);
    });
}
