// history.jsonl lines.
#include "search/driver/history_writer.h"

#include <nlohmann/json.hpp>

#include "search/driver/driver_json.h"

namespace triseg::search {

using json = nlohmann::json;

void write_episode_line(HistoryLog& history,
                        int64_t episode,
                        int64_t generation,
                        const Fitness& score,
                        const CodeSet& codes,
                        int64_t total_macs,
                        bool with_images) {
    json j = {{"type", "episode"},
              {"episode", episode},
              {"generation", generation},
              {"reward", score.reward()},
              {"kd_loss", score.kd_loss},
              {"acc_student", score.acc_student},
              {"agreement", score.agreement},
              {"coverage", score.coverage},
              {"covered", score.covered},
              {"macs", score.macs},
              {"total_macs", total_macs},
              {"codes", detail::codes_json(codes)}};
    if (with_images) {
        j["images"] = score.images;
    }
    if (!score.point_mse.empty()) { // ppo.layer_reward / ppo.align: the feature distances
        j["point_mse"] = score.point_mse;
    }
    history.write(j);
}

void write_algorithm_line(HistoryLog& history, int64_t episode, const LogRecord& record) {
    json j = {{"type", record.kind}, {"episode", episode}};
    for (const auto& [k, v] : record.values) {
        j[k] = v;
    }
    history.write(j);
}

void write_eval_line(HistoryLog& history, int64_t episode, const ScoredCodes& scored) {
    json rec = {{"type", "eval"},
                {"episode", episode},
                {"source", scored.source},
                {"found_at_episode", scored.episode},
                {"reward_kd_loss", scored.reward.kd_loss},
                {"holdout", detail::fitness_json(*scored.holdout)},
                {"codes", detail::codes_json(scored.codes)}};
    history.write(rec);
}

} // namespace triseg::search
