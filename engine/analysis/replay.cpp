// Offline replay from stored codes.
#include "engine/analysis/replay.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/error.h"

namespace triseg::engine {

namespace {

double since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string names_of(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) {
        s += (s.empty() ? "" : ", ") + n;
    }
    return s;
}

} // namespace

void check_dump_matches(const io::ActsHeader& dump,
                        const std::string& dump_path,
                        const Int8Network& net,
                        const std::string& model_path) {
    const std::string what = "activation dump '" + dump_path + "'";
    TRISEG_CHECK(dump.kind == io::ActsKind::Int8, InputError,
                 what << " holds float activations; replay needs an int8 dump "
                      << "(triseg dump-acts --kind int8)");
    std::vector<std::string> dump_names;
    std::vector<std::string> model_names;
    for (const auto& l : dump.layers) {
        dump_names.push_back(l.name);
    }
    for (const auto& l : net.model().convs) {
        model_names.push_back(l.name);
    }
    TRISEG_CHECK(dump_names == model_names, InputError,
                 what << " has layers [" << names_of(dump_names) << "] but the integer model '"
                      << model_path << "' has [" << names_of(model_names) << "]");
    for (size_t i = 0; i < dump.layers.size(); ++i) {
        const auto& d = dump.layers[i];
        const auto& m = net.model().convs[i];
        const int64_t side = net.block_side(static_cast<int64_t>(i));
        TRISEG_CHECK(d.channels == m.out_channels && d.side == side && d.pool_after == m.pool_after,
                     InputError,
                     what << ": layer " << d.name << " is [" << d.channels << ", " << d.side << ", "
                          << d.side << "] but the model '" << model_path << "' gives ["
                          << m.out_channels << ", " << side << ", " << side << "]");
        TRISEG_CHECK(d.scale == m.output.scale && d.zero_point == m.output.zero_point, InputError,
                     what << ": layer " << d.name << " has scale " << d.scale << " zero point "
                          << d.zero_point << " but the model '" << model_path << "' has "
                          << m.output.scale << " / " << m.output.zero_point
                          << " (dumped with another model?)");
    }
}

ReplayReport replay_dump(const io::ActsReader& dump,
                         const Int8Network& net,
                         const CodeSet& codes,
                         double temperature,
                         int threads,
                         int64_t batch,
                         const std::function<void(int64_t, int64_t)>& progress) {
    const io::ActsHeader& h = dump.header();
    const auto layers = h.layers.size();
    TRISEG_CHECK(codes.layers.empty() || codes.layers.size() == layers, InputError,
                 "got codes for " << codes.layers.size() << " layers for a dump of " << layers);
    TRISEG_CHECK(batch > 0, ConfigError, "the batch size must be positive, got " << batch);
    ReplayReport r;
    r.images = h.images;
    r.temperature = temperature;
    const int64_t classes = net.num_classes();
    const auto labels = dump.labels();
    for (size_t i = 0; i < labels.size(); ++i) {
        TRISEG_CHECK(labels[i] >= 0 && labels[i] < classes, InputError,
                     "activation dump '" << dump.path() << "': label " << labels[i] << " of image "
                                         << i << " (dataset '/labels') is not a class of the "
                                         << classes << "-class model; the dump is damaged or "
                                         << "crafted: re-create it with `triseg dump-acts`");
    }
    const int64_t total = h.images * static_cast<int64_t>(layers + 1);
    int64_t done = 0;
    std::vector<uint8_t> buf;
    std::vector<float> logits(static_cast<size_t>(batch * classes));

    // Teacher: the classifier on the last stored layer.
    std::vector<float> teacher(static_cast<size_t>(h.images * classes));
    const auto last = static_cast<int64_t>(layers - 1);
    for (int64_t first = 0; first < h.images; first += batch) {
        const int64_t n = std::min(batch, h.images - first);
        buf.resize(static_cast<size_t>(n * h.layers.back().size()));
        auto t = std::chrono::steady_clock::now();
        dump.read_codes(layers - 1, first, n, buf.data());
        r.read_seconds += since(t);
        t = std::chrono::steady_clock::now();
        net.forward_from(last, buf.data(), n, teacher.data() + first * classes, {}, nullptr,
                         threads);
        r.teacher_seconds += since(t);
        if (progress) {
            progress(done += n, total);
        }
    }

    for (size_t k = 0; k < layers; ++k) {
        ReplayLayer l;
        l.name = h.layers[k].name;
        l.approximated = !codes.layers.empty();
        CodeTable table = identity_table();
        if (l.approximated) {
            l.codes = codes.layers[k];
            table = make_table(l.codes, l.name);
        }
        std::vector<const uint8_t*> tables(layers, nullptr);
        tables[k] = l.approximated ? table.data() : nullptr;
        for (int64_t first = 0; first < h.images; first += batch) {
            const int64_t n = std::min(batch, h.images - first);
            buf.resize(static_cast<size_t>(n * h.layers[k].size()));
            auto t = std::chrono::steady_clock::now();
            dump.read_codes(k, first, n, buf.data());
            r.read_seconds += since(t);
            for (uint8_t c : buf) {
                ++l.before[c];
            }
            t = std::chrono::steady_clock::now();
            net.forward_from(static_cast<int64_t>(k), buf.data(), n, logits.data(), tables, nullptr,
                             threads);
            l.seconds += since(t);
            l.stats.merge(logit_stats(teacher.data() + first * classes, logits.data(),
                                      labels.data() + first, n, classes, temperature));
            if (progress) {
                progress(done += n, total);
            }
        }
        l.effect = table_effect(l.before, table);
        r.layers.push_back(l);
    }
    return r;
}

