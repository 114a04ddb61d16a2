// Layer sensitivity through suffix replay.
#include "engine/analysis/sensitivity.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"

namespace triseg::engine {

std::string to_string(SensitivityMode mode) {
    return mode == SensitivityMode::LeaveOneOut ? "leave-one-out" : "leave-one-in";
}

SensitivityMode parse_sensitivity_mode(const std::string& name) {
    if (name == "leave-one-out") {
        return SensitivityMode::LeaveOneOut;
    }
    TRISEG_CHECK(name == "leave-one-in", ConfigError,
                 "--mode must be leave-one-out (every layer approximated but one) or "
                 "leave-one-in (one layer approximated), got '"
                     << name << "'");
    return SensitivityMode::LeaveOneIn;
}

SensitivityReport layer_sensitivity(const Int8Network& net,
                                    const Int8Inputs& inputs,
                                    const std::vector<std::string>& names,
                                    const CodeSet& codes,
                                    SensitivityMode mode,
                                    double temperature,
                                    int threads,
                                    int64_t batch,
                                    const std::function<void(int64_t)>& progress) {
    const auto layers = static_cast<size_t>(net.num_layers());
    TRISEG_CHECK(codes.layers.size() == layers && names.size() == layers, InputError,
                 "got codes for " << codes.layers.size() << " layers and " << names.size()
                                  << " names for a model of " << layers << " layers");
    TRISEG_CHECK(batch > 0, ConfigError, "the batch size must be positive, got " << batch);
    const bool out_mode = mode == SensitivityMode::LeaveOneOut;
    std::vector<CodeTable> tables;
    std::vector<const uint8_t*> all;
    for (size_t i = 0; i < layers; ++i) {
        tables.push_back(make_table(codes.layers[i], names[i]));
    }
    for (const auto& t : tables) {
        all.push_back(t.data());
    }
    SensitivityReport r;
    r.mode = mode;
    r.layers.resize(layers);
    std::vector<int64_t> changed(layers, 0);
    std::vector<int64_t> seen(layers, 0);
    for (size_t i = 0; i < layers; ++i) {
        r.layers[i].name = names[i];
        r.layers[i].codes = codes.layers[i];
    }
    const int64_t classes = net.num_classes();
    // Per tensor: the stored codes of every block output and of every other tensor live at
    // some block's cut (what a replay from any block needs), empty for the rest.
    const auto& tensors = net.graph().tensors;
    std::vector<bool> stored(tensors.size(), false);
    for (size_t k = 0; k < layers; ++k) {
        stored[static_cast<size_t>(net.live_tensors(static_cast<int64_t>(k))[0])] = true;
    }
    for (int32_t t : net.live_non_points()) {
        stored[static_cast<size_t>(t)] = true;
    }
    std::vector<std::vector<uint8_t>> values(tensors.size());
    std::vector<uint8_t*> keep(tensors.size(), nullptr);
    std::vector<float> teacher(static_cast<size_t>(batch * classes));
    std::vector<float> student(teacher.size());
    for (int64_t first = 0; first < inputs.count; first += batch) {
        const int64_t n = std::min(batch, inputs.count - first);
        for (size_t t = 0; t < tensors.size(); ++t) {
            if (stored[t]) {
                values[t].resize(static_cast<size_t>(n * tensors[t].size()));
                keep[t] = values[t].data();
            }
        }
        const uint8_t* images = inputs.codes.data() + first * inputs.image_codes;
        const int64_t* labels = inputs.labels.data() + first;
        if (out_mode) {
            // Live sets of the all-approximated student (block outputs before each table):
            // block k's is what layer k sees with every earlier layer approximated.
            net.forward(images, n, teacher.data(), {}, nullptr, threads);
            net.forward_tensors(images, n, student.data(), keep, all, threads);
            r.all_approximated.merge(
                logit_stats(teacher.data(), student.data(), labels, n, classes, temperature));
        } else {
            net.forward_tensors(images, n, teacher.data(), keep, {}, threads);
        }
        for (size_t k = 0; k < layers; ++k) {
            std::vector<const uint8_t*> use(layers, nullptr);
            if (out_mode) {
                use = all;
                use[k] = nullptr;
            } else {
                use[k] = all[k];
            }
            // Replay from block k's live set: it was made under the same earlier tables.
            std::vector<const uint8_t*> live;
            for (int32_t t : net.live_tensors(static_cast<int64_t>(k))) {
                live.push_back(values[static_cast<size_t>(t)].data());
            }
            net.forward_from(static_cast<int64_t>(k), live, n, student.data(), use, nullptr,
                             threads);
            r.layers[k].stats.merge(
                logit_stats(teacher.data(), student.data(), labels, n, classes, temperature));
            const auto& block =
                values[static_cast<size_t>(net.live_tensors(static_cast<int64_t>(k))[0])];
            for (uint8_t c : block) {
                changed[k] += tables[k][c] != c;
            }
            seen[k] += static_cast<int64_t>(block.size());
        }
        if (progress) {
            progress(first + n);
        }
    }
    for (size_t k = 0; k < layers; ++k) {
        r.layers[k].fraction_changed =
            seen[k] ? static_cast<double>(changed[k]) / static_cast<double>(seen[k]) : 0.0;
    }
    return r;
}

std::vector<LayerSensitivity>
rank_by_kd(std::vector<LayerSensitivity> layers, SensitivityMode mode, double temperature) {
    // Leave-one-in: a large KD loss marks a sensitive layer; leave-one-out: a small one (the
    // network recovers most when that layer is exact).
    const double sign = mode == SensitivityMode::LeaveOneIn ? 1.0 : -1.0;
    std::stable_sort(layers.begin(), layers.end(),
                     [temperature, sign](const LayerSensitivity& a, const LayerSensitivity& b) {
                         const double ka = sign * a.stats.kd_loss(temperature);
                         const double kb = sign * b.stats.kd_loss(temperature);
                         if (ka != kb) {
                             return ka > kb;
                         }
                         return sign * a.acc_drop() > sign * b.acc_drop();
                     });
    return layers;
}

nlohmann::json sensitivity_json(const SensitivityReport& report, double temperature) {
    const auto ranked = rank_by_kd(report.layers, report.mode, temperature);
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (size_t r = 0; r < ranked.size(); ++r) {
        const auto& l = ranked[r];
        rows.push_back({{"rank", r + 1},
                        {"layer", l.name},
                        {"t1_code", l.codes.t1},
                        {"v1_code", l.codes.v1},
                        {"t2_code", l.codes.t2},
                        {"v2_code", l.codes.v2},
                        {"tmax_code", l.codes.tmax},
                        {"kd_loss", l.stats.kd_loss(temperature)},
                        {"acc_teacher", l.stats.teacher_accuracy()},
                        {"acc_student", l.stats.student_accuracy()},
                        {"acc_drop", l.acc_drop()},
                        {"agreement", l.stats.agreement()},
                        {"fraction_changed", l.fraction_changed}});
    }
    const int64_t images = ranked.empty() ? 0 : ranked.front().stats.count;
    nlohmann::ordered_json j = {
        {"mode", to_string(report.mode)}, {"temperature", temperature}, {"images", images}};
    if (report.mode == SensitivityMode::LeaveOneOut) {
        const auto& a = report.all_approximated;
        j["all_approximated"] = {{"kd_loss", a.kd_loss(temperature)},
                                 {"acc_teacher", a.teacher_accuracy()},
                                 {"acc_student", a.student_accuracy()},
                                 {"acc_drop", a.teacher_accuracy() - a.student_accuracy()},
                                 {"agreement", a.agreement()}};
    }
    j["ranking"] = rows;
    return nlohmann::json::parse(j.dump());
}

std::string sensitivity_table(const SensitivityReport& report, double temperature) {
    const auto ranked = rank_by_kd(report.layers, report.mode, temperature);
    std::string out;
    char line[512];
    int w = 8; // the name column (graph names are longer than VGG's)
    for (const auto& l : ranked) {
        w = std::max(w, static_cast<int>(l.name.size()));
    }
    std::snprintf(line, sizeof line, "%4s %-*s %-28s %10s %8s %8s %9s\n", "rank", w, "layer",
                  "codes", "KD loss", "drop", "agree", "changed");
    out += line;
    for (size_t r = 0; r < ranked.size(); ++r) {
        const auto& l = ranked[r];
        std::snprintf(line, sizeof line, "%4zu %-*s %-28s %10.5f %8.2f %7.2f%% %8.2f%%\n", r + 1, w,
                      l.name.c_str(), to_string(l.codes).c_str(), l.stats.kd_loss(temperature),
                      l.acc_drop(), l.stats.agreement(), 100 * l.fraction_changed);
        out += line;
    }
    if (report.mode == SensitivityMode::LeaveOneOut) {
        const auto& a = report.all_approximated;
        std::snprintf(line, sizeof line, "%4s %-*s %-28s %10.5f %8.2f %7.2f%%\n", "all", w, "-",
                      "every layer approximated", a.kd_loss(temperature),
                      a.teacher_accuracy() - a.student_accuracy(), a.agreement());
        out += line;
        std::snprintf(line, sizeof line,
                      "(leave-one-out: every layer approximated except the row's layer, most "
                      "sensitive first = smallest KD loss; KD loss at T=%g; drop in points)\n",
                      temperature);
    } else {
        std::snprintf(line, sizeof line,
                      "(leave-one-in: only the row's layer approximated, most sensitive first = "
                      "largest KD loss; KD loss at T=%g; drop in points)\n",
                      temperature);
    }
    return out + line;
}

} // namespace triseg::engine
