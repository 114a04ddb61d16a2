// SearchDriver.
#include "search/driver/search_driver.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/progress.h"
#include "common/stop_signal.h"
#include "io/atomic_file.h"
#include "io/h5_search_checkpoint.h"
#include "io/result_file.h"
#include "search/driver/history_log.h"

namespace triseg::search {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double kDropSlack = 1e-9; // accuracy is a ratio of counts: compare with slack

json codes_json(const CodeSet& c) {
    json a = json::array();
    for (const auto& l : c.layers) {
        a.push_back({l.t1, l.v1, l.t2, l.v2, l.tmax});
    }
    return a;
}

CodeSet codes_from(const json& a) {
    CodeSet c;
    for (const auto& l : a) {
        c.layers.push_back({l.at(0).get<int32_t>(), l.at(1).get<int32_t>(), l.at(2).get<int32_t>(),
                            l.at(3).get<int32_t>(), l.at(4).get<int32_t>()});
    }
    return c;
}

json fitness_json(const Fitness& f) {
    return {
        {"kd_loss", f.kd_loss},     {"acc_student", f.acc_student}, {"acc_teacher", f.acc_teacher},
        {"agreement", f.agreement}, {"coverage", f.coverage},       {"zeroed", f.zeroed},
        {"images", f.images}};
}

Fitness fitness_from(const json& j) {
    Fitness f;
    f.kd_loss = j.at("kd_loss").get<double>();
    f.acc_student = j.at("acc_student").get<double>();
    f.acc_teacher = j.at("acc_teacher").get<double>();
    f.agreement = j.at("agreement").get<double>();
    f.coverage = j.at("coverage").get<double>();
    f.zeroed = j.at("zeroed").get<double>();
    f.images = j.at("images").get<int64_t>();
    return f;
}

json scored_json(const ScoredCodes& s) {
    json j = {{"codes", codes_json(s.codes)},
              {"reward", fitness_json(s.reward)},
              {"episode", s.episode},
              {"source", s.source}};
    if (s.holdout) {
        j["holdout"] = fitness_json(*s.holdout);
    }
    return j;
}

ScoredCodes scored_from(const json& j) {
    ScoredCodes s;
    s.codes = codes_from(j.at("codes"));
    s.reward = fitness_from(j.at("reward"));
    s.episode = j.at("episode").get<int64_t>();
    s.source = j.at("source").get<std::string>();
    if (j.contains("holdout")) {
        s.holdout = fitness_from(j.at("holdout"));
    }
    return s;
}

/// The first line where two texts differ, for messages.
std::string first_difference(const std::string& a, const std::string& b) {
    size_t pa = 0;
    size_t pb = 0;
    while (pa < a.size() || pb < b.size()) {
        const size_t ea = std::min(a.find('\n', pa), a.size());
        const size_t eb = std::min(b.find('\n', pb), b.size());
        const std::string la = a.substr(pa, ea - pa);
        const std::string lb = b.substr(pb, eb - pb);
        if (la != lb) {
            return "checkpoint has '" + la + "', this run has '" + lb + "'";
        }
        pa = ea + 1;
        pb = eb + 1;
    }
    return "no line differs";
}

/// Test hook (docs/development.md): the value of TRISEG_TEST_SIGNAL_AFTER_GENERATIONS, a
/// generation count N >= 1 after which the driver raises a real SIGTERM in its own process;
/// 0 when the variable is unset or empty.
/// @throws ConfigError when it is set to anything but a positive integer.
int64_t signal_after_generations() {
    constexpr const char* kVar = "TRISEG_TEST_SIGNAL_AFTER_GENERATIONS";
    const char* text = std::getenv(kVar);
    if (text == nullptr || *text == '\0') {
        return 0;
    }
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(text, &end, 10);
    TRISEG_CHECK(errno == 0 && *end == '\0' && n >= 1, ConfigError,
                 kVar << " must be a positive number of generations, got '" << text
                      << "'; unset it (it is a test hook)");
    return n;
}

std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

} // namespace

