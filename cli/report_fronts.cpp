// `triseg report`: "Fronts (test set)".
#include "cli/report_fronts.h"

#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <optional>
#include <utility>

#include "cli/report_fields.h"
#include "cli/sign_flip_test.h"

namespace triseg::cli {

namespace {

/// Fewest seeds two labels must share for the sign-flip test (with fewer, p >= 0.5 always).
constexpr size_t kMinPairedSeeds = 3;

/// One measured point and where it came from.
struct Measured {
    FrontPoint p;
    std::string source; ///< the eval file
    int64_t point = -1; ///< its index in front.json; -1 for an eval_test.json
};

/// Every measured point of one label in one run, by seed.
struct Group {
    std::string method;
    std::string space;
    std::map<int64_t, std::vector<Measured>> seeds;
};

/// Notes printed as `report` prints its others, and kept for the JSON.
class Notes {
public:
    void add(const std::string& text) {
        std::printf("note: %s\n", text.c_str());
        list_.push_back(text);
    }
    const std::vector<std::string>& list() const { return list_; }

private:
    std::vector<std::string> list_;
};

std::string label_of(const std::string& method, const std::string& space) {
    if (space.empty() || space == "codes") {
        return method;
    }
    return method + "+" + (space == "allocation" ? std::string("alloc") : space);
}

/// The test-set coverage of an eval_test.json: its `covered`, or for a file written before
/// that field the layers' fraction_in_range weighted by codes_seen. fraction_in_range was
/// written as count / codes_seen, so llround(fraction * codes_seen) is the count again (the
/// product is within one rounding of it) and the result equals what `covered` holds.
std::optional<double> covered_of(const nlohmann::json& eval, const ReportFields& fields) {
    if (const auto c = fields.number("covered")) {
        return c;
    }
    if (!eval.is_object() || !eval.contains("layers") || !eval["layers"].is_object() ||
        eval["layers"].empty()) {
        return std::nullopt;
    }
    int64_t seen = 0;
    int64_t covered = 0;
    for (const auto& item : eval["layers"].items()) {
        const auto& l = item.value();
        if (!l.is_object() || !l.contains("codes_seen") || !l["codes_seen"].is_number_integer() ||
            !l.contains("fraction_in_range") || !l["fraction_in_range"].is_number()) {
            return std::nullopt;
        }
        const auto n = l["codes_seen"].get<int64_t>();
        seen += n;
        covered += std::llround(l["fraction_in_range"].get<double>() * static_cast<double>(n));
    }
    if (seen <= 0) {
        return std::nullopt;
    }
    return static_cast<double>(covered) / static_cast<double>(seen);
}

/// Mean and sample sd (nullopt for fewer than two values).
std::pair<double, std::optional<double>> mean_sd(const std::vector<double>& v) {
    double m = 0.0;
    for (double x : v) {
        m += x;
    }
    m /= static_cast<double>(v.size());
    if (v.size() < 2) {
        return {m, std::nullopt};
    }
    double var = 0.0;
    for (double x : v) {
        var += (x - m) * (x - m);
    }
    return {m, std::sqrt(var / static_cast<double>(v.size() - 1))};
}

nlohmann::json points_json(const std::vector<FrontPoint>& points) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : points) {
        out.push_back({{"covered", p.covered}, {"acc_drop", p.acc_drop}});
    }
    return out;
}

/// Adds the points of one folder's eval_test.json to `groups`.
void add_test_point(const FrontSource& src,
                    const std::optional<std::string>& method,
                    const std::optional<std::string>& space,
                    const std::optional<int64_t>& seed,
                    std::map<std::pair<std::string, std::string>, Group>& groups,
                    Notes& notes) {
    const std::string file = src.folder + "/eval_test.json";
    const ReportFields t(src.test, file);
    if (!t.is_object()) {
        return; // ReportFields printed why
    }
    const auto drop = t.number("acc_drop");
    const auto covered = covered_of(src.test, t);
    if (!method || !seed) {
        notes.add("'" + file +
                  "': left out of the fronts: its result.json has no method or "
                  "no integer seed");
    } else if (!covered) {
        notes.add("'" + file +
                  "': left out of the fronts: it has no `covered` and no "
                  "per-layer `codes_seen` and `fraction_in_range`; measure it again with "
                  "`triseg eval-codes --codes " +
                  src.folder + "/result.json`");
    } else if (!drop) {
        notes.add("'" + file + "': left out of the fronts: it has no `acc_drop`");
    } else {
        auto& g = groups[{src.run, label_of(*method, space.value_or("codes"))}];
        g.method = *method;
        g.space = space.value_or("codes");
        g.seeds[*seed].push_back({{*covered, *drop}, file, -1});
    }
}