nlohmann::json ReplayReport::to_json() const {
    nlohmann::ordered_json ls = nlohmann::ordered_json::object();
    for (const auto& l : layers) {
        nlohmann::ordered_json j;
        if (l.approximated) {
            j["codes"] = {{"t1_code", l.codes.t1},
                          {"v1_code", l.codes.v1},
                          {"t2_code", l.codes.t2},
                          {"v2_code", l.codes.v2},
                          {"tmax_code", l.codes.tmax}};
        }
        j["fraction_changed"] = l.effect.changed;
        j["fraction_zeroed"] = l.effect.zeroed;
        j["code_mse"] = l.effect.mse;
        j["kd_loss"] = l.stats.kd_loss(temperature);
        j["acc_teacher"] = l.stats.teacher_accuracy();
        j["acc_student"] = l.stats.student_accuracy();
        j["acc_drop"] = l.stats.teacher_accuracy() - l.stats.student_accuracy();
        j["agreement"] = l.stats.agreement();
        j["suffix_seconds"] = l.seconds;
        j["histogram_before"] = std::vector<int64_t>(l.before.begin(), l.before.end());
        j["histogram_after"] = std::vector<int64_t>(l.effect.after.begin(), l.effect.after.end());
        ls[l.name] = j;
    }
    const double acc = layers.empty() ? 0.0 : layers.front().stats.teacher_accuracy();
    nlohmann::ordered_json j = {{"images", images},
                                {"temperature", temperature},
                                {"acc_teacher", acc},
                                {"teacher_seconds", teacher_seconds},
                                {"read_seconds", read_seconds},
                                {"layers", ls}};
    return nlohmann::json::parse(j.dump());
}

std::string ReplayReport::table() const {
    std::string out;
    char line[256];
    const double acc = layers.empty() ? 0.0 : layers.front().stats.teacher_accuracy();
    std::snprintf(line, sizeof line,
                  "images %lld  teacher %.2f%% (from the stored codes)  KD loss at T=%g\n",
                  static_cast<long long>(images), acc, temperature);
    out += line;
    std::snprintf(line, sizeof line, "%-8s %9s %9s %9s %10s %8s %8s %9s\n", "layer", "changed",
                  "zeroed", "code MSE", "KD loss", "acc", "drop", "suffix s");
    out += line;
    for (const auto& l : layers) {
        std::snprintf(line, sizeof line, "%-8s %8.2f%% %8.2f%% %9.3f %10.5f %7.2f%% %8.2f %9.3f\n",
                      l.name.c_str(), 100 * l.effect.changed, 100 * l.effect.zeroed, l.effect.mse,
                      l.stats.kd_loss(temperature), l.stats.student_accuracy(),
                      l.stats.teacher_accuracy() - l.stats.student_accuracy(), l.seconds);
        out += line;
    }
    out += "(each row: that layer's stored codes, through its table, replayed through the rest "
           "of the network)\n";
    return out;
}

} // namespace triseg::engine
