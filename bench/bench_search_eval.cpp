// bench_search_eval: candidate evaluations per second of triseg's evaluator, the number the
// search's speed rests on; run plainly (LocalEvaluator) or under mpirun (DistributedEvaluator).
//
//   Reward set: the first --images test images of the run's dataset (as bench/eval_loop.py),
//   teacher logits computed once (not timed). Candidates: random valid code sets (tmax 32,
//   seeded). Each round evaluates --batch candidates at once, as one search generation does
//   (batch 1 matches the Python loop, which scores one candidate at a time).
//   After --warmup untimed rounds, --rounds rounds are timed; the last line is
//   `evals_per_s <float>` (candidates per second, over all ranks).
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "cli/config/config.h"
#include "common/error.h"
#include "common/rng.h"
#include "engine/dist/cluster.h"
#include "engine/eval/distributed_evaluator.h"
#include "engine/eval/scoring_set.h"
#include "engine/int8/int8_inputs.h"
#include "engine/int8/int8_network.h"
#include "engine/train/batching.h"
#include "io/dataset_factory.h"
#include "io/h5_int8_model.h"
#include "search/code_space.h"

namespace {

using triseg::bench::usage_error;
using Clock = std::chrono::steady_clock;

constexpr double kTemperature = 2.0;
constexpr int64_t kShardImages = 32;

struct Flags {
    std::string run_dir;
    int64_t threads = 1;
    int64_t images = 256;
    int64_t batch = 1;
    int64_t rounds = 20;
    int64_t warmup = 2;
};

/// Parses argv; exits 0 after --help.
Flags parse(int argc, char** argv) {
    Flags f;
    triseg::bench::BenchFlags flags(
        "bench_search_eval",
        "Candidate evaluations/s of the search's evaluator on the run's integer model:\n"
        "teacher logits cached, each candidate = 13 tables + INT8 forward + KD loss, coverage.\n"
        "Under mpirun every rank scores a share (candidate x 32-image shard units).\n"
        "Last line: evals_per_s <float>.");
    flags.add_string("run-dir", f.run_dir, "DIR", "trained run folder (required)");
    flags.add_int("threads", f.threads, 1, "evaluator threads per rank");
    flags.add_int("images", f.images, 1, "first test images scored per candidate");
    flags.add_int("batch", f.batch, 1, "candidates per round");
    flags.add_int("rounds", f.rounds, 1, "timed rounds");
    flags.add_int("warmup", f.warmup, 0, "untimed rounds");
    if (!flags.parse(argc, argv)) {
        std::exit(0);
    }
    if (f.run_dir.empty()) {
        usage_error("--run-dir is required");
    }
    return f;
}

int run(const Flags& f) {
    namespace engine = triseg::engine;
    namespace io = triseg::io;
    const auto cluster = engine::make_cluster(engine::ClusterKind::Auto);
    const auto cfg = triseg::cli::load_config(f.run_dir + "/config.yaml", {});
    const engine::Int8Network net(io::read_int8_model(f.run_dir + "/int8/model.h5"));
    const auto data = io::load_dataset(cfg.data, 0);
    std::vector<int64_t> first;
    for (int64_t i = 0; i < f.images && i < data.test.count; ++i) {
        first.push_back(i);
    }
    const auto opts = io::make_loader_options(cfg.data, data, 500, false, 0);
    const auto inputs = engine::quantize_dataset(net, data.test.subset(first, "[bench]"), opts);
    const int threads = static_cast<int>(f.threads);
    const auto reward = engine::make_scoring_set(net, inputs, "reward", "bench", threads);
    const auto& holdout = reward;
    engine::DistributedEvaluator evaluator(*cluster, net, reward, holdout, kShardImages,
                                           kTemperature, threads, "bench_search_eval");
    if (!cluster->is_root()) {
        evaluator.serve();
        return 0;
    }
    const triseg::search::CodeSpace space{net.num_layers(), 32};
    auto batch_of = [&](int64_t round) {
        std::vector<engine::CodeSet> batch;
        for (int64_t b = 0; b < f.batch; ++b) {
            triseg::Rng rng(7, static_cast<uint64_t>(round * f.batch + b));
            engine::CodeSet c;
            for (int64_t l = 0; l < space.layers; ++l) {
                c.layers.push_back(space.sample(rng));
            }
            batch.push_back(c);
        }
        return batch;
    };
    for (int64_t r = 0; r < f.warmup; ++r) {
        evaluator.evaluate(batch_of(-1 - r));
    }
    double kd = 0.0;
    const auto t0 = Clock::now();
    for (int64_t r = 0; r < f.rounds; ++r) {
        for (const auto& s : evaluator.evaluate(batch_of(r))) {
            kd += s.kd_loss;
        }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    evaluator.stop();
    const double evals = static_cast<double>(f.rounds * f.batch);
    std::printf("images %lld, ranks %d x threads %lld, batch %lld, %lld candidates in %.3f s, "
                "mean KD %.5f\n",
                static_cast<long long>(reward.count()), cluster->size(),
                static_cast<long long>(threads), static_cast<long long>(f.batch),
                static_cast<long long>(f.rounds * f.batch), seconds, kd / evals);
    std::printf("evals_per_s %.4f\n", evals / seconds);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const triseg::Error& e) {
        std::fprintf(stderr, "bench_search_eval: error: %s\n", e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_search_eval: internal error: %s\n", e.what());
        return 1;
    }
}