/// Adds the points of one folder's eval_front_test.json to `groups`.
void add_front_points(const FrontSource& src,
                      std::optional<std::string> method,
                      std::optional<std::string> space,
                      std::optional<int64_t> seed,
                      std::map<std::pair<std::string, std::string>, Group>& groups,
                      Notes& notes) {
    const std::string file = src.folder + "/eval_front_test.json";
    const ReportFields f(src.front_test, file);
    if (!f.is_object()) {
        return;
    }
    if (const auto m = f.string("method")) {
        method = m;
    }
    if (const auto s = f.string("space")) {
        space = s;
    }
    if (const auto s = f.integer("seed")) {
        seed = s;
    }
    if (!method || !seed) {
        notes.add("'" + file +
                  "': left out of the fronts: neither it nor its folder's "
                  "result.json has a method and an integer seed");
        return;
    }
    const auto it = src.front_test.find("points");
    if (it == src.front_test.end() || !it->is_array() || it->empty()) {
        notes.add("'" + file + "': left out of the fronts: it has no points");
        return;
    }
    auto& g = groups[{src.run, label_of(*method, space.value_or("codes"))}];
    g.method = *method;
    g.space = space.value_or("codes");
    for (size_t i = 0; i < it->size(); ++i) {
        const std::string where = file + "' point '" + std::to_string(i);
        const ReportFields p((*it)[i], where);
        const auto covered = p.number("covered");
        const auto drop = p.number("acc_drop");
        if (!covered || !drop) {
            notes.add("'" + where +
                      "': left out of the fronts: it has no `covered` or no "
                      "`acc_drop`");
            continue;
        }
        g.seeds[*seed].push_back(
            {{*covered, *drop}, file, p.integer("point").value_or(static_cast<int64_t>(i))});
    }
}

} // namespace

