// front.json.
#include "search/driver/front_writer.h"

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/result_file.h"
#include "search/driver/driver_json.h"

namespace triseg::search {

void write_front(const DriverSettings& settings,
                 const std::vector<CodeSet>& codes,
                 const std::vector<Fitness>& reward,
                 const std::vector<Fitness>& holdout) {
    using nlohmann::json;
    json points = json::array();
    for (size_t i = 0; i < codes.size(); ++i) {
        io::ResultFile r;
        r.layer_names = settings.layer_names;
        r.codes = codes[i];
        json tmax = json::array();
        for (const auto& l : codes[i].layers) {
            tmax.push_back(l.tmax);
        }
        json h = detail::fitness_json(holdout[i]);
        h["acc_drop"] = holdout[i].acc_drop();
        points.push_back({{"point", i},
                          {"layers", json::parse(io::result_json(r)).at("layers")},
                          {"tmax", tmax},
                          {"kd_loss", reward[i].kd_loss},
                          {"covered", reward[i].covered},
                          {"holdout_acc_drop", holdout[i].acc_drop()},
                          {"reward", detail::fitness_json(reward[i])},
                          {"holdout", h}});
    }
    const json doc = {{"method", settings.info.method},
                      {"seed", settings.info.seed},
                      {"space", settings.info.space},
                      {"objectives", {"kd_loss", "covered"}},
                      {"reward_set", settings.info.reward_source},
                      {"holdout_set", settings.info.holdout_source},
                      {"points", points}};
    io::write_file_atomic(settings.out_dir + "/" + SearchDriver::kFront, doc.dump(2) + "\n");
}

} // namespace triseg::search