/// Everything the loop needs to continue exactly where it stopped.
struct SearchDriver::State {
    int64_t episodes = 0;
    int64_t evaluations = 0;       ///< reward-set evaluations of search candidates
    int64_t extra_evaluations = 0; ///< reward-set evaluations of proposals
    int64_t holdout_evaluations = 0;
    int64_t generations = 0;
    int64_t next_eval_at = 0;
    double elapsed = 0.0; ///< seconds spent by earlier calls
    uint64_t history_bytes = 0;
    bool finished = false;
    std::optional<ScoredCodes> best;        ///< best reward so far
    std::optional<ScoredCodes> period_best; ///< best reward since the last held-out round
    std::vector<ScoredCodes> evaluated;     ///< everything scored on the held-out subset

    json to_json() const {
        json j = {{"episodes", episodes},
                  {"evaluations", evaluations},
                  {"extra_evaluations", extra_evaluations},
                  {"holdout_evaluations", holdout_evaluations},
                  {"generations", generations},
                  {"next_eval_at", next_eval_at},
                  {"elapsed_seconds", elapsed},
                  {"history_bytes", history_bytes},
                  {"finished", finished},
                  {"evaluated", json::array()}};
        if (best) {
            j["best"] = scored_json(*best);
        }
        if (period_best) {
            j["period_best"] = scored_json(*period_best);
        }
        for (const auto& e : evaluated) {
            j["evaluated"].push_back(scored_json(e));
        }
        return j;
    }

    static State from_json(const json& j) {
        State s;
        s.episodes = j.at("episodes").get<int64_t>();
        s.evaluations = j.at("evaluations").get<int64_t>();
        s.extra_evaluations = j.at("extra_evaluations").get<int64_t>();
        s.holdout_evaluations = j.at("holdout_evaluations").get<int64_t>();
        s.generations = j.at("generations").get<int64_t>();
        s.next_eval_at = j.at("next_eval_at").get<int64_t>();
        s.elapsed = j.at("elapsed_seconds").get<double>();
        s.history_bytes = j.at("history_bytes").get<uint64_t>();
        s.finished = j.at("finished").get<bool>();
        if (j.contains("best")) {
            s.best = scored_from(j.at("best"));
        }
        if (j.contains("period_best")) {
            s.period_best = scored_from(j.at("period_best"));
        }
        for (const auto& e : j.at("evaluated")) {
            s.evaluated.push_back(scored_from(e));
        }
        return s;
    }
};

SearchDriver::SearchDriver(search::Algorithm& algorithm,
                           Evaluator& evaluator,
                           DriverSettings settings)
    : algorithm_(algorithm), evaluator_(evaluator), settings_(std::move(settings)) {}

SearchDriver::~SearchDriver() = default;

