// bench_int8_inference: INT8 vs float inference throughput of one model, and the cost of one
// candidate evaluation of the search, in one run.
//
//   (a) float = VggImpl::forward (eval, no grad) on a fixed [batch,C,H,W] tensor;
//       int8  = Int8Network::forward (no tables) on the same batch quantized once beforehand
//       (the search caches the codes); quantize() is timed on its own. The two sides alternate
//       for --rounds rounds; the median images/s of each side and their ratio are printed.
//   (b) one candidate = make_table for every layer of evenly_spaced_codes(32)
//       + Int8Network::forward with those tables on the batch + logit_stats (KD, T = 2)
//       against teacher logits computed once. Median ms per candidate over --iters candidates.
//   (c) candidate/forward: in every round, the bare int8 forward (no tables), the search's
//       scorer (CandidateScorer::score_units: maps applied and counted in the forward), the
//       candidate of (b), and the histogram path the scorer used before its single pass, each as
//       its time over the forward's; medians over --rounds (see candidate_ratios).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench/bench_flags.h"
#include "common/error.h"
#include "engine/core/code_set.h"
#include "engine/eval/candidate_scorer.h"
#include "engine/eval/scoring_set.h"
#include "engine/int8/code_map.h"
#include "engine/int8/int8_network.h"
#include "engine/int8/kd_loss.h"
#include "engine/train/int8_export.h"
#include "io/h5_int8_model.h"
#include "models/checkpoint.h"
#include "models/qat_vgg.h"
#include "models/spec/model_options.h"
#include "models/spec/vgg_layout.h"
#include "models/vgg.h"

