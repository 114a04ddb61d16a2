// The two result files of a search.
#include "search/driver/result_writer.h"

#include "io/result_file.h"
#include "search/driver/console.h"
#include "search/driver/driver_json.h"

namespace triseg::search {

namespace {

void write_result(const DriverSettings& settings,
                  const DriverState& st,
                  const ScoredCodes& s,
                  bool constraint_met,
                  double wall,
                  const std::string& selection,
                  const std::string& kind,
                  const std::string& path) {
    io::ResultFile r;
    r.layer_names = settings.layer_names;
    r.codes = s.codes;
    r.selection = selection;
    r.metrics = {{"acc_teacher", s.holdout->acc_teacher},
                 {"acc_student", s.holdout->acc_student},
                 {"acc_drop", s.holdout->acc_drop()}};
    const auto& info = settings.info;
    r.extra = {{"method", info.method},
               {"kind", kind},
               {"constraint_met", constraint_met},
               {"max_acc_drop", settings.max_acc_drop},
               {"space", info.space},
               {"target_drop", settings.search.target_drop},
               {"target_coverage", settings.search.target_coverage},
               {"seed", info.seed},
               {"ranks", info.ranks},
               {"threads_per_rank", info.threads},
               {"episodes", st.episodes},
               {"evaluations", st.evaluations},
               {"extra_evaluations", st.extra_evaluations},
               {"holdout_evaluations", st.holdout_evaluations},
               {"macs", st.macs},
               {"extra_macs", st.extra_macs},
               {"holdout_macs", st.holdout_macs},
               {"wall_seconds", wall},
               {"found_at_episode", s.episode},
               {"source", s.source},
               {"model", info.model},
               {"temperature", settings.temperature},
               {"holdout", detail::fitness_json(*s.holdout)},
               {"holdout_set", info.holdout_source},
               {"reward", detail::fitness_json(s.reward)},
               {"reward_set", info.reward_source}};
    r.extra["holdout"]["acc_drop"] = s.holdout->acc_drop();
    io::write_result_file(r, path);
}

} // namespace

void write_search_results(const DriverSettings& settings,
                          const DriverState& state,
                          const Selection& selection,
                          int64_t best_episode,
                          double wall_seconds) {
    const std::string& out = settings.out_dir;
    const bool by_coverage = settings.search.target_drop >= 0.0;
    const std::string limit =
        detail::fmt("%.2f", by_coverage ? settings.search.target_drop : settings.max_acc_drop);
    const ScoredCodes& constrained = *selection.constrained;
    std::string met = by_coverage ? "highest-coverage (<= " + limit + "% drop, search.target_drop)"
                                  : "constrained-best (<= " + limit + "% drop)";
    if (settings.search.target_coverage > 0.0) {
        const std::string target = detail::fmt("%.4g", settings.search.target_coverage);
        met += selection.coverage_met
                   ? " among the candidates with covered >= " + target +
                         " on the reward set (search.target_coverage)"
                   : "; NO held-out candidate reached covered >= " + target +
                         " on the reward set (search.target_coverage), so all took part";
    }
    write_result(settings, state, constrained, selection.constraint_met, wall_seconds,
                 selection.constraint_met
                     ? met
                     : "NO candidate met the limit of " + limit +
                           "% drop on the held-out subset; this is the candidate with the "
                           "smallest drop (" +
                           detail::fmt("%.2f", constrained.holdout->acc_drop()) + ")" +
                           (settings.search.target_coverage > 0.0 && selection.coverage_met
                                ? " among those that reach search.target_coverage"
                                : ""),
                 "constrained", out + "/" + SearchDriver::kResult);
    ScoredCodes unconstrained = *selection.unconstrained;
    unconstrained.episode = best_episode;
    write_result(settings, state, unconstrained, selection.constraint_met, wall_seconds,
                 "unconstrained-best (highest reward = lowest KD loss on the reward set)",
                 "unconstrained", out + "/" + SearchDriver::kUnconstrained);
}

} // namespace triseg::search
