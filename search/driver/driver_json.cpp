// JSON spelling of codes, fitness and scored candidates.
#include "search/driver/driver_json.h"

#include <cstdint>
#include <string>

namespace triseg::search::detail {

using json = nlohmann::json;

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
    json j = {
        {"kd_loss", f.kd_loss},     {"acc_student", f.acc_student}, {"acc_teacher", f.acc_teacher},
        {"agreement", f.agreement}, {"coverage", f.coverage},       {"zeroed", f.zeroed},
        {"covered", f.covered},     {"images", f.images},           {"macs", f.macs}};
    if (f.penalty != 0.0) {
        j["penalty"] = f.penalty;
    }
    return j;
}

Fitness fitness_from(const json& j) {
    Fitness f;
    f.kd_loss = j.at("kd_loss").get<double>();
    f.acc_student = j.at("acc_student").get<double>();
    f.acc_teacher = j.at("acc_teacher").get<double>();
    f.agreement = j.at("agreement").get<double>();
    f.coverage = j.at("coverage").get<double>();
    f.zeroed = j.at("zeroed").get<double>();
    f.covered = j.at("covered").get<double>();
    f.penalty = j.value("penalty", 0.0);
    f.images = j.at("images").get<int64_t>();
    f.macs = j.value("macs", int64_t{0});
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

} // namespace triseg::search::detail