nlohmann::json report_fronts(const std::vector<FrontSource>& sources, const ReferenceBox& box) {
    Notes notes;
    std::map<std::pair<std::string, std::string>, Group> groups; // (run, label)
    for (const auto& src : sources) {
        const ReportFields r(src.result, src.folder + "/result.json");
        const auto method = r.string("method");
        const auto space = r.string("space");
        const auto seed = r.integer("seed");
        if (!src.test.is_null()) {
            add_test_point(src, method, space, seed, groups, notes);
        }
        if (!src.front_test.is_null()) {
            add_front_points(src, method, space, seed, groups, notes);
        }
    }
    nlohmann::json out = {
        {"split", "test"},
        {"box",
         {{"covered", {box.covered_min, box.covered_max}},
          {"acc_drop", {box.drop_min, box.drop_max}}}},
        {"labels", nlohmann::json::array()},
        {"comparisons", nlohmann::json::array()},
    };
    // Seeds' hypervolumes per (run, label), for the comparisons.
    std::map<std::pair<std::string, std::string>, std::map<int64_t, double>> volumes;
    bool header = false;
    for (const auto& [key, g] : groups) {
        if (g.seeds.empty()) {
            continue;
        }
        if (!header) {
            std::printf("\nFronts (test set): per label and seed the non-dominated points "
                        "(higher coverage, lower test drop) and their hypervolume in coverage "
                        "[%g%%, %g%%] x drop [%g, %g] points (1 = the whole box)\n",
                        100 * box.covered_min, 100 * box.covered_max, box.drop_min, box.drop_max);
            std::printf("%-28s %-16s %5s %6s  %-18s %s\n", "run", "label", "seeds", "points",
                        "hypervolume", "per seed (seed: hypervolume)");
            header = true;
        }
        nlohmann::json per_seed = nlohmann::json::array();
        std::vector<double> hv;
        std::vector<std::vector<FrontPoint>> fronts;
        size_t measured = 0;
        std::string seeds_text;
        for (const auto& [seed, points] : g.seeds) {
            std::vector<FrontPoint> pts;
            nlohmann::json pts_json = nlohmann::json::array();
            for (const auto& m : points) {
                pts.push_back(m.p);
                nlohmann::json pj = {
                    {"covered", m.p.covered}, {"acc_drop", m.p.acc_drop}, {"source", m.source}};
                if (m.point >= 0) {
                    pj["point"] = m.point;
                }
                pts_json.push_back(pj);
            }
            measured += pts.size();
            const auto front = non_dominated(pts);
            const double v = hypervolume(front, box);
            hv.push_back(v);
            volumes[key][seed] = v;
            fronts.push_back(front);
            char buf[64];
            std::snprintf(buf, sizeof buf, "%s%lld: %.4f", seeds_text.empty() ? "" : "  ",
                          static_cast<long long>(seed), v);
            seeds_text += buf;
            per_seed.push_back({{"seed", seed},
                                {"hypervolume", v},
                                {"front", points_json(front)},
                                {"points", pts_json}});
        }
        const auto [mean, sd] = mean_sd(hv);
        char summary[64];
        if (sd) {
            std::snprintf(summary, sizeof summary, "%.4f +- %.4f", mean, *sd);
        } else {
            std::snprintf(summary, sizeof summary, "%.4f (1 seed)", mean);
        }
        std::printf("%-28s %-16s %5zu %6zu  %-18s %s\n", key.first.c_str(), key.second.c_str(),
                    g.seeds.size(), measured, summary, seeds_text.c_str());
        out["labels"].push_back({{"run", key.first},
                                 {"label", key.second},
                                 {"method", g.method},
                                 {"space", g.space},
                                 {"seeds", g.seeds.size()},
                                 {"points", measured},
                                 {"hypervolume_mean", mean},
                                 {"hypervolume_sd", sd ? nlohmann::json(*sd) : nlohmann::json()},
                                 {"mean_front", points_json(mean_front(fronts))},
                                 {"per_seed", per_seed}});
    }
    if (!header) {
        out["notes"] = notes.list();
        return out;
    }
    // Paired sign-flip tests between the labels of one run, over the seeds both have.
    bool tests = false;
    for (auto a = volumes.begin(); a != volumes.end(); ++a) {
        for (auto b = std::next(a); b != volumes.end() && b->first.first == a->first.first; ++b) {
            std::vector<int64_t> seeds;
            std::vector<double> diffs;
            for (const auto& [seed, v] : a->second) {
                const auto other = b->second.find(seed);
                if (other != b->second.end()) {
                    seeds.push_back(seed);
                    diffs.push_back(v - other->second);
                }
            }
            if (seeds.size() < kMinPairedSeeds) {
                continue;
            }
            if (!tests) {
                std::printf("paired sign-flip tests on the hypervolumes (exact, two-sided, over "
                            "the seeds both labels have):\n%-28s %-16s %-16s %5s %10s %8s\n",
                            "run", "label a", "label b", "seeds", "mean a-b", "p");
                tests = true;
            }
            const double mean = mean_sd(diffs).first;
            std::optional<double> p;
            if (diffs.size() <= kMaxSignFlipPairs) {
                p = sign_flip_p_value(diffs);
            } else {
                notes.add(a->first.second + " vs " + b->first.second + " in " + a->first.first +
                          ": " + std::to_string(diffs.size()) + " common seeds, more than the " +
                          std::to_string(kMaxSignFlipPairs) +
                          " the exact sign-flip test enumerates; no p-value");
            }
            std::printf("%-28s %-16s %-16s %5zu %10.4f %8s\n", a->first.first.c_str(),
                        a->first.second.c_str(), b->first.second.c_str(), seeds.size(), mean,
                        fixed(p, 4).c_str());
            out["comparisons"].push_back({{"run", a->first.first},
                                          {"a", a->first.second},
                                          {"b", b->first.second},
                                          {"seeds", seeds},
                                          {"mean_difference", mean},
                                          {"p_value", p ? nlohmann::json(*p) : nlohmann::json()}});
        }
    }
    if (!tests) {
        std::printf("(no two labels of a run share %zu seeds: no sign-flip test)\n",
                    kMinPairedSeeds);
    }
    std::printf("(points: each search folder's eval_test.json and eval_front_test.json, the "
                "full test set; label: method, +alloc for the allocation space; one front per "
                "label and seed, pooled over its folders (e.g. a sweep of approx.tmax); points "
                "outside the box count at its edge; mean +- sample sd over seeds)\n");
    out["notes"] = notes.list();
    return out;
}

} // namespace triseg::cli
