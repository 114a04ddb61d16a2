// Offline replay from stored codes (each layer from its stored live set).
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

namespace {

/// The dump's description of tensor `t` ([channels, side, side]).
io::ActsLayer dump_tensor(const models::Int8Tensor& t, bool pool_after) {
    TRISEG_CHECK(t.height == t.width, InputError,
                 "tensor '" << t.name << "' is " << t.channels << "x" << t.height << "x" << t.width
                            << "; an activation dump holds square feature maps only");
    return {t.name, t.channels, t.height, pool_after, t.quant.scale, t.quant.zero_point};
}

} // namespace

std::vector<io::ActsLayer> dump_layers(const Int8Network& net) {
    std::vector<io::ActsLayer> out;
    for (int64_t i = 0; i < net.num_layers(); ++i) {
        const bool pool = net.is_chain() && net.model().convs[static_cast<size_t>(i)].pool_after;
        out.push_back(dump_tensor(net.block_tensor(i), pool));
    }
    return out;
}

std::vector<io::ActsLayer> dump_live(const Int8Network& net) {
    std::vector<io::ActsLayer> out;
    for (int32_t x : net.live_non_points()) {
        out.push_back(dump_tensor(net.graph().tensors[static_cast<size_t>(x)], false));
    }
    return out;
}

namespace {

/// Checks the dump's `got` (layers or live tensors, `what` for messages) against the model's
/// `want`, in order.
void check_same(const std::vector<io::ActsLayer>& got,
                const std::vector<io::ActsLayer>& want,
                const char* what,
                const std::string& dump,
                const std::string& model_path) {
    std::vector<std::string> got_names;
    std::vector<std::string> want_names;
    for (const auto& l : got) {
        got_names.push_back(l.name);
    }
    for (const auto& l : want) {
        want_names.push_back(l.name);
    }
    TRISEG_CHECK(got_names == want_names, InputError,
                 dump << " has " << what << " [" << names_of(got_names)
                      << "] but the integer model '" << model_path << "' has ["
                      << names_of(want_names) << "]");
    for (size_t i = 0; i < got.size(); ++i) {
        const auto& d = got[i];
        const auto& m = want[i];
        TRISEG_CHECK(d.channels == m.channels && d.side == m.side && d.pool_after == m.pool_after,
                     InputError,
                     dump << ": " << d.name << " is [" << d.channels << ", " << d.side << ", "
                          << d.side << "]" << (d.pool_after ? " with a pool after it" : "")
                          << " but the model '" << model_path << "' gives [" << m.channels << ", "
                          << m.side << ", " << m.side << "]"
                          << (m.pool_after ? " with a pool after it" : ""));
        TRISEG_CHECK(d.scale == m.scale && d.zero_point == m.zero_point, InputError,
                     dump << ": " << d.name << " has scale " << d.scale << " zero point "
                          << d.zero_point << " but the model '" << model_path << "' has " << m.scale
                          << " / " << m.zero_point << " (dumped with another model?)");
    }
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
    check_same(dump.layers, dump_layers(net), "layers", what, model_path);
    check_same(dump.live, dump_live(net), "live tensors (/live)", what, model_path);
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
    std::vector<float> logits(static_cast<size_t>(batch * classes));
    // Where each tensor of the model is stored in the dump: a layer (>= 0) or a live tensor
    // (-1 - its index in /live).
    const auto& tensors = net.graph().tensors;
    std::vector<int64_t> where(tensors.size(), 0);
    for (size_t k = 0; k < layers; ++k) {
        where[static_cast<size_t>(net.live_tensors(static_cast<int64_t>(k))[0])] =
            static_cast<int64_t>(k);
    }
    for (size_t j = 0; j < net.live_non_points().size(); ++j) {
        where[static_cast<size_t>(net.live_non_points()[j])] = -1 - static_cast<int64_t>(j);
    }
    // Block k's live set of images [first, first + n) into `bufs`; returns the pointers.
    std::vector<std::vector<uint8_t>> bufs;
    const auto read_live = [&](int64_t k, int64_t first, int64_t n) {
        const auto& live = net.live_tensors(k);
        bufs.resize(std::max(bufs.size(), live.size()));
        std::vector<const uint8_t*> ptrs;
        const auto t = std::chrono::steady_clock::now();
        for (size_t j = 0; j < live.size(); ++j) {
            const auto x = static_cast<size_t>(live[j]);
            bufs[j].resize(static_cast<size_t>(n * tensors[x].size()));
            if (where[x] >= 0) {
                dump.read_codes(static_cast<size_t>(where[x]), first, n, bufs[j].data());
            } else {
                dump.read_live_codes(static_cast<size_t>(-1 - where[x]), first, n, bufs[j].data());
            }
            ptrs.push_back(bufs[j].data());
        }
        r.read_seconds += since(t);
        return ptrs;
    };

    // Teacher: replayed from the last stored layer's live set, without tables.
    std::vector<float> teacher(static_cast<size_t>(h.images * classes));
    const auto last = static_cast<int64_t>(layers - 1);
    for (int64_t first = 0; first < h.images; first += batch) {
        const int64_t n = std::min(batch, h.images - first);
        const auto live = read_live(last, first, n);
        const auto t = std::chrono::steady_clock::now();
        net.forward_from(last, live, n, teacher.data() + first * classes, {}, nullptr, threads);
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
        // Layer k's table alone: the other stored points of its live set are the teacher's.
        std::vector<const uint8_t*> tables(layers, nullptr);
        tables[k] = l.approximated ? table.data() : nullptr;
        for (int64_t first = 0; first < h.images; first += batch) {
            const int64_t n = std::min(batch, h.images - first);
            const auto live = read_live(static_cast<int64_t>(k), first, n);
            for (uint8_t c : bufs[0]) {
                ++l.before[c];
            }
            const auto t = std::chrono::steady_clock::now();
            net.forward_from(static_cast<int64_t>(k), live, n, logits.data(), tables, nullptr,
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
    int width = 8; // the layer column: VGG names fit 8, graph names (layer2.1.conv1) need more
    for (const auto& l : layers) {
        width = std::max(width, static_cast<int>(std::min<size_t>(l.name.size(), 64)));
    }
    std::snprintf(line, sizeof line, "%-*s %9s %9s %9s %10s %8s %8s %9s\n", width, "layer",
                  "changed", "zeroed", "code MSE", "KD loss", "acc", "drop", "suffix s");
    out += line;
    for (const auto& l : layers) {
        std::snprintf(line, sizeof line, "%-*s %8.2f%% %8.2f%% %9.3f %10.5f %7.2f%% %8.2f %9.3f\n",
                      width, l.name.c_str(), 100 * l.effect.changed, 100 * l.effect.zeroed,
                      l.effect.mse, l.stats.kd_loss(temperature), l.stats.student_accuracy(),
                      l.stats.teacher_accuracy() - l.stats.student_accuracy(), l.seconds);
        out += line;
    }
    out += "(each row: that layer's stored codes, through its table, replayed through the rest "
           "of the network)\n";
    return out;
}

} // namespace triseg::engine
