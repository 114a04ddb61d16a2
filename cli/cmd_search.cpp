// `triseg search`.
#include "cli/cmd_search.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "cli/config/config.h"
#include "cli/config/resume_key.h"
#include "cli/ppo_inputs.h"
#include "cli/run_dir.h"
#include "common/error.h"
#include "common/option_checks.h"
#include "common/out_of_memory.h"
#include "common/shell_quote.h"
#include "common/stop_signal.h"
#include "engine/dist/cluster.h"
#include "engine/dist/collective.h"
#include "engine/eval/code_histograms.h"
#include "engine/eval/distributed_evaluator.h"
#include "engine/eval/scoring_set.h"
#include "engine/eval/scoring_sets.h"
#include "engine/int8/int8_network.h"
#include "engine/train/batching.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "io/content_hash.h"
#include "io/dataset_factory.h"
#include "io/h5_int8_model.h"
#include "io/result_file.h"
#include "io/safe_open.h"
#include "io/stage_lock.h"
#include "search/allocation_space.h"
#include "search/driver/search_driver.h"
#include "search/lloyd_search.h"
#include "search/ppo_options.h"
#include "search/registry.h"

namespace triseg::cli {

namespace {

/// Test hook TRISEG_TEST_SIGNAL_DURING_STARTUP=TERM|USR1|INT: every rank raises that signal
/// once start-up (MPI, model, data, teacher logits) is done and before the search loop, where
/// only StopSignal::install() stands between the signal and a signal death.
void raise_startup_signal_for_test() {
    constexpr const char* kVar = "TRISEG_TEST_SIGNAL_DURING_STARTUP";
    const char* text = std::getenv(kVar);
    if (text == nullptr || *text == '\0') {
        return;
    }
    const std::string name = text;
    const int sig = name == "TERM"   ? SIGTERM
                    : name == "USR1" ? SIGUSR1
                    : name == "INT"  ? SIGINT
                                     : 0;
    TRISEG_CHECK(sig != 0, ConfigError,
                 kVar << " must be TERM, USR1 or INT, got '" << name
                      << "'; unset it (it is a test hook)");
    std::raise(sig);
}

constexpr const char* kSummaryHead =
    "Search per-layer tri-segment codes (t1, v1, t2, v2 with tmax = approx.tmax) for the\n"
    "run's integer model with one of the registered methods (--method, search.method; a\n"
    "method's options are the config section of its name). Rank 0 runs the\n"
    "algorithm; every rank scores candidates: the reward is -KD loss,\n"
    "kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T^2, on search.reward_images images\n"
    "whose teacher logits are computed once. Run it plainly or as `mpirun -np N triseg search`\n"
    "/ `srun triseg search`; the result is the same for any number of ranks.\n"
    "\n"
    "Writes into --out (default <run-dir>/search/<method>-seed<runtime.seed>):\n"
    "  result.json               constrained best: highest held-out accuracy with a drop of at\n"
    "                            most approx.max_acc_drop (the original's format); with\n"
    "                            --target-drop X the highest held-out coverage within X\n"
    "  result_unconstrained.json best reward (lowest KD loss)\n"
    "  history.jsonl             one line per episode, PPO update and held-out evaluation\n"
    "  checkpoint.h5             resume state (every search.checkpoint_every generations)\n"
    "  front.json                nsga2, and lloyd with search.space=allocation: the\n"
    "                            accuracy-coverage front (eval-codes --point N or\n"
    "                            --all-points)\n"
    "search.space=allocation searches one tmax per layer (search.tmax_min..tmax_max) with the\n"
    "Lloyd-Max codes of that tmax inside each layer (lloyd, nsga2, the other pagmo methods and\n"
    "ppo; search.target_coverage sets the coverage the single-objective ones aim for).\n"
    "--target-drop X picks the highest held-out coverage within X points of drop. search.init\n"
    "may name a result file (any method's result.json, the STE's included) to start from its\n"
    "codes.\n"
    "search.racing_eta=2 races each generation over the reward images (successive halving:\n"
    "the better half goes on to twice the images; survivors score exactly as without it;\n"
    "on the default model it paid off for gaco, not for PPO; docs/results.md, Racing).\n"
    "The summary at the end includes a `search loop:` line: rank 0's episodes/s in this\n"
    "call's generation loop and its ms per episode evaluating, in the method (ask, tell),\n"
    "writing history and checkpoints (docs/search.md, \"Where the time goes\").\n"
    "One process at a time writes an output folder: a second one exits with 4 (in use).\n"
    "Budgets (search.episodes, max_evaluations, max_macs, max_seconds) are checked between\n"
    "generations; a search.max_seconds too short to score anything still scores the first\n"
    "generation and writes its result.\n"
    "SIGTERM, SIGINT or SIGUSR1 save a checkpoint and exit with 130; running the same command\n"
    "again continues and reaches the result of an uninterrupted run.";

/// kSummaryHead, then one line per registered method.
std::string summary() {
    std::string text = std::string(kSummaryHead) + "\n\nMethods:\n";
    size_t width = 0;
    for (const auto& entry : search::methods()) {
        width = std::max(width, entry.name.size());
    }
    for (const auto& entry : search::methods()) {
        text += "  " + entry.name + std::string(width + 2 - entry.name.size(), ' ') +
                entry.summary + (entry.has_section ? " (section `" + entry.name + ":`)" : "") +
                "\n";
    }
    text.pop_back();
    return text;
}

/// Upper bounds of --episodes (as search.episodes) and --stop-after.
constexpr int64_t kMaxEpisodes = int64_t{1} << 40;
constexpr int64_t kMaxGenerations = int64_t{1} << 40;

/// Everything each rank builds before searching.
struct Setup {
    cli::RunConfig cfg;
    std::string run_path;
    std::string model_path;
    std::string out;
    std::optional<engine::Int8Network> net;
    engine::ScoringSet reward;
    engine::ScoringSet holdout;
    std::vector<std::string> data_files; ///< io::source_lines of the dataset read
    int threads = 1;
};

void build(const SearchArgs& args, Setup& s) {
    if (args.stop_after) {
        detail::check_range<int64_t>("--stop-after", *args.stop_after, 1, kMaxGenerations);
    }
    if (args.episodes) {
        detail::check_range<int64_t>("--episodes", *args.episodes, 0, kMaxEpisodes);
    }
    TRISEG_CHECK(!(args.resume && args.force), ConfigError,
                 "--resume and --force contradict each other; give one");
    ConfigArgs config = args.config;
    if (!args.method.empty()) {
        config.sets.push_back("search.method=" + args.method);
    }
    if (args.episodes) {
        config.sets.push_back("search.episodes=" + std::to_string(*args.episodes));
    }
    if (!args.init_policy.empty()) {
        config.sets.push_back("ppo.init_policy=" + args.init_policy);
    }
    if (args.target_drop) {
        char text[64];
        std::snprintf(text, sizeof text, "%.17g", *args.target_drop);
        config.sets.push_back(std::string("search.target_drop=") + text);
    }
    const RunDir run(config);
    s.cfg = run.config();
    s.run_path = run.path();
    const auto& cfg = s.cfg;
    search::method_entry(cfg.search.method); // an unknown method fails here, listing all
    s.model_path = args.model.empty() ? run.file(RunDir::kInt8Model) : args.model;
    TRISEG_CHECK(io::file_exists(s.model_path), IoError,
                 "integer model '" << s.model_path << "' does not exist; run `triseg export-int8 "
                                   << "--run-dir " << shell_quote(run.path()) << "` first");
    s.out =
        args.out.empty()
            ? run.file("search/" + cfg.search.method + "-seed" + std::to_string(cfg.runtime.seed))
            : args.out;
    if (args.resume) {
        TRISEG_CHECK(io::file_exists(s.out + "/" + search::SearchDriver::kCheckpoint), IoError,
                     "--resume: no checkpoint '" << s.out << "/"
                                                 << search::SearchDriver::kCheckpoint
                                                 << "' to continue from");
    }
    s.net.emplace(engine::load_int8_network(s.model_path));
    const auto& net = *s.net;
    TRISEG_CHECK(net.model_options() == cfg.model, ConfigError,
                 "the integer model '" << s.model_path
                                       << "' was exported from another model config than the "
                                          "run's `model:` section");
    s.threads = static_cast<int>(engine::configure_threads(cfg.runtime.threads));

    const uint64_t seed = static_cast<uint64_t>(cfg.runtime.seed);
    const auto data = io::load_dataset(cfg.data, seed);
    s.data_files = io::source_lines(data.sources);
    const auto opts =
        io::make_loader_options(cfg.data, data, cfg.train.eval_batch_size, false, seed);
    engine::ScoringSetsOptions so;
    so.reward_images = cfg.search.reward_images;
    so.reward_split = cfg.search.reward_split;
    so.eval_images = cfg.search.eval_images;
    so.eval_split = cfg.search.eval_split;
    so.seed = seed;
    so.reward_points =
        cfg.search.method == "ppo" &&
        search::options_as<search::PpoOptions>(cfg.methods.at("ppo")).needs_point_mse();
    auto sets = engine::make_scoring_sets(net, data, opts, so, s.threads);
    s.reward = std::move(sets.reward);
    s.holdout = std::move(sets.holdout);
}

/// The layer names of the run's model, in forward order.
std::vector<std::string> layer_names(const engine::Int8Network& net) {
    std::vector<std::string> names;
    names = net.layer_names();
    return names;
}

/// The codes of the result file `search.init` names, moved into the search space (the codes
/// space at approx.tmax: CodeSpace::repair; nsga2's per-layer tmax and the allocation space keep
/// each layer's tmax in their range). Codes that move are said in one line per layer.
/// @throws InputError (exit 3) naming the file when it is not a result file of this model.
search::CodeSet init_from_file(const Setup& s, const search::AlgorithmContext& context) {
    const std::string& path = s.cfg.search.init;
    TRISEG_CHECK(io::file_exists(path), ConfigError,
                 "`search.init` is '" << path
                                      << "', which is not random, lloyd, evenly-spaced or an "
                                         "existing result file (a search's or train-ste's "
                                         "result.json)");
    const auto names = layer_names(*s.net);
    const io::ResultFile file = io::read_result_file(path, names, -1);
    search::CodeSet codes = file.codes;
    if (!context.allocation && !search::method_entry(s.cfg.search.method).searches_layer_tmax) {
        codes = context.space.repair(codes);
    }
    for (size_t l = 0; l < codes.layers.size(); ++l) {
        if (codes.layers[l] != file.codes.layers[l]) {
            std::printf("search.init: layer %s's codes %s from %s are outside the search space; "
                        "starting from %s\n",
                        names[l].c_str(), engine::to_string(file.codes.layers[l]).c_str(),
                        path.c_str(), engine::to_string(codes.layers[l]).c_str());
        }
    }
    return codes;
}

/// The histograms (when the method or search.init needs them) and the start codes of
/// `search.init` into `context` (whose space is set). Rank 0 only: integer counts of one teacher
/// pass over the reward images, the same for any thread count.
void fill_context(const Setup& s, search::AlgorithmContext& context) {
    const auto& opt = s.cfg.search;
    const bool allocation = opt.space == search::SearchSpace::Allocation;
    const auto* ppo = opt.method == "ppo"
                          ? &search::options_as<search::PpoOptions>(s.cfg.methods.at(opt.method))
                          : nullptr;
    const bool enhanced = ppo != nullptr && ppo->state_kind() == search::PpoState::Enhanced;
    if (search::method_entry(opt.method).needs_code_histograms ||
        opt.init_kind() == search::SearchInit::Lloyd || allocation || enhanced) {
        for (const auto& h : engine::teacher_code_histograms(*s.net, s.reward, s.threads)) {
            context.code_histograms.push_back(h);
        }
    }
    if (enhanced) {
        context.layer_facts = ppo_layer_facts(*s.net, context.code_histograms);
    }
    context.layer_names = s.net->layer_names();
    if (ppo != nullptr && !ppo->init_policy.empty()) {
        context.init_policy = read_init_policy(ppo->init_policy);
        context.init_policy_path = ppo->init_policy;
    }
    if (ppo != nullptr && ppo->has_curriculum()) {
        ppo->validate_curriculum();
        const auto stages = static_cast<int64_t>(ppo->curriculum_layers.size());
        TRISEG_CHECK(
            opt.episodes == 0 || opt.episodes > stages * ppo->curriculum_episodes, ConfigError,
            "the layer curriculum's "
                << stages << " stage(s) of `ppo.curriculum_episodes` " << ppo->curriculum_episodes
                << " take " << stages * ppo->curriculum_episodes
                << " episodes, and `search.episodes` is " << opt.episodes
                << ": no episode would approximate every layer; raise search.episodes or "
                   "shorten the curriculum");
        auto curriculum = read_curriculum_order(ppo->curriculum, context.layer_names);
        context.curriculum_order = std::move(curriculum.order);
        context.curriculum_sha256 = curriculum.sha256;
    }
    if (allocation) {
        context.allocation = std::make_shared<const search::AllocationSpace>(
            static_cast<int32_t>(opt.tmax_min), static_cast<int32_t>(opt.tmax_max),
            context.code_histograms);
    }
    switch (opt.init_kind()) {
    case search::SearchInit::File:
        context.init = init_from_file(s, context);
        break;
    case search::SearchInit::Lloyd:
        context.init = search::lloyd_code_set(context.space, context.code_histograms);
        break;
    case search::SearchInit::EvenlySpaced:
        context.init = search::CodeSet{
            std::vector<engine::LayerCodes>(static_cast<size_t>(context.space.layers),
                                            engine::evenly_spaced_codes(context.space.tmax))};
        break;
    case search::SearchInit::Random:
        break;
    }
}

std::string status_text(const search::SearchSummary& s) {
    switch (s.status) {
    case search::SearchStatus::Stopped:
        return "stopped after --stop-after generations";
    case search::SearchStatus::Interrupted:
        return std::string("interrupted by ") + StopSignal::name(s.signal);
    case search::SearchStatus::AlreadyFinished:
        return "already finished";
    default:
        return "finished";
    }
}

/// Where rank 0's time went in the generation loop, per episode (docs/search.md, "Where the
/// time goes").
void print_timing(const search::SearchTiming& t) {
    if (t.episodes <= 0 || t.loop <= 0.0) {
        return;
    }
    const double per = 1e3 / static_cast<double>(t.episodes);
    std::printf("search loop: %lld episodes in %.3f s (%.3f episodes/s); ms per episode: evaluate "
                "%.3f, ask %.3f, tell %.3f, history %.3f, checkpoints %.3f, held-out %.3f, other "
                "%.3f; evaluate %.1f%% of the loop\n",
                static_cast<long long>(t.episodes), t.loop,
                static_cast<double>(t.episodes) / t.loop, t.evaluate * per, t.ask * per,
                t.tell * per, t.history * per, t.checkpoint * per, t.holdout * per, t.other() * per,
                100.0 * t.evaluate / t.loop);
}

void print_summary(const search::SearchSummary& s, const Setup& setup, int ranks) {
    std::printf("search %s: %lld episodes, %lld evaluations in %.1f s (%.2f ev/s) on %d rank%s\n",
                status_text(s).c_str(), static_cast<long long>(s.episodes),
                static_cast<long long>(s.evaluations), s.wall_seconds,
                s.wall_seconds > 0 ? static_cast<double>(s.evaluations) / s.wall_seconds : 0.0,
                ranks, ranks == 1 ? "" : "s");
    print_timing(s.timing);
    if (s.full_macs > 0) {
        std::printf("search MACs: %lld int8 multiply-accumulates on the reward set, %.3f of %lld "
                    "full forwards\n",
                    static_cast<long long>(s.macs),
                    static_cast<double>(s.macs) / static_cast<double>(s.full_macs),
                    static_cast<long long>(s.evaluations));
    }
    if (s.status == search::SearchStatus::Stopped ||
        s.status == search::SearchStatus::Interrupted) {
        std::printf("checkpoint %s/%s; run the same command again to continue\n", setup.out.c_str(),
                    search::SearchDriver::kCheckpoint);
        return;
    }
    if (s.constrained && s.constrained->holdout) {
        const auto& h = *s.constrained->holdout;
        std::printf("%s best (held-out %lld images): student %.2f%%, teacher %.2f%%, drop %.2f "
                    "points, KD %.5f, covered %.2f%%\n",
                    !s.constraint_met ? "NO candidate within the drop limit; closest"
                    : setup.cfg.search.target_drop >= 0.0 ? "highest-coverage"
                                                          : "constrained",
                    static_cast<long long>(h.images), h.acc_student, h.acc_teacher, h.acc_drop(),
                    h.kd_loss, 100.0 * h.covered);
    }
    if (s.unconstrained && s.unconstrained->holdout) {
        const auto& h = *s.unconstrained->holdout;
        std::printf("unconstrained best: reward KD %.5f (episode %lld); held-out student %.2f%%, "
                    "drop %.2f\n",
                    s.unconstrained->reward.kd_loss,
                    static_cast<long long>(s.unconstrained->episode), h.acc_student, h.acc_drop());
    }
    const std::string result = setup.out + "/" + search::SearchDriver::kResult;
    std::printf("wrote %s and %s; measure on the test set with `triseg eval-codes --run-dir %s "
                "--codes %s`\n",
                result.c_str(), search::SearchDriver::kUnconstrained,
                shell_quote(setup.run_path).c_str(), shell_quote(result).c_str());
}

} // namespace

void add_search_options(po::options_description& desc, SearchArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("method", po::value(&args.method)->value_name("NAME"),
        ("search method: " + detail::join(search::algorithm_names(), " or ") +
         " (sets search.method)")
            .c_str());
    add("episodes",
        optional_in_range<int64_t>(args.episodes, "episodes", 0, kMaxEpisodes)->value_name("N"),
        "budget in episodes (sets search.episodes; 0 = no episode limit, the other budgets "
        "apply)");
    add("target-drop",
        optional_in_range<double>(args.target_drop, "target-drop", 0.0, 100.0)->value_name("X"),
        "result.json is the candidate of highest held-out coverage whose held-out drop is at "
        "most X points (sets search.target_drop; a front-giving method: nsga2, or lloyd with "
        "search.space=allocation, offers its whole front)");
    add("init-policy", po::value(&args.init_policy)->value_name("FILE"),
        "start PPO from the policy network and Adam state in another PPO search's "
        "checkpoint.h5 (sets ppo.init_policy; not its codes, buffer or counters; an embedding "
        "policy needs the same layer count, a ppo.state=enhanced one transfers between models; "
        "ppo.policy, mlp or gru, must match)");
    add("model,m", po::value(&args.model)->value_name("FILE"),
        "integer model (default: <run-dir>/int8/model.h5)");
    add("out,o", po::value(&args.out)->value_name("DIR"),
        "output folder (default: <run-dir>/search/<method>-seed<runtime.seed>)");
    add("resume", po::bool_switch(&args.resume),
        "require a checkpoint in the output folder (a plain run resumes from one anyway)");
    add("force,f", po::bool_switch(&args.force),
        "delete the output folder's earlier search and start over");
    add("stop-after",
        optional_in_range<int64_t>(args.stop_after, "stop-after", 1, kMaxGenerations)
            ->value_name("N"),
        "run at most N >= 1 generations in this call, then checkpoint and exit 0 (without it: "
        "until the budget is spent)");
    add("cluster", po::value(&args.cluster)->value_name("KIND")->default_value("auto"),
        "auto (MPI when started by mpirun/srun), local, or mpi");
    add("quiet,q", po::bool_switch(&args.quiet), "no progress bar and no periodic lines");
}

int run_search(const SearchArgs& args) {
    const auto kind = engine::parse_cluster_kind(args.cluster, "--cluster");
    const auto cluster = engine::make_cluster(kind, "search");
    auto& c = *cluster;
    Setup setup;
    engine::run_collectively(c, [&] { build(args, setup); });
    raise_startup_signal_for_test();
    // From here on a signal only sets the flag: rank 0's loop polls it (checkpoint, exit 130),
    // and after the loop the process ends by itself. Without it a SIGTERM that srun
    // (--kill-on-bad-exit) sends rank 0 once another rank exited 130 would end rank 0 in the
    // start-up handler, unflushed, while it finishes.
    const StopSignal signals;
    // Rank 0 writes the output folder: it holds the folder's lock until the search ends.
    std::optional<io::StageLock> lock;
    std::string model_sha256;
    engine::run_collectively(c, [&] {
        if (c.is_root()) {
            if (args.out.empty()) { // <run-dir>/search must be a folder, not a planted link
                io::ensure_real_directory(std::filesystem::path(setup.out).parent_path().string());
            }
            lock.emplace(setup.out, io::StageLock::Scope::Folder, "search");
            if (args.force) {
                lock->clear_folder({"config.yaml", search::SearchDriver::kResult,
                                    search::SearchDriver::kUnconstrained,
                                    search::SearchDriver::kHistory,
                                    search::SearchDriver::kCheckpoint, search::SearchDriver::kFront,
                                    "eval_*.json"});
            }
            model_sha256 = io::sha256_file(setup.model_path);
            io::write_file_atomic(setup.out + "/config.yaml", cli::to_yaml(setup.cfg));
        }
    });
    const auto& cfg = setup.cfg;
    engine::DistributedEvaluator evaluator(
        c, *setup.net, setup.reward, setup.holdout, cfg.search.shard_images, cfg.approx.temperature,
        setup.threads, "search", cfg.search.prefix_cache_mb * (int64_t{1} << 20));
    if (cfg.search.method == "ppo") { // every rank: the units carry the curriculum's KD sums
        evaluator.set_reward_temperatures(
            search::options_as<search::PpoOptions>(cfg.methods.at("ppo")).temperatures);
    }
    int code = 0;
    std::exception_ptr failure;
    if (c.is_root()) {
        const bool verbose = !args.quiet;
        if (verbose) {
            std::printf("search %s on %s: %lld layers, reward set %lld images (%s), held-out %lld "
                        "(%s), %d rank%s x %d thread%s -> %s\n",
                        cfg.search.method.c_str(), setup.model_path.c_str(),
                        static_cast<long long>(setup.net->num_layers()),
                        static_cast<long long>(setup.reward.count()), setup.reward.source.c_str(),
                        static_cast<long long>(setup.holdout.count()), setup.holdout.source.c_str(),
                        c.size(), c.size() == 1 ? "" : "s", setup.threads,
                        setup.threads == 1 ? "" : "s", setup.out.c_str());
            std::fflush(stdout);
        }
        try {
            search::AlgorithmContext context;
            context.space.layers = setup.net->num_layers();
            context.space.tmax = static_cast<int32_t>(cfg.approx.tmax);
            context.seed = static_cast<uint64_t>(cfg.runtime.seed);
            context.generation = cfg.search.episodes_per_generation;
            fill_context(setup, context);
            auto algorithm = search::make_algorithm(cfg.search.method,
                                                    cfg.methods.at(cfg.search.method), context);
            search::DriverSettings ds;
            ds.search = cfg.search;
            ds.max_acc_drop = cfg.approx.max_acc_drop;
            ds.temperature = cfg.approx.temperature;
            ds.out_dir = setup.out;
            ds.resume_key = cli::resume_key(cfg, model_sha256, setup.data_files);
            ds.layer_names = setup.net->layer_names();
            if (cfg.search.init_kind() == search::SearchInit::File) {
                // A resume checks the start codes' content, not the file's name.
                ds.resume_key +=
                    "# search.init file sha256: " + io::sha256_file(cfg.search.init) + "\n";
            }
            if (!context.curriculum_sha256.empty()) { // the ranking's content, not its name
                ds.resume_key +=
                    "# ppo.curriculum file sha256: " + context.curriculum_sha256 + "\n";
            }
            if (context.init_policy) { // the policy's content, not the file's name
                ds.resume_key +=
                    "# ppo.init_policy file sha256: " + io::sha256_file(context.init_policy_path) +
                    "\n";
            }
            ds.info = {cfg.search.method,
                       static_cast<uint64_t>(cfg.runtime.seed),
                       c.size(),
                       setup.threads,
                       setup.model_path,
                       setup.reward.source,
                       setup.holdout.source,
                       cfg.search.space == search::SearchSpace::Allocation ? "allocation"
                                                                           : "codes"};
            ds.stop_after = args.stop_after.value_or(0); // 0: no limit
            ds.progress = verbose;
            ds.verbose = verbose;
            search::SearchDriver driver(*algorithm, evaluator, ds);
            const auto summary = driver.run();
            if (summary.status == search::SearchStatus::AlreadyFinished) {
                std::printf("the search in %s already finished with this budget (%lld "
                            "episodes); raise the budget to continue it, or use --force to "
                            "start over\n",
                            setup.out.c_str(), static_cast<long long>(summary.episodes));
            } else {
                print_summary(summary, setup, c.size());
            }
            if (summary.status == search::SearchStatus::Interrupted) {
                code = static_cast<int>(ExitCode::Interrupted);
            }
        } catch (const Error& e) {
            failure = std::current_exception();
            code = e.exit_code();
        } catch (const std::exception& e) {
            failure = std::current_exception();
            code = static_cast<int>(out_of_memory(e).found ? ExitCode::Io : ExitCode::Internal);
        }
        evaluator.stop();
    } else {
        evaluator.serve(); // rank 0 decides when to stop; a signal only sets the flag
    }
    code = static_cast<int>(c.all_max(code));
    if (failure) {
        std::rethrow_exception(failure);
    }
    if (code != 0 && code != static_cast<int>(ExitCode::Interrupted) && !c.is_root()) {
        throw Error("rank 0 failed (its message says why)", static_cast<ExitCode>(code));
    }
    return code;
}

int main_search(const std::vector<std::string>& argv) {
    try {
        return parse_and_run<SearchArgs>("search", summary().c_str(), add_search_options,
                                         run_search, argv);
    } catch (const Error& e) {
        if (engine::launcher_rank() != 0) {
            return e.exit_code(); // every rank has the same error; rank 0 prints it
        }
        throw;
    }
}

} // namespace triseg::cli
