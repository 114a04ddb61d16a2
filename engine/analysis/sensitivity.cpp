// Layer sensitivity through suffix replay.
#include "engine/analysis/sensitivity.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"

namespace triseg::engine {

std::vector<LayerSensitivity> layer_sensitivity(const Int8Network& net,
                                                const Int8Inputs& inputs,
                                                const std::vector<std::string>& names,
                                                const CodeSet& codes,
                                                double temperature,
                                                int threads,
                                                int64_t batch,
                                                const std::function<void(int64_t)>& progress) {
    const auto layers = static_cast<size_t>(net.num_layers());
    TRISEG_CHECK(codes.layers.size() == layers && names.size() == layers, InputError,
                 "got codes for " << codes.layers.size() << " layers and " << names.size()
                                  << " names for a model of " << layers << " layers");
    TRISEG_CHECK(batch > 0, ConfigError, "the batch size must be positive, got " << batch);
    std::vector<CodeTable> tables;
    for (size_t i = 0; i < layers; ++i) {
        tables.push_back(make_table(codes.layers[i], names[i]));
    }
    std::vector<LayerSensitivity> out(layers);
    std::vector<int64_t> changed(layers, 0);
    std::vector<int64_t> seen(layers, 0);
    for (size_t i = 0; i < layers; ++i) {
        out[i].name = names[i];
        out[i].codes = codes.layers[i];
    }
    const int64_t classes = net.num_classes();
    std::vector<std::vector<uint8_t>> blocks(layers);
    std::vector<uint8_t*> block_ptrs(layers);
    std::vector<float> teacher(static_cast<size_t>(batch * classes));
    std::vector<float> student(teacher.size());
    for (int64_t first = 0; first < inputs.count; first += batch) {
        const int64_t n = std::min(batch, inputs.count - first);
        for (size_t i = 0; i < layers; ++i) {
            blocks[i].resize(
                static_cast<size_t>(n * net.block_output_size(static_cast<int64_t>(i))));
            block_ptrs[i] = blocks[i].data();
        }
        net.forward_blocks(inputs.codes.data() + first * inputs.image_codes, n, teacher.data(),
                           block_ptrs, {}, threads);
        const int64_t* labels = inputs.labels.data() + first;
        for (size_t k = 0; k < layers; ++k) {
            std::vector<const uint8_t*> one(layers, nullptr);
            one[k] = tables[k].data();
            net.forward_from(static_cast<int64_t>(k), blocks[k].data(), n, student.data(), one,
                             nullptr, threads);
            out[k].stats.merge(
                logit_stats(teacher.data(), student.data(), labels, n, classes, temperature));
            for (uint8_t c : blocks[k]) {
                changed[k] += tables[k][c] != c;
            }
            seen[k] += static_cast<int64_t>(blocks[k].size());
        }
        if (progress) {
            progress(first + n);
        }
    }
    for (size_t k = 0; k < layers; ++k) {
        out[k].fraction_changed =
            seen[k] ? static_cast<double>(changed[k]) / static_cast<double>(seen[k]) : 0.0;
    }
    return out;
}

std::vector<LayerSensitivity> rank_by_kd(std::vector<LayerSensitivity> layers, double temperature) {
    std::stable_sort(layers.begin(), layers.end(),
                     [temperature](const LayerSensitivity& a, const LayerSensitivity& b) {
                         const double ka = a.stats.kd_loss(temperature);
                         const double kb = b.stats.kd_loss(temperature);
                         if (ka != kb) {
                             return ka > kb;
                         }
                         return a.acc_drop() > b.acc_drop();
                     });
    return layers;
}

nlohmann::json sensitivity_json(const std::vector<LayerSensitivity>& ranked, double temperature) {
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
        {"temperature", temperature}, {"images", images}, {"ranking", rows}};
    return nlohmann::json::parse(j.dump());
}

std::string sensitivity_table(const std::vector<LayerSensitivity>& ranked, double temperature) {
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "%4s %-8s %-28s %10s %8s %8s %9s\n", "rank", "layer", "codes",
                  "KD loss", "drop", "agree", "changed");
    out += line;
    for (size_t r = 0; r < ranked.size(); ++r) {
        const auto& l = ranked[r];
        std::snprintf(line, sizeof line, "%4zu %-8s %-28s %10.5f %8.2f %7.2f%% %8.2f%%\n", r + 1,
                      l.name.c_str(), to_string(l.codes).c_str(), l.stats.kd_loss(temperature),
                      l.acc_drop(), l.stats.agreement(), 100 * l.fraction_changed);
        out += line;
    }
    std::snprintf(line, sizeof line,
                  "(one layer approximated at a time; KD loss at T=%g; drop in points)\n",
                  temperature);
    return out + line;
}

} // namespace triseg::engine