namespace {

using triseg::bench::parse_arch;
using triseg::bench::usage_error;

using Clock = std::chrono::steady_clock;

constexpr double kSyntheticMean = 0.286; ///< Fashion-MNIST pixel mean, as the configs use
constexpr double kSyntheticStd = 0.353;
constexpr int kCalibrationBatches = 4;
constexpr int32_t kCandidateTmax = 32; ///< the candidate is evenly_spaced_codes(32) per layer
constexpr double kTemperature = 2.0;

/// Command-line options of the benchmark (names as the flags, without "--").
struct BenchOptions {
    /// A trained run folder (DIR/float/model.pt, DIR/int8/model.h5); empty = synthetic model.
    std::string run_dir;
    /// Synthetic model architecture and input shape (ignored with run_dir).
    triseg::models::ModelOptions model;
    /// True when a model flag was given (it conflicts with run_dir).
    bool model_flag_given = false;
    /// Images per forward.
    int64_t batch = 256;
    /// LibTorch intra-op threads and Int8Network threads (the same number).
    int64_t threads = 1;
    /// Timed forwards per side and round; timed candidates.
    int64_t iters = 20;
    /// Untimed forwards per side and round; untimed candidates.
    int64_t warmup = 3;
    /// Alternating float/int8 rounds.
    int64_t rounds = 3;
    /// Seed of the synthetic model and of the random batch.
    uint64_t seed = 0;
};

constexpr const char* kSummary =
    "INT8 vs float inference throughput of one model (ratio in one run) and the cost of one\n"
    "search candidate. Prints a table, 'ratio int8/float = X.XX', the candidate cost and one\n"
    "JSON line. Without --run-dir the model is synthetic, built from the model flags.";

/// Parses argv; returns false when --help was printed.
bool parse_args(int argc, char** argv, BenchOptions& opts) {
    auto seed = static_cast<int64_t>(opts.seed);
    std::string arch = triseg::models::arch_name(opts.model.arch);
    triseg::bench::BenchFlags flags("bench_int8_inference", kSummary);
    flags.add_string("run-dir", opts.run_dir, "DIR",
                     "trained run: DIR/float/model.pt and DIR/int8/model.h5 (default: a "
                     "synthetic model built from the flags below)");
    flags.add_string("arch", arch, "vgg16|vgg11", "synthetic architecture");
    flags.add_double("width", opts.model.width, "synthetic channel multiplier in [0.01, 4]");
    flags.add_int("in-channels", opts.model.in_channels, 1, "synthetic image channels");
    flags.add_int("image-size", opts.model.image_size, 1, "synthetic image side, a multiple of 32");
    flags.add_int("classes", opts.model.num_classes, 2, "synthetic classifier outputs");
    flags.add_int("batch", opts.batch, 1, "images per forward");
    flags.add_int("threads", opts.threads, 1, "LibTorch and Int8Network threads");
    flags.add_int("iters", opts.iters, 1,
                  "timed forwards per side and round, and timed candidates");
    flags.add_int("warmup", opts.warmup, 0, "untimed forwards / candidates");
    flags.add_int("rounds", opts.rounds, 1, "alternating float/int8 rounds");
    flags.add_int("seed", seed, 0, "seed of the synthetic model and the batch");
    if (!flags.parse(argc, argv)) {
        return false;
    }
    opts.seed = static_cast<uint64_t>(seed);
    opts.model.arch = parse_arch("--arch", arch);
    if (flags.given("run-dir") && opts.run_dir.empty()) {
        usage_error("--run-dir must not be empty");
    }
    opts.model_flag_given = flags.given("arch") || flags.given("width") ||
                            flags.given("in-channels") || flags.given("image-size") ||
                            flags.given("classes");
    if (!opts.run_dir.empty() && opts.model_flag_given) {
        usage_error("--arch/--width/--in-channels/--image-size/--classes describe the synthetic "
                    "model and cannot be combined with --run-dir (the run's files define it)");
    }
    opts.model.validate(); // width, channels, classes, image size: ConfigError (exit 2)
    return true;
}

void set_threads(int64_t threads) {
    at::set_num_threads(static_cast<int>(threads));
    try {
        // Fails when inter-op work has already started; the intra-op setting is what counts.
        at::set_num_interop_threads(1);
    } catch (const std::exception&) {
    }
}

/// The float model and its integer export, plus where they came from.
struct Models {
    triseg::models::Vgg float_model{nullptr};
    triseg::engine::Int8Network net;
    std::string source;
};

Models load_run(const std::string& dir) {
    auto float_model = triseg::models::load_model(dir + "/float/model.pt");
    triseg::engine::Int8Network net(triseg::io::read_int8_model(dir + "/int8/model.h5"));
    TRISEG_CHECK(float_model->options() == net.model().model, InputError,
                 dir << "/float/model.pt and " << dir
                     << "/int8/model.h5 describe different architectures");
    return {float_model, std::move(net), dir};
}

/// Random float model -> BN-folded QAT network -> observers calibrated on random batches
/// (train mode, no grad) -> exported integer model.
Models make_synthetic(const BenchOptions& opts) {
    torch::manual_seed(static_cast<int64_t>(opts.seed));
    triseg::models::Vgg float_model(opts.model);
    triseg::models::QatVgg qat(*float_model);
    const auto side = opts.model.image_size;
    {
        torch::NoGradGuard no_grad;
        qat->train();
        qat->set_observing(true, 0.01);
        for (int b = 0; b < kCalibrationBatches; ++b) {
            qat->forward(torch::randn({opts.batch, opts.model.in_channels, side, side}));
        }
        qat->set_observing(false);
    }
    const auto channels = static_cast<size_t>(opts.model.in_channels);
    auto int8 = triseg::engine::export_int8(*qat, std::vector<double>(channels, kSyntheticMean),
                                            std::vector<double>(channels, kSyntheticStd),
                                            "bench_int8_inference synthetic");
    return {float_model, triseg::engine::Int8Network(std::move(int8)), "synthetic"};
}

/// Uniform pixels in [0,1], normalized per channel as the model's input expects.
torch::Tensor make_batch(const triseg::models::Int8Model& m, int64_t batch) {
    const auto side = m.model.image_size;
    auto x = torch::rand({batch, m.model.in_channels, side, side});
    const auto mean = torch::tensor(m.input_mean).view({1, -1, 1, 1});
    const auto sd = torch::tensor(m.input_std).view({1, -1, 1, 1});
    return ((x - mean) / sd).contiguous();
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Seconds per call of f: `warmup` untimed calls, then the mean of `iters` timed calls.
template <typename F> double seconds_per_call(F&& f, int64_t warmup, int64_t iters) {
    for (int64_t i = 0; i < warmup; ++i) {
        f();
    }
    const auto start = Clock::now();
    for (int64_t i = 0; i < iters; ++i) {
        f();
    }
    return seconds_since(start) / static_cast<double>(iters);
}

std::string join(const std::vector<double>& v, const char* format) {
    std::string s;
    char buf[32];
    for (double x : v) {
        std::snprintf(buf, sizeof buf, format, x);
        s += s.empty() ? "" : " ";
        s += buf;
    }
    return s;
}

/// `s` as a JSON string body (quotes, backslashes and control characters escaped).
std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

std::string json_array(const std::vector<double>& v) {
    return "[" + join(v, "%.3f") + "]";
}

/// (c): per-candidate cost over the bare int8 forward of the same images, in one run.
struct CandidateRatios {
    std::vector<double> forward_ms; ///< bare forward (no tables), per round
    std::vector<double> scorer;     ///< CandidateScorer::score_units / forward, per round
    std::vector<double> no_counts;  ///< tables + forward + KD, no counts / forward
    std::vector<double> histograms; ///< the scorer's former histogram pass / forward
    int64_t checked_units = 0;      ///< scorer results compared with the histogram path
};

/// Times, in every round, `iters` calls each of (alternating call by call):
///   forward    Int8Network::forward, no tables (the teacher; the bare int8 forward)
///   scorer     CandidateScorer::score_units of one candidate on a one-shard ScoringSet of
///              the same images: make the maps' tables, forward_counted (maps + counts in one
///              vector pass), KD/accuracy stats; exactly what a search does per candidate
///   no-counts  make_table per layer + forward with the tables fused in the kernel + KD stats
///   histograms the scorer's former pass: forward with histograms, tables applied
///              after them, counts from the histograms, KD stats
/// and keeps each side's total time in the round divided by the forward's. The counts of the
/// scorer and the histogram path are compared (they must be equal) and the bench fails if not.
CandidateRatios candidate_ratios(const triseg::engine::Int8Network& net,
                                 const std::vector<uint8_t>& codes,
                                 const std::vector<float>& teacher,
                                 const triseg::engine::CodeSet& code_set,
                                 const BenchOptions& opts) {
    using namespace triseg::engine;
    const int threads = static_cast<int>(opts.threads);
    const int64_t n = opts.batch;
    const int64_t classes = net.num_classes();
    ScoringSet set;
    set.name = "bench";
    set.source = "random batch";
    set.inputs.count = n;
    set.inputs.image_codes = net.input_size();
    set.inputs.codes = codes;
    set.inputs.labels.assign(static_cast<size_t>(n), 0);
    set.teacher_logits = teacher;
    set.classes = classes;
    const CandidateScorer scorer(net, set, n, kTemperature);
    const std::vector<CodeSet> candidates{code_set};
    const auto layers = static_cast<size_t>(net.num_layers());
    std::vector<CodeTable> tables(layers);
    std::vector<const uint8_t*> ptrs(layers);
    std::vector<float> logits(static_cast<size_t>(n * classes));
    std::vector<CodeHistogram> histograms;
    auto make_tables = [&] {
        for (size_t i = 0; i < layers; ++i) {
            tables[i] = make_table(code_set.layers[i], net.model().convs[i].name);
            ptrs[i] = tables[i].data();
        }
    };
    UnitScore by_scorer;
    UnitScore by_histograms;
    LogitStats plain;
    auto forward = [&] { net.forward(codes.data(), n, logits.data(), {}, nullptr, threads); };
    auto score = [&] { by_scorer = scorer.score_units(candidates, 0, 1, threads).at(0); };
    auto no_counts = [&] {
        make_tables();
        net.forward(codes.data(), n, logits.data(), ptrs, nullptr, threads);
        plain = logit_stats(teacher.data(), logits.data(), set.inputs.labels.data(), n, classes,
                            kTemperature);
    };
    auto with_histograms = [&] {
        make_tables();
        net.forward(codes.data(), n, logits.data(), ptrs, &histograms, threads);
        by_histograms = UnitScore{};
        by_histograms.stats = logit_stats(teacher.data(), logits.data(), set.inputs.labels.data(),
                                          n, classes, kTemperature);
        for (size_t l = 0; l < histograms.size(); ++l) {
            const MapCounts c = map_counts(histograms[l], code_set.layers[l]);
            by_histograms.codes += c.codes;
            by_histograms.changed += c.changed;
            by_histograms.zeroed += c.zeroed;
            by_histograms.covered += c.covered;
        }
    };
    CandidateRatios r;
    const std::vector<std::function<void()>> sides{forward, score, no_counts, with_histograms};
    for (int64_t i = 0; i < opts.warmup; ++i) {
        for (const auto& f : sides) {
            f();
        }
    }
    for (int64_t round = 0; round < opts.rounds; ++round) {
        // The sides alternate call by call (starting side rotating), so that a change of the
        // machine's load hits all of them alike.
        std::vector<double> total(sides.size(), 0.0);
        for (int64_t i = 0; i < opts.iters; ++i) {
            for (size_t j = 0; j < sides.size(); ++j) {
                const size_t side = (j + static_cast<size_t>(i)) % sides.size();
                const auto start = Clock::now();
                sides[side]();
                total[side] += seconds_since(start);
            }
        }
        r.forward_ms.push_back(total[0] * 1e3 / static_cast<double>(opts.iters));
        r.scorer.push_back(total[1] / total[0]);
        r.no_counts.push_back(total[2] / total[0]);
        r.histograms.push_back(total[3] / total[0]);
        TRISEG_CHECK(
            by_scorer.codes == by_histograms.codes && by_scorer.changed == by_histograms.changed &&
                by_scorer.zeroed == by_histograms.zeroed &&
                by_scorer.covered == by_histograms.covered &&
                by_scorer.stats.kd_sum == by_histograms.stats.kd_sum &&
                plain.kd_sum == by_histograms.stats.kd_sum,
            InputError, "the scorer's counts or KD differ from the histogram path's (a bug)");
        ++r.checked_units;
    }
    return r;
}

int run(const BenchOptions& opts) {
    set_threads(opts.threads);
    const int threads = static_cast<int>(opts.threads);
    Models m = opts.run_dir.empty() ? make_synthetic(opts) : load_run(opts.run_dir);
    const auto& net = m.net;
    const auto& spec = net.model().model;
    const int64_t n = opts.batch;
    const int64_t classes = net.num_classes();

    torch::manual_seed(static_cast<int64_t>(opts.seed) + 1);
    const auto images = make_batch(net.model(), n);
    std::vector<uint8_t> codes(static_cast<size_t>(n * net.input_size()));
    std::vector<float> logits(static_cast<size_t>(n * classes));
    m.float_model->eval();
    torch::NoGradGuard no_grad;
    torch::Tensor float_logits;

    // (a) alternating rounds.
    std::vector<double> float_ips;
    std::vector<double> int8_ips;
    std::vector<double> quantize_ms;
    for (int64_t r = 0; r < opts.rounds; ++r) {
        const double tf = seconds_per_call([&] { float_logits = m.float_model->forward(images); },
                                           opts.warmup, opts.iters);
        const double tq =
            seconds_per_call([&] { net.quantize(images.data_ptr<float>(), n, codes.data()); },
                             opts.warmup, opts.iters);
        const double ti = seconds_per_call(
            [&] { net.forward(codes.data(), n, logits.data(), {}, nullptr, threads); }, opts.warmup,
            opts.iters);
        float_ips.push_back(static_cast<double>(n) / tf);
        int8_ips.push_back(static_cast<double>(n) / ti);
        quantize_ms.push_back(tq * 1e3);
    }
    const double float_med = median(float_ips);
    const double int8_med = median(int8_ips);
    const double quant_med = median(quantize_ms);
    const double ratio = int8_med / float_med;
    // Sanity, not a result: how often the int8 teacher's argmax matches the float model's.
    const std::vector<float> teacher = logits; // int8 logits without tables
    const auto float_host = float_logits.contiguous();
    const auto agree_stats = triseg::engine::logit_stats(
        float_host.data_ptr<float>(), teacher.data(), nullptr, n, classes, kTemperature);

    // (b) candidate evaluations against the cached teacher logits.
    const auto layers = static_cast<size_t>(net.num_layers());
    triseg::engine::CodeSet code_set;
    code_set.layers.assign(layers, triseg::engine::evenly_spaced_codes(kCandidateTmax));
    std::vector<triseg::engine::CodeTable> tables(layers);
    std::vector<const uint8_t*> table_ptrs(layers);
    std::vector<float> student(logits.size());
    double kd = 0.0;
    auto make_tables = [&] {
        for (size_t i = 0; i < layers; ++i) {
            tables[i] = triseg::engine::make_table(code_set.layers[i], net.model().convs[i].name);
            table_ptrs[i] = tables[i].data();
        }
    };
    auto candidate = [&] {
        make_tables();
        net.forward(codes.data(), n, student.data(), table_ptrs, nullptr, threads);
        kd = triseg::engine::logit_stats(teacher.data(), student.data(), nullptr, n, classes,
                                         kTemperature)
                 .kd_loss(kTemperature);
    };
    for (int64_t i = 0; i < opts.warmup; ++i) {
        candidate();
    }
    std::vector<double> cand_ms;
    for (int64_t i = 0; i < opts.iters; ++i) {
        const auto start = Clock::now();
        candidate();
        cand_ms.push_back(seconds_since(start) * 1e3);
    }
    const double cand_med = median(cand_ms);
    const auto [cand_min, cand_max] = std::minmax_element(cand_ms.begin(), cand_ms.end());

    // (c) candidate/forward: the search's scorer vs the bare forward of the same images.
    const CandidateRatios cr = candidate_ratios(net, codes, teacher, code_set, opts);
    const std::string arch = triseg::models::arch_name(spec.arch);
    std::printf("model %s width %g (%s), %lldx%lldx%lld, batch %lld, threads %d, "
                "%lld timed iters x %lld rounds\n",
                arch.c_str(), spec.width, m.source.c_str(),
                static_cast<long long>(spec.in_channels), static_cast<long long>(spec.image_size),
                static_cast<long long>(spec.image_size), static_cast<long long>(n), threads,
                static_cast<long long>(opts.iters), static_cast<long long>(opts.rounds));
    std::printf("%-16s %14s  %s\n", "impl", "median img/s", "runs img/s");
    std::printf("%-16s %14.1f  %s\n", "float-libtorch", float_med, join(float_ips, "%.1f").c_str());
    std::printf("%-16s %14.1f  %s\n", "int8-network", int8_med, join(int8_ips, "%.1f").c_str());
    std::printf("ratio int8/float = %.2f\n", ratio);
    std::printf("quantize (once per batch, not in int8 row): median %.3f ms per batch "
                "(%.1f img/s)\n",
                quant_med, static_cast<double>(n) * 1e3 / quant_med);
    std::printf("int8 vs float argmax agreement: %.1f%% (sanity only)\n", agree_stats.agreement());
    std::printf("candidate (%zu tables + int8 forward + KD T=%g, %lld images): median %.3f ms "
                "(min %.3f, max %.3f) = %.2f candidates/s, kd %.4g\n",
                layers, kTemperature, static_cast<long long>(n), cand_med, *cand_min, *cand_max,
                1e3 / cand_med, kd);
    std::printf("candidate/forward (%d rounds x %lld iters, %lld images, threads %d): forward "
                "median %.3f ms\n",
                static_cast<int>(opts.rounds), static_cast<long long>(opts.iters),
                static_cast<long long>(n), threads, median(cr.forward_ms));
    std::printf("  %-44s %6.3f  runs %s\n", "scorer (maps + counts, the search's path)",
                median(cr.scorer), join(cr.scorer, "%.3f").c_str());
    std::printf("  %-44s %6.3f  runs %s\n", "tables in the kernel, no counts", median(cr.no_counts),
                join(cr.no_counts, "%.3f").c_str());
    std::printf("  %-44s %6.3f  runs %s\n", "histograms + table pass (former scorer)",
                median(cr.histograms), join(cr.histograms, "%.3f").c_str());
    std::printf("ratio candidate/forward = %.3f (with counts; %.3f without; %.3f with the "
                "histogram path)\n",
                median(cr.scorer), median(cr.no_counts), median(cr.histograms));
    std::printf("{\"bench\":\"int8_inference\",\"source\":\"%s\",\"arch\":\"%s\",\"width\":%g,"
                "\"batch\":%lld,\"threads\":%d,\"iters\":%lld,\"rounds\":%lld,"
                "\"float_images_per_s\":%.3f,\"int8_images_per_s\":%.3f,\"ratio_int8_float\":%.4f,"
                "\"float_runs\":%s,\"int8_runs\":%s,\"quantize_ms_per_batch\":%.4f,"
                "\"candidate_layers\":%zu,\"candidate_ms\":%.4f,\"candidates_per_s\":%.3f,"
                "\"candidate_kd\":%.6g,\"argmax_agreement\":%.3f,"
                "\"candidate_forward_ms\":%.4f,\"ratio_candidate_forward\":%.4f,"
                "\"ratio_candidate_forward_no_counts\":%.4f,"
                "\"ratio_candidate_forward_histograms\":%.4f,\"ratio_runs\":%s}\n",
                json_escape(m.source).c_str(), arch.c_str(), spec.width, static_cast<long long>(n),
                threads, static_cast<long long>(opts.iters), static_cast<long long>(opts.rounds),
                float_med, int8_med, ratio, json_array(float_ips).c_str(),
                json_array(int8_ips).c_str(), quant_med, layers, cand_med, 1e3 / cand_med, kd,
                agree_stats.agreement(), median(cr.forward_ms), median(cr.scorer),
                median(cr.no_counts), median(cr.histograms), json_array(cr.scorer).c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return triseg::bench::guarded_main("bench_int8_inference", [&] {
        BenchOptions opts;
        if (!parse_args(argc, argv, opts)) {
            return 0;
        }
        return run(opts);
    });
}