SearchSummary SearchDriver::run() {
    const auto& opt = settings_.search;
    const std::string out = settings_.out_dir;
    io::ensure_directory(out);
    const std::string checkpoint_path = out + "/" + kCheckpoint;

    State st;
    bool resumed = false;
    if (io::file_exists(checkpoint_path)) {
        const auto file = io::read_search_checkpoint(checkpoint_path);
        TRISEG_CHECK(file.method == settings_.info.method, ConfigError,
                     "'" << out << "' holds a " << file.method << " search, not "
                         << settings_.info.method
                         << "; use another --out folder, or --force to start over");
        TRISEG_CHECK(file.config_yaml == settings_.resume_key, ConfigError,
                     "the checkpoint in '"
                         << out << "' was written with another config ("
                         << first_difference(file.config_yaml, settings_.resume_key)
                         << "); only the budget (search.episodes, search.max_evaluations, "
                            "search.max_seconds) may change on resume. Use --force to start "
                            "over, or another --out folder");
        try {
            st = State::from_json(json::parse(file.driver_json));
        } catch (const json::exception& e) {
            TRISEG_THROW(InputError, "search checkpoint '"
                                         << checkpoint_path
                                         << "' has a damaged driver state: " << e.what());
        }
        search::Checkpoint c;
        c.entries = file.entries;
        algorithm_.load(c);
        resumed = true;
    } else {
        st.next_eval_at = opt.eval_every;
    }

    const auto start = Clock::now();
    auto elapsed = [&] {
        return st.elapsed + std::chrono::duration<double>(Clock::now() - start).count();
    };
    auto budget_left = [&]() -> int64_t {
        int64_t left = std::numeric_limits<int64_t>::max();
        if (opt.episodes > 0) {
            left = std::min(left, opt.episodes - st.episodes);
        }
        if (opt.max_evaluations > 0) {
            left = std::min(left, opt.max_evaluations - st.evaluations);
        }
        if (opt.max_seconds > 0 && elapsed() >= opt.max_seconds) {
            left = 0;
        }
        return std::max<int64_t>(left, 0);
    };

    SearchSummary summary;
    auto fill_summary = [&](SearchStatus status) {
        summary.status = status;
        summary.episodes = st.episodes;
        summary.evaluations = st.evaluations;
        summary.wall_seconds = elapsed();
    };
    if (resumed && st.finished && budget_left() == 0) {
        fill_summary(SearchStatus::AlreadyFinished);
        return summary;
    }
    st.finished = false;

    HistoryLog history(out + "/" + kHistory, resumed ? st.history_bytes : 0);
    if (settings_.verbose && resumed) {
        std::printf("resuming from %s: episode %lld, generation %lld, %.0f s spent before\n",
                    checkpoint_path.c_str(), static_cast<long long>(st.episodes),
                    static_cast<long long>(st.generations), st.elapsed);
        std::fflush(stdout);
    }

    auto save_checkpoint = [&] {
        st.history_bytes = history.sync();
        io::SearchCheckpointFile file;
        file.method = settings_.info.method;
        file.config_yaml = settings_.resume_key;
        State copy = st;
        copy.elapsed = elapsed();
        file.driver_json = copy.to_json().dump();
        search::Checkpoint c;
        algorithm_.save(c);
        file.entries = c.entries;
        io::write_search_checkpoint(checkpoint_path, file);
    };

    const int64_t total = opt.episodes > 0 ? opt.episodes : opt.max_evaluations;
    ProgressBar bar("search " + settings_.info.method, total, "ep", settings_.progress);
    const int64_t episodes_at_start = st.episodes;

    auto known = [&](const CodeSet& c) {
        return std::any_of(st.evaluated.begin(), st.evaluated.end(),
                           [&](const ScoredCodes& e) { return e.codes == c; });
    };

    // Scores the best-reward codes, the period's best and the algorithm's proposal on the
    // held-out subset (those not scored there yet).
    auto holdout_round = [&] {
        std::vector<ScoredCodes> fresh;
        auto add = [&](const std::optional<ScoredCodes>& s, const std::string& source) {
            if (s && !known(s->codes) &&
                std::none_of(fresh.begin(), fresh.end(),
                             [&](const ScoredCodes& f) { return f.codes == s->codes; })) {
                fresh.push_back(*s);
                fresh.back().source = source;
            }
        };
        add(st.best, "best-reward");
        add(st.period_best, "period-best");
        if (auto p = algorithm_.proposal()) {
            if (!known(*p)) {
                ScoredCodes s;
                s.codes = *p;
                s.reward = evaluator_.evaluate({*p}, engine::ScoringRole::Reward).at(0);
                ++st.extra_evaluations;
                add(s, "proposal");
            }
        }
        std::vector<CodeSet> batch;
        for (const auto& f : fresh) {
            batch.push_back(f.codes);
        }
        const auto scores = batch.empty()
                                ? std::vector<Fitness>{}
                                : evaluator_.evaluate(batch, engine::ScoringRole::Holdout);
        st.holdout_evaluations += static_cast<int64_t>(batch.size());
        for (size_t i = 0; i < fresh.size(); ++i) {
            fresh[i].holdout = scores[i];
            json rec = {{"type", "eval"},
                        {"episode", st.episodes},
                        {"source", fresh[i].source},
                        {"found_at_episode", fresh[i].episode},
                        {"reward_kd_loss", fresh[i].reward.kd_loss},
                        {"holdout", fitness_json(scores[i])},
                        {"codes", codes_json(fresh[i].codes)}};
            history.write(rec);
            st.evaluated.push_back(fresh[i]);
        }
        st.period_best.reset();
        if (settings_.verbose && st.best && !fresh.empty()) {
            const ScoredCodes* best_eval = nullptr;
            for (const auto& e : st.evaluated) {
                if (e.codes == st.best->codes) {
                    best_eval = &e;
                }
            }
            std::string line = "episode " + std::to_string(st.episodes) +
                               (total > 0 ? "/" + std::to_string(total) : "") + ": best KD " +
                               fmt("%.5f", st.best->reward.kd_loss) + " (episode " +
                               std::to_string(st.best->episode) + ")";
            if (best_eval != nullptr && best_eval->holdout) {
                line += ", held-out acc " + fmt("%.2f%%", best_eval->holdout->acc_student) +
                        " drop " + fmt("%.2f", best_eval->holdout->acc_drop());
            }
            for (const auto& f : fresh) {
                if (f.source == "proposal") {
                    line += "; proposal KD " + fmt("%.5f", f.reward.kd_loss) + " acc " +
                            fmt("%.2f%%", f.holdout->acc_student) + " drop " +
                            fmt("%.2f", f.holdout->acc_drop());
                }
            }
            const double rate =
                static_cast<double>(st.episodes - episodes_at_start) /
                std::max(1e-9, std::chrono::duration<double>(Clock::now() - start).count());
            line += "; " + fmt("%.2f", rate) + " ep/s";
            if (total > 0 && rate > 0) {
                line += ", ETA " + ProgressBar::format_duration(
                                       static_cast<double>(total - st.episodes) / rate);
            }
            bar.finish();
            std::printf("%s\n", line.c_str());
            std::fflush(stdout);
        }
    };

    const StopSignal signals;
    const int64_t signal_after = signal_after_generations();
    int64_t generations_here = 0;
    for (;;) {
        const int64_t left = budget_left();
        if (left == 0) {
            break;
        }
        if (const int sig = StopSignal::received()) {
            save_checkpoint();
            bar.finish();
            fill_summary(SearchStatus::Interrupted);
            summary.signal = sig;
            return summary;
        }
        if (settings_.stop_after > 0 && generations_here >= settings_.stop_after) {
            save_checkpoint();
            bar.finish();
            fill_summary(SearchStatus::Stopped);
            return summary;
        }
        auto candidates = algorithm_.ask();
        if (static_cast<int64_t>(candidates.size()) > left) {
            candidates.resize(static_cast<size_t>(left));
        }
        const auto scores = evaluator_.evaluate(candidates, engine::ScoringRole::Reward);
        algorithm_.tell(candidates, scores);
        for (size_t i = 0; i < candidates.size(); ++i) {
            ScoredCodes s{candidates[i], scores[i], std::nullopt, st.episodes, "search"};
            history.write({{"type", "episode"},
                           {"episode", st.episodes},
                           {"generation", st.generations},
                           {"reward", scores[i].reward()},
                           {"kd_loss", scores[i].kd_loss},
                           {"acc_student", scores[i].acc_student},
                           {"agreement", scores[i].agreement},
                           {"coverage", scores[i].coverage},
                           {"codes", codes_json(candidates[i])}});
            if (!st.best || scores[i].reward() > st.best->reward.reward()) {
                st.best = s;
            }
            if (!st.period_best || scores[i].reward() > st.period_best->reward.reward()) {
                st.period_best = s;
            }
            ++st.episodes;
            ++st.evaluations;
        }
        for (const auto& rec : algorithm_.take_log()) {
            json j = {{"type", rec.kind}, {"episode", st.episodes}};
            for (const auto& [k, v] : rec.values) {
                j[k] = v;
            }
            history.write(j);
        }
        ++st.generations;
        ++generations_here;
        if (st.episodes >= st.next_eval_at) {
            holdout_round();
            st.next_eval_at = (st.episodes / opt.eval_every + 1) * opt.eval_every;
        }
        if (st.generations % opt.checkpoint_every == 0) {
            save_checkpoint();
        }
        bar.update(total > 0 ? st.episodes : 0,
                   st.best ? "best KD " + fmt("%.5f", st.best->reward.kd_loss) : std::string());
        if (st.generations == signal_after) {
            // The test hook: a real signal through the real handler, at a known generation.
            std::raise(SIGTERM);
        }
    }
    bar.finish();

    // Final round: the best-reward codes and the proposal are always scored on the holdout.
    holdout_round();

    // Selection.
    const ScoredCodes* constrained = nullptr;
    for (const auto& e : st.evaluated) {
        if (!e.holdout || e.holdout->acc_drop() > settings_.max_acc_drop + kDropSlack) {
            continue;
        }
        if (constrained == nullptr || e.holdout->acc_student > constrained->holdout->acc_student ||
            (e.holdout->acc_student == constrained->holdout->acc_student &&
             e.holdout->kd_loss < constrained->holdout->kd_loss)) {
            constrained = &e;
        }
    }
    summary.constraint_met = constrained != nullptr;
    if (constrained == nullptr) { // the closest candidate, said plainly in the result
        for (const auto& e : st.evaluated) {
            if (e.holdout && (constrained == nullptr ||
                              e.holdout->acc_drop() < constrained->holdout->acc_drop())) {
                constrained = &e;
            }
        }
    }
    const ScoredCodes* unconstrained = nullptr;
    for (const auto& e : st.evaluated) {
        if (st.best && e.codes == st.best->codes) {
            unconstrained = &e;
        }
    }
    if (constrained == nullptr || unconstrained == nullptr) {
        throw std::logic_error("SearchDriver: no candidate was scored on the held-out subset");
    }
    summary.constrained = *constrained;
    summary.unconstrained = *unconstrained;
    summary.unconstrained->episode = st.best->episode;

    const double wall = elapsed();
    auto write = [&](const ScoredCodes& s, const std::string& selection, const std::string& kind,
                     const std::string& path) {
        io::ResultFile r;
        r.layer_names = settings_.layer_names;
        r.codes = s.codes;
        r.selection = selection;
        r.metrics = {{"acc_teacher", s.holdout->acc_teacher},
                     {"acc_student", s.holdout->acc_student},
                     {"acc_drop", s.holdout->acc_drop()}};
        const auto& info = settings_.info;
        r.extra = {{"method", info.method},
                   {"kind", kind},
                   {"constraint_met", summary.constraint_met},
                   {"max_acc_drop", settings_.max_acc_drop},
                   {"seed", info.seed},
                   {"ranks", info.ranks},
                   {"threads_per_rank", info.threads},
                   {"episodes", st.episodes},
                   {"evaluations", st.evaluations},
                   {"extra_evaluations", st.extra_evaluations},
                   {"holdout_evaluations", st.holdout_evaluations},
                   {"wall_seconds", wall},
                   {"found_at_episode", s.episode},
                   {"source", s.source},
                   {"model", info.model},
                   {"temperature", settings_.temperature},
                   {"holdout", fitness_json(*s.holdout)},
                   {"holdout_set", info.holdout_source},
                   {"reward", fitness_json(s.reward)},
                   {"reward_set", info.reward_source}};
        r.extra["holdout"]["acc_drop"] = s.holdout->acc_drop();
        io::write_result_file(r, path);
    };
    const std::string limit = fmt("%.2f", settings_.max_acc_drop);
    write(*constrained,
          summary.constraint_met
              ? "constrained-best (<= " + limit + "% drop)"
              : "NO candidate met the limit of " + limit +
                    "% drop on the held-out subset; this is the candidate with the smallest "
                    "drop (" +
                    fmt("%.2f", constrained->holdout->acc_drop()) + ")",
          "constrained", out + "/" + kResult);
    write(*summary.unconstrained,
          "unconstrained-best (highest reward = lowest KD loss on the reward set)", "unconstrained",
          out + "/" + kUnconstrained);
    st.finished = true;
    save_checkpoint();
    fill_summary(SearchStatus::Finished);
    summary.wall_seconds = wall;
    return summary;
}

} // namespace triseg::search
