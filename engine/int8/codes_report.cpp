// Code-set evaluation and its report.
#include "engine/int8/codes_report.h"

#include <algorithm>

#include <chrono>
#include <cstdio>

#include "common/error.h"

namespace triseg::engine {

LayerCoverage layer_coverage(const std::string& name,
                             const LayerCodes& codes,
                             const CodeTable& table,
                             const CodeHistogram& histogram) {
    LayerCoverage c;
    c.name = name;
    c.codes = codes;
    int64_t changed = 0;
    int64_t zeroed = 0;
    int64_t zero_after = 0;
    int64_t covered = 0;
    for (int v = 0; v < 256; ++v) {
        const int64_t h = histogram[v];
        c.total += h;
        changed += table[v] != v ? h : 0;
        zeroed += (v != 0 && table[v] == 0) ? h : 0;
        zero_after += table[v] == 0 ? h : 0;
        covered += v <= codes.tmax ? h : 0;
    }
    c.changed_codes = changed;
    c.covered_codes = covered;
    const double total = c.total ? static_cast<double>(c.total) : 1.0;
    c.changed = static_cast<double>(changed) / total;
    c.zeroed = static_cast<double>(zeroed) / total;
    c.covered = static_cast<double>(covered) / total;
    c.zero_before = static_cast<double>(histogram[0]) / total;
    c.zero_after = static_cast<double>(zero_after) / total;
    return c;
}

std::vector<float> teacher_logits(const Int8Network& net, const Int8Inputs& inputs, int threads) {
    std::vector<float> teacher(static_cast<size_t>(inputs.count * net.num_classes()));
    net.forward(inputs.codes.data(), inputs.count, teacher.data(), {}, nullptr, threads);
    return teacher;
}

CodesReport evaluate_codes(const Int8Network& net,
                           const Int8Inputs& inputs,
                           const std::vector<std::string>& layer_names,
                           const CodeSet& codes,
                           double temperature,
                           int threads) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<float> teacher = teacher_logits(net, inputs, threads);
    CodesReport r = evaluate_codes(net, inputs, layer_names, codes, temperature, threads, teacher);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

CodesReport evaluate_codes(const Int8Network& net,
                           const Int8Inputs& inputs,
                           const std::vector<std::string>& layer_names,
                           const CodeSet& codes,
                           double temperature,
                           int threads,
                           const std::vector<float>& teacher) {
    const auto start = std::chrono::steady_clock::now();
    const auto layers = static_cast<size_t>(net.num_layers());
    TRISEG_CHECK(codes.layers.size() == layers, InputError,
                 "the code set has " << codes.layers.size() << " layers but the model has "
                                     << layers);
    TRISEG_CHECK(layer_names.size() == layers, InputError,
                 "got " << layer_names.size() << " layer names for a model of " << layers
                        << " layers");
    const int64_t classes = net.num_classes();
    TRISEG_CHECK(teacher.size() == static_cast<size_t>(inputs.count * classes), InputError,
                 "got " << teacher.size() << " teacher logits for " << inputs.count << " images of "
                        << classes << " classes");
    std::vector<CodeTable> tables;
    std::vector<const uint8_t*> table_ptrs;
    tables.reserve(layers);
    for (size_t i = 0; i < layers; ++i) {
        tables.push_back(make_table(codes.layers[i], layer_names[i]));
    }
    for (const auto& t : tables) {
        table_ptrs.push_back(t.data());
    }
    std::vector<float> student(teacher.size());
    std::vector<CodeHistogram> histograms;
    net.forward(inputs.codes.data(), inputs.count, student.data(), table_ptrs, &histograms,
                threads);

    CodesReport r;
    r.temperature = temperature;
    r.stats = logit_stats(teacher.data(), student.data(), inputs.labels.data(), inputs.count,
                          classes, temperature);
    for (size_t i = 0; i < layers; ++i) {
        r.layers.push_back(
            layer_coverage(layer_names[i], codes.layers[i], tables[i], histograms[i]));
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

int64_t CodesReport::codes_seen() const {
    int64_t n = 0;
    for (const auto& l : layers) {
        n += l.total;
    }
    return n;
}

double CodesReport::covered() const {
    int64_t covered = 0;
    for (const auto& l : layers) {
        covered += l.covered_codes;
    }
    const int64_t n = codes_seen();
    return n > 0 ? static_cast<double>(covered) / static_cast<double>(n) : 0.0;
}

double CodesReport::coverage() const {
    int64_t changed = 0;
    for (const auto& l : layers) {
        changed += l.changed_codes;
    }
    const int64_t n = codes_seen();
    return n > 0 ? static_cast<double>(changed) / static_cast<double>(n) : 0.0;
}

nlohmann::json CodesReport::to_json() const {
    nlohmann::ordered_json layers_json = nlohmann::ordered_json::object();
    for (const auto& l : layers) {
        layers_json[l.name] = {{"t1_code", l.codes.t1},
                               {"v1_code", l.codes.v1},
                               {"t2_code", l.codes.t2},
                               {"v2_code", l.codes.v2},
                               {"tmax_code", l.codes.tmax},
                               {"codes_seen", l.total},
                               {"fraction_changed", l.changed},
                               {"fraction_zeroed", l.zeroed},
                               {"fraction_in_range", l.covered},
                               {"zero_fraction_before", l.zero_before},
                               {"zero_fraction_after", l.zero_after}};
    }
    nlohmann::ordered_json j = {{"images", stats.count},
                                {"acc_teacher", acc_teacher()},
                                {"acc_student", acc_student()},
                                {"acc_drop", acc_drop()},
                                {"agreement", stats.agreement()},
                                {"kd_loss", kd_loss()},
                                {"temperature", temperature},
                                {"codes_seen", codes_seen()},
                                {"covered", covered()},
                                {"coverage", coverage()},
                                {"seconds", seconds},
                                {"layers", layers_json}};
    return nlohmann::json::parse(j.dump());
}

std::string CodesReport::table() const {
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line,
                  "images %lld  teacher %.2f%%  student %.2f%%  drop %.2f points  agreement "
                  "%.2f%%  KD loss (T=%g) %.5f\n",
                  static_cast<long long>(stats.count), acc_teacher(), acc_student(), acc_drop(),
                  stats.agreement(), temperature, kd_loss());
    out += line;
    std::snprintf(line, sizeof line,
                  "codes %lld  covered %.2f%% (code <= tmax)  coverage %.2f%% (changed by the "
                  "tables)\n",
                  static_cast<long long>(codes_seen()), 100 * covered(), 100 * coverage());
    out += line;
    int w = 8; // the name column: VGG names fit 8; graph names (layer2.1.conv1) are longer
    for (const auto& l : layers) {
        w = std::max(w, static_cast<int>(l.name.size()));
    }
    std::snprintf(line, sizeof line, "%-*s %4s %4s %4s %4s %4s %9s %9s %9s %9s %9s\n", w, "layer",
                  "t1", "v1", "t2", "v2", "tmax", "covered", "changed", "zeroed", "zeros<",
                  "zeros>");
    out += line;
    for (const auto& l : layers) {
        std::snprintf(line, sizeof line,
                      "%-*s %4d %4d %4d %4d %4d %8.2f%% %8.2f%% %8.2f%% %8.2f%% %8.2f%%\n", w,
                      l.name.c_str(), l.codes.t1, l.codes.v1, l.codes.t2, l.codes.v2, l.codes.tmax,
                      100 * l.covered, 100 * l.changed, 100 * l.zeroed, 100 * l.zero_before,
                      100 * l.zero_after);
        out += line;
    }
    out += "(covered: fraction of the layer's output codes <= tmax, which the table maps to 0, v1 "
           "or v2; changed/zeroed: fraction the table changes / turns to 0; zeros< / zeros>: "
           "fraction of zeros before / after the table; the summary line weights the layers by "
           "their code counts)\n";
    return out;
}

} // namespace triseg::engine
