// bench_replay: cost of suffix replay from a stored block output vs a full forward pass of
// the integer network, same images, same threads, in one run.
//
//   full(k)   = Int8Network::forward on N input codes (all blocks + classifier)
//   suffix(k) = Int8Network::forward_from(k, block k's stored output codes) (blocks k+1 ...)
// Input codes are random (the integer kernels' cost does not depend on the values); the
// block outputs are those of the same images (forward_blocks). Each measurement is the median
// of --rounds rounds, the sides alternating; the ratio suffix/full is printed per block.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "common/error.h"
#include "common/rng.h"
#include "engine/int8/int8_network.h"
#include "io/h5_int8_model.h"

namespace {

using triseg::bench::usage_error;

struct Flags {
    std::string model;
    int64_t images = 1000;
    int64_t threads = 2;
    int64_t rounds = 5;
};

double seconds_of(const std::function<void()>& fn) {
    const auto t = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int run(const Flags& f) {
    using namespace triseg;
    const engine::Int8Network net(io::read_int8_model(f.model));
    Rng rng(1);
    std::vector<uint8_t> input(static_cast<size_t>(f.images * net.input_size()));
    for (auto& c : input) {
        c = static_cast<uint8_t>(rng.uniform_below(256));
    }
    std::vector<std::vector<uint8_t>> blocks(static_cast<size_t>(net.num_layers()));
    std::vector<uint8_t*> ptrs;
    for (int64_t i = 0; i < net.num_layers(); ++i) {
        blocks[static_cast<size_t>(i)].resize(
            static_cast<size_t>(f.images * net.block_output_size(i)));
        ptrs.push_back(blocks[static_cast<size_t>(i)].data());
    }
    std::vector<float> logits(static_cast<size_t>(f.images * net.num_classes()));
    const int threads = static_cast<int>(f.threads);
    net.forward_blocks(input.data(), f.images, logits.data(), ptrs, {}, threads);

    std::printf("model %s, %lld images, %d threads, median of %lld rounds\n", f.model.c_str(),
                static_cast<long long>(f.images), threads, static_cast<long long>(f.rounds));
    std::printf("%-8s %10s %10s %8s\n", "from", "full s", "suffix s", "ratio");
    double sum_ratio = 0.0;
    for (int64_t k = 0; k < net.num_layers(); ++k) {
        std::vector<double> full;
        std::vector<double> suffix;
        for (int64_t r = 0; r < f.rounds; ++r) {
            full.push_back(seconds_of(
                [&] { net.forward(input.data(), f.images, logits.data(), {}, nullptr, threads); }));
            suffix.push_back(seconds_of([&] {
                net.forward_from(k, blocks[static_cast<size_t>(k)].data(), f.images, logits.data(),
                                 {}, nullptr, threads);
            }));
        }
        const double ratio = median(suffix) / median(full);
        sum_ratio += ratio;
        std::printf("%-8s %10.4f %10.4f %8.3f\n",
                    net.model().convs[static_cast<size_t>(k)].name.c_str(), median(full),
                    median(suffix), ratio);
    }
    std::printf("mean ratio over the %lld blocks: %.3f\n", static_cast<long long>(net.num_layers()),
                sum_ratio / static_cast<double>(net.num_layers()));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    Flags f;
    return triseg::bench::guarded_main("bench_replay", [&] {
        triseg::bench::BenchFlags flags(
            "bench_replay",
            "Cost of suffix replay from a stored block output vs a full INT8 forward pass,\n"
            "same images and threads; the ratio suffix/full per block.");
        flags.add_string("model", f.model, "FILE", "the integer model (int8/model.h5), required");
        flags.add_int("images", f.images, 1, "images per pass");
        flags.add_int("threads", f.threads, 1, "Int8Network threads");
        flags.add_int("rounds", f.rounds, 1, "rounds; each figure is their median");
        if (!flags.parse(argc, argv)) {
            return 0;
        }
        if (f.model.empty()) {
            usage_error("--model FILE is required");
        }
        return run(f);
    });
}
