// SearchDriver: the ask -> evaluate -> tell loop with budgets, bests, history, checkpoints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/code_set.h"
#include "engine/core/evaluator.h"
#include "engine/core/fitness.h"
#include "search/algorithm.h"
#include "search/driver/search_options.h"

namespace triseg::search {

using engine::Evaluator;

/// Facts about a search that go into its results.
struct SearchRunInfo {
    std::string method;
    uint64_t seed = 0;
    int ranks = 1;
    int threads = 1;
    std::string model;           ///< integer model file
    std::string reward_source;   ///< "train: 256 images ..."
    std::string holdout_source;  ///< "train: 2000 images ..."
    std::string space = "codes"; ///< search.space: codes or allocation
};

/// Everything the driver needs besides the algorithm and the evaluator.
struct DriverSettings {
    SearchOptions search;
    double max_acc_drop = 2.0;
    double temperature = 2.0;
    std::string out_dir;
    /// The config text the trajectory depends on (budgets excluded); a checkpoint written
    /// under another text is refused.
    std::string resume_key;
    std::vector<std::string> layer_names;
    SearchRunInfo info;
    /// Stop (with a checkpoint) after this many generations in this call; 0 = no limit.
    int64_t stop_after = 0;
    bool progress = true; ///< progress bar on stderr (rank 0)
    bool verbose = true;  ///< summary lines on stdout
};

/// How run() ended.
enum class SearchStatus {
    Finished,        ///< budget spent or the algorithm finished(); results written
    Stopped,         ///< --stop-after reached; checkpoint written, run again to continue
    Interrupted,     ///< a signal arrived; checkpoint written, run again to continue
    AlreadyFinished, ///< the out folder holds a finished search with this budget (or of an
                     ///< algorithm that finished())
};

/// One candidate with its scores.
struct ScoredCodes {
    CodeSet codes;
    Fitness reward;                 ///< on the reward set (when it was scored there)
    std::optional<Fitness> holdout; ///< on the held-out subset (when it was scored there)
    int64_t episode = -1;           ///< first episode that produced it (-1: a proposal)
    std::string source;             ///< "best-reward", "proposal", "period-best"
};

/// Where rank 0's time went in one call of SearchDriver::run() (not saved: a resumed run
/// counts its own call only). Seconds of steady-clock time, summed over generations.
struct SearchTiming {
    int64_t episodes = 0;    ///< episodes run in this call
    int64_t generations = 0; ///< generations run in this call
    double loop = 0.0;       ///< the generation loop (from the first ask to the last generation)
    double ask = 0.0;        ///< Algorithm::ask()
    double evaluate = 0.0;   ///< reward-set evaluation of the candidates (all ranks' work)
    double tell = 0.0;       ///< Algorithm::tell() and take_log() (e.g. PPO's updates)
    double history = 0.0;    ///< history.jsonl lines and best-so-far bookkeeping
    double checkpoint = 0.0; ///< periodic checkpoints (history synced first)
    double holdout = 0.0;    ///< held-out rounds inside the loop (the final one is not)
    double finish = 0.0;     ///< final held-out round, selection, result files, checkpoint
    /// loop minus its parts: the progress bar, signal and budget checks, timer overhead.
    double other() const { return loop - ask - evaluate - tell - history - checkpoint - holdout; }
};

struct SearchSummary {
    SearchStatus status = SearchStatus::Finished;
    int signal = 0;
    int64_t episodes = 0;
    int64_t evaluations = 0;
    int64_t macs = 0; ///< the search's reward-set MACs (DriverState::macs)
    /// MACs of `evaluations` full forwards on the reward set (0 when the evaluator does not
    /// count): macs / full_macs is the share suffix replay left.
    int64_t full_macs = 0;
    double wall_seconds = 0.0;
    SearchTiming timing;                      ///< this call's time by part (rank 0)
    std::optional<ScoredCodes> unconstrained; ///< best reward
    std::optional<ScoredCodes> constrained;   ///< best held-out accuracy within the drop limit
    bool constraint_met = false;
};

/// Runs a search on rank 0 (the evaluator reaches the other ranks):
///
///     resume from <out>/checkpoint.h5 when present (same resume_key)
///     loop: stop on budget, algorithm.finished(), signal (SIGTERM/SIGINT/SIGUSR1) or
///           stop_after
///         candidates = algorithm.ask()    (cut to the remaining budget)
///         scores = evaluator.evaluate(candidates); algorithm.tell(candidates, scores)
///         history: one line per episode and per algorithm log record
///         every eval_every episodes: score the best-reward, the period's best and the
///             algorithm's proposal on the held-out subset
///         every checkpoint_every generations: checkpoint (history synced first)
///     finally: for a method with a front (nsga2, lloyd in the allocation space), the front
///         scored on both sets -> front.json, its points joining the held-out pool;
///         result.json (constrained best, or with search.target_drop the highest held-out
///         coverage within that drop), result_unconstrained.json, checkpoint
///
/// Files in out_dir: result.json, result_unconstrained.json, history.jsonl, checkpoint.h5;
/// all but the history are replaced atomically, and the history is cut back to its
/// checkpointed length on resume, so an interrupted and resumed run writes exactly the files
/// of an uninterrupted one (wall times aside).
class SearchDriver {
public:
    SearchDriver(search::Algorithm& algorithm, Evaluator& evaluator, DriverSettings settings);
    ~SearchDriver();
    SearchDriver(const SearchDriver&) = delete;
    SearchDriver& operator=(const SearchDriver&) = delete;

    /// @throws ConfigError when the checkpoint belongs to another config; IoError/InputError
    /// for unreadable or damaged files.
    SearchSummary run();

    static constexpr const char* kCheckpoint = "checkpoint.h5";
    static constexpr const char* kHistory = "history.jsonl";
    static constexpr const char* kResult = "result.json";
    static constexpr const char* kUnconstrained = "result_unconstrained.json";
    /// Written only by multi-objective methods (Algorithm::front(), nsga2): front_writer.h.
    static constexpr const char* kFront = "front.json";

private:
    struct Loop; // one call's state, history file and progress bar

    int64_t budget_left(const Loop& loop) const; ///< episodes left (0: stop)
    SearchSummary summary(const Loop& loop, SearchStatus status) const;
    void save_checkpoint(Loop& loop);                     ///< history synced first
    SearchSummary pause(Loop& loop, SearchStatus status); ///< checkpoint, then stop
    void generation(Loop& loop, int64_t left);            ///< ask, evaluate, tell, log
    void holdout_round(Loop& loop);                       ///< score new bests on the holdout
    SearchSummary finish(Loop& loop);                     ///< final round, selection, results
    /// A front-giving method's front: scored on both sets, added to the held-out pool,
    /// written to front.json.
    void score_front(Loop& loop);

    search::Algorithm& algorithm_;
    Evaluator& evaluator_;
    DriverSettings settings_;
};

} // namespace triseg::search
