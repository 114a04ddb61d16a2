// SearchDriver: the loop. Selection, the files and the console lines live in their own files
// (selection.h, history_writer.h, result_writer.h, driver_checkpoint.h, console.h).
#include "search/driver/search_driver.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <limits>

#include "common/error.h"
#include "common/progress.h"
#include "common/stop_signal.h"
#include "io/atomic_file.h"
#include "search/driver/console.h"
#include "search/driver/driver_checkpoint.h"
#include "search/driver/driver_state.h"
#include "search/driver/front_writer.h"
#include "search/driver/history_log.h"
#include "search/driver/history_writer.h"
#include "search/driver/result_writer.h"
#include "search/driver/selection.h"

namespace triseg::search {

namespace {

using Clock = std::chrono::steady_clock;

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

} // namespace

/// One call of run(): the state plus what lives only as long as the call.
struct SearchDriver::Loop {
    DriverState st;
    bool resumed = false;
    std::string checkpoint_path;
    Clock::time_point start = Clock::now();
    int64_t total = 0; ///< the episode budget shown in progress (0: none)
    int64_t episodes_at_start = 0;
    std::optional<HistoryLog> history;
    std::optional<ProgressBar> bar;
    SearchTiming timing;

    double seconds_here() const {
        return std::chrono::duration<double>(Clock::now() - start).count();
    }
    double elapsed() const { return st.elapsed + seconds_here(); }
};

namespace {

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

} // namespace

SearchDriver::SearchDriver(search::Algorithm& algorithm,
                           Evaluator& evaluator,
                           DriverSettings settings)
    : algorithm_(algorithm), evaluator_(evaluator), settings_(std::move(settings)) {}

SearchDriver::~SearchDriver() = default;

SearchSummary SearchDriver::run() {
    const auto& opt = settings_.search;
    const std::string& out = settings_.out_dir;
    io::ensure_directory(out);
    Loop loop;
    loop.checkpoint_path = out + "/" + kCheckpoint;
    if (auto st = read_driver_checkpoint(loop.checkpoint_path, settings_, algorithm_)) {
        loop.st = std::move(*st);
        loop.resumed = true;
    } else {
        loop.st.next_eval_at = opt.eval_every;
    }
    loop.start = Clock::now();
    DriverState& st = loop.st;
    if (loop.resumed && st.finished && (budget_left(loop) == 0 || algorithm_.finished())) {
        return summary(loop, SearchStatus::AlreadyFinished);
    }
    st.finished = false;

    loop.history.emplace(out + "/" + kHistory, loop.resumed ? st.history_bytes : 0);
    if (settings_.verbose && loop.resumed) {
        print_resume_line(loop.checkpoint_path, st.episodes, st.generations, st.elapsed);
    }
    loop.total = opt.episodes > 0 ? opt.episodes : opt.max_evaluations;
    loop.bar.emplace("search " + settings_.info.method, loop.total, "ep", settings_.progress);
    loop.episodes_at_start = st.episodes;

    const StopSignal signals;
    const int64_t signal_after = signal_after_generations();
    int64_t generations_here = 0;
    const auto loop_start = Clock::now();
    // The loop's time up to the last generation (a pause or a finish is not part of it).
    const auto end_loop = [&] { loop.timing.loop = seconds_since(loop_start); };
    for (;;) {
        const int64_t left = budget_left(loop);
        if (left == 0 || algorithm_.finished()) { // finished: Algorithm::finished()
            break;
        }
        if (const int sig = StopSignal::received()) {
            end_loop();
            auto s = pause(loop, SearchStatus::Interrupted);
            s.signal = sig;
            return s;
        }
        if (settings_.stop_after > 0 && generations_here >= settings_.stop_after) {
            end_loop();
            return pause(loop, SearchStatus::Stopped);
        }
        generation(loop, left);
        ++generations_here;
        if (st.generations == signal_after) {
            // The test hook: a real signal through the real handler, at a known generation.
            std::raise(SIGTERM);
        }
    }
    end_loop();
    loop.bar->finish();
    return finish(loop);
}

int64_t SearchDriver::budget_left(const Loop& loop) const {
    const auto& opt = settings_.search;
    int64_t left = std::numeric_limits<int64_t>::max();
    if (opt.episodes > 0) {
        left = std::min(left, opt.episodes - loop.st.episodes);
    }
    if (opt.max_evaluations > 0) {
        left = std::min(left, opt.max_evaluations - loop.st.evaluations);
    }
    if (opt.max_macs > 0 && loop.st.macs >= opt.max_macs) {
        left = 0;
    }
    // The time budget never stops a search before its first generation is scored: a result
    // needs one scored candidate, and a budget shorter than a generation still gives one.
    if (opt.max_seconds > 0 && loop.st.episodes > 0 && loop.elapsed() >= opt.max_seconds) {
        left = 0;
    }
    return std::max<int64_t>(left, 0);
}

SearchSummary SearchDriver::summary(const Loop& loop, SearchStatus status) const {
    SearchSummary s;
    s.status = status;
    s.episodes = loop.st.episodes;
    s.evaluations = loop.st.evaluations;
    s.macs = loop.st.macs;
    s.full_macs = loop.st.evaluations * evaluator_.full_forward_macs(engine::ScoringRole::Reward);
    s.wall_seconds = loop.elapsed();
    s.timing = loop.timing;
    return s;
}

void SearchDriver::save_checkpoint(Loop& loop) {
    loop.st.history_bytes = loop.history->sync();
    DriverState copy = loop.st;
    copy.elapsed = loop.elapsed();
    write_driver_checkpoint(loop.checkpoint_path, settings_, copy, algorithm_);
}

SearchSummary SearchDriver::pause(Loop& loop, SearchStatus status) {
    save_checkpoint(loop);
    loop.bar->finish();
    return summary(loop, status);
}

void SearchDriver::generation(Loop& loop, int64_t left) {
    DriverState& st = loop.st;
    SearchTiming& timing = loop.timing;
    auto t = Clock::now();
    auto candidates = algorithm_.ask();
    timing.ask += seconds_since(t);
    t = Clock::now();
    if (static_cast<int64_t>(candidates.size()) > left) {
        candidates.resize(static_cast<size_t>(left));
    }
    // The prefix cache's anchor (every generation: a resumed evaluator starts without one).
    // A new anchor is charged one full forward, whether or not a rank ends up filling it.
    auto anchor = algorithm_.anchor();
    evaluator_.set_anchor(anchor);
    if (anchor != st.anchor) {
        st.macs += anchor ? evaluator_.anchor_macs() : 0;
        st.anchor = std::move(anchor);
    }
    const auto& search = settings_.search;
    const engine::Racing racing = search.racing();
    auto scores =
        racing.enabled()
            ? evaluator_.evaluate_raced(candidates, racing,
                                        [&search](const Fitness& f) {
                                            return f.kd_loss + search.coverage_penalty(f.covered);
                                        })
            : evaluator_.evaluate(candidates, engine::ScoringRole::Reward);
    for (auto& f : scores) {
        f.penalty = search.coverage_penalty(f.covered);
    }
    const int64_t reward_images = evaluator_.images(engine::ScoringRole::Reward);
    timing.evaluate += seconds_since(t);
    t = Clock::now();
    algorithm_.tell(candidates, scores);
    auto records = algorithm_.take_log();
    timing.tell += seconds_since(t);
    t = Clock::now();
    for (size_t i = 0; i < candidates.size(); ++i) {
        const ScoredCodes s{candidates[i], scores[i], std::nullopt, st.episodes, "search"};
        st.macs += scores[i].macs;
        write_episode_line(*loop.history, st.episodes, st.generations, scores[i], candidates[i],
                           st.macs, racing.enabled());
        // Under racing, a candidate dropped after a rung was scored on part of the reward set
        // only: it cannot become the best.
        if (scores[i].images == reward_images) {
            keep_best_reward(st.best, s);
            keep_best_reward(st.period_best, s);
        }
        ++st.episodes;
        ++st.evaluations;
    }
    for (const auto& rec : records) {
        write_algorithm_line(*loop.history, st.episodes, rec);
    }
    timing.history += seconds_since(t);
    timing.episodes += static_cast<int64_t>(candidates.size());
    ++timing.generations;
    ++st.generations;
    const auto& opt = settings_.search;
    if (st.episodes >= st.next_eval_at) {
        t = Clock::now();
        holdout_round(loop);
        st.next_eval_at = (st.episodes / opt.eval_every + 1) * opt.eval_every;
        timing.holdout += seconds_since(t);
    }
    if (st.generations % opt.checkpoint_every == 0) {
        t = Clock::now();
        save_checkpoint(loop);
        timing.checkpoint += seconds_since(t);
    }
    loop.bar->update(loop.total > 0 ? st.episodes : 0,
                     st.best ? "best KD " + detail::fmt("%.5f", st.best->reward.kd_loss)
                             : std::string());
}

void SearchDriver::holdout_round(Loop& loop) {
    DriverState& st = loop.st;
    std::vector<ScoredCodes> fresh;
    add_holdout_candidate(fresh, st.evaluated, st.best, "best-reward");
    add_holdout_candidate(fresh, st.evaluated, st.period_best, "period-best");
    if (auto p = algorithm_.proposal()) {
        if (find_scored(st.evaluated, *p) == nullptr) {
            ScoredCodes s;
            s.codes = *p;
            s.reward = evaluator_.evaluate({*p}, engine::ScoringRole::Reward).at(0);
            s.reward.penalty = settings_.search.coverage_penalty(s.reward.covered);
            ++st.extra_evaluations;
            st.extra_macs += s.reward.macs;
            // While every candidate left a layer exact (PPO's layer curriculum), the
            // proposal, which approximates every layer, is the best so far.
            if (!st.best) {
                keep_best_reward(st.best, s);
            }
            add_holdout_candidate(fresh, st.evaluated, s, "proposal");
        }
    }
    std::vector<CodeSet> batch;
    for (const auto& f : fresh) {
        batch.push_back(f.codes);
    }
    const auto scores = batch.empty() ? std::vector<Fitness>{}
                                      : evaluator_.evaluate(batch, engine::ScoringRole::Holdout);
    st.holdout_evaluations += static_cast<int64_t>(batch.size());
    for (size_t i = 0; i < fresh.size(); ++i) {
        fresh[i].holdout = scores[i];
        st.holdout_macs += scores[i].macs;
        write_eval_line(*loop.history, st.episodes, fresh[i]);
        st.evaluated.push_back(fresh[i]);
    }
    st.period_best.reset();
    if (settings_.verbose && st.best && !fresh.empty()) {
        const double rate = static_cast<double>(st.episodes - loop.episodes_at_start) /
                            std::max(1e-9, loop.seconds_here());
        const auto line =
            holdout_round_line(st.episodes, loop.total, *st.best,
                               find_scored(st.evaluated, st.best->codes), fresh, rate);
        loop.bar->finish();
        print_line(line);
    }
}

void SearchDriver::score_front(Loop& loop) {
    DriverState& st = loop.st;
    const auto front = algorithm_.front();
    if (front.empty()) {
        return;
    }
    auto reward = evaluator_.evaluate(front, engine::ScoringRole::Reward);
    const auto holdout = evaluator_.evaluate(front, engine::ScoringRole::Holdout);
    st.extra_evaluations += static_cast<int64_t>(front.size());
    st.holdout_evaluations += static_cast<int64_t>(front.size());
    for (size_t i = 0; i < front.size(); ++i) {
        reward[i].penalty = settings_.search.coverage_penalty(reward[i].covered);
        st.extra_macs += reward[i].macs;
        st.holdout_macs += holdout[i].macs;
        // The front's points join the held-out pool, so the selection (a target drop above
        // all) can pick any of them.
        if (find_scored(st.evaluated, front[i]) == nullptr) {
            ScoredCodes s{front[i], reward[i], holdout[i], -1, "front"};
            write_eval_line(*loop.history, st.episodes, s);
            st.evaluated.push_back(std::move(s));
        }
    }
    write_front(settings_, front, reward, holdout);
}

SearchSummary SearchDriver::finish(Loop& loop) {
    DriverState& st = loop.st;
    const auto finish_start = Clock::now();
    // Final round: the best-reward codes and the proposal are always scored on the holdout.
    holdout_round(loop);
    score_front(loop);
    const Selection sel =
        select_results(st.evaluated, st.best, settings_.max_acc_drop, settings_.search.target_drop,
                       settings_.search.target_coverage > 0.0);
    SearchSummary s;
    s.constraint_met = sel.constraint_met;
    s.constrained = *sel.constrained;
    s.unconstrained = *sel.unconstrained;
    s.unconstrained->episode = st.best->episode;
    const double wall = loop.elapsed();
    write_search_results(settings_, st, sel, st.best->episode, wall);
    st.finished = true;
    save_checkpoint(loop);
    loop.timing.finish = seconds_since(finish_start);
    const auto done = summary(loop, SearchStatus::Finished);
    s.status = done.status;
    s.episodes = done.episodes;
    s.evaluations = done.evaluations;
    s.macs = done.macs;
    s.full_macs = done.full_macs;
    s.wall_seconds = wall;
    s.timing = done.timing;
    return s;
}

} // namespace triseg::search
