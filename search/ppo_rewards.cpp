// PPO's episode rewards: the KD (or a temperature curriculum's stage KD), feature alignment and
// ranking.
#include "search/ppo_rewards.h"

#include <algorithm>

#include "common/error.h"

namespace triseg::search {

std::vector<double> ppo_ranked_rewards(const std::vector<double>& rewards) {
    const size_t n = rewards.size();
    std::vector<double> out(n, 0.0);
    if (n < 2) {
        return out;
    }
    for (size_t i = 0; i < n; ++i) {
        size_t below = 0;
        size_t equal = 0;
        for (double r : rewards) {
            below += r < rewards[i] ? 1 : 0;
            equal += r == rewards[i] ? 1 : 0;
        }
        // The mean of the 0-based ranks below .. below + equal - 1 that the ties share.
        const double rank = static_cast<double>(below) + static_cast<double>(equal - 1) / 2.0;
        out[i] = 2.0 * rank / static_cast<double>(n - 1) - 1.0;
    }
    return out;
}

std::vector<int32_t>
ppo_align_points(const PpoOptions& opt, const std::vector<std::string>& names, int64_t layers) {
    TRISEG_CHECK(opt.align > 0.0 || opt.align_points.empty(), ConfigError,
                 "`ppo.align_points` is set but `ppo.align` is 0: set a weight for the "
                 "feature-alignment term, or leave align_points empty");
    std::vector<int32_t> out;
    if (opt.align_points.empty()) {
        for (int64_t l = 0; l < layers; ++l) {
            out.push_back(static_cast<int32_t>(l));
        }
        return out;
    }
    TRISEG_CHECK(static_cast<int64_t>(names.size()) == layers, ConfigError,
                 "`ppo.align_points` needs the model's point names");
    size_t begin = 0;
    while (begin <= opt.align_points.size()) {
        size_t end = opt.align_points.find(',', begin);
        if (end == std::string::npos) {
            end = opt.align_points.size();
        }
        std::string name = opt.align_points.substr(begin, end - begin);
        name.erase(0, name.find_first_not_of(' '));
        name.erase(name.find_last_not_of(' ') + 1);
        const auto it = std::find(names.begin(), names.end(), name);
        TRISEG_CHECK(it != names.end(), ConfigError,
                     "`ppo.align_points` names '" << name << "', which is not a point of the "
                                                  << "model (`triseg describe --run-dir RUN` "
                                                     "lists them; the first is '"
                                                  << names.front() << "')");
        const auto p = static_cast<int32_t>(it - names.begin());
        TRISEG_CHECK(std::find(out.begin(), out.end(), p) == out.end(), ConfigError,
                     "`ppo.align_points` names '" << name << "' twice");
        out.push_back(p);
        begin = end + 1;
    }
    return out;
}

std::vector<double> ppo_episode_rewards(const PpoOptions& opt,
                                        const std::vector<engine::Fitness>& scores,
                                        int64_t first_episode,
                                        const std::vector<int32_t>& align_points,
                                        int64_t layers) {
    std::vector<double> rewards;
    for (const auto& f : scores) {
        TRISEG_CHECK(!opt.needs_point_mse() || f.point_mse.size() == static_cast<size_t>(layers),
                     ConfigError,
                     "ppo.layer_reward and ppo.align need the feature distance of every point "
                     "(an evaluator whose reward set keeps the teacher's point codes); got "
                         << f.point_mse.size() << " for " << layers << " layers");
        double r = f.reward();
        if (!opt.temperatures.empty()) {
            // The curriculum's stage of this episode, and -KD at its temperature.
            const size_t stage = static_cast<size_t>(std::min<int64_t>(
                (first_episode + static_cast<int64_t>(rewards.size())) / opt.temperature_episodes,
                static_cast<int64_t>(opt.temperatures.size()) - 1));
            TRISEG_CHECK(f.kd_at.size() == opt.temperatures.size(), ConfigError,
                         "ppo.temperatures needs the KD loss at each of its "
                             << opt.temperatures.size()
                             << " temperatures (an evaluator with them as extra temperatures); got "
                             << f.kd_at.size());
            r = -(f.kd_at[stage] + f.penalty);
        }
        if (opt.align > 0.0) {
            double distance = 0.0;
            for (int32_t p : align_points) {
                distance += f.point_mse[static_cast<size_t>(p)];
            }
            r -= opt.align * distance;
        }
        rewards.push_back(r);
    }
    if (opt.reward_kind() == PpoReward::Ranked) {
        rewards = ppo_ranked_rewards(rewards);
    }
    return rewards;
}

} // namespace triseg::search
