// result.json reading and writing.
#include "io/result_file.h"

#include <set>

#include "common/error.h"
#include "common/option_checks.h"
#include "io/atomic_file.h"
#include "io/json_file.h"

namespace triseg::io {

namespace {

constexpr const char* kFields[] = {"t1_code", "v1_code", "t2_code", "v2_code", "tmax_code"};

int32_t read_code(const nlohmann::json& layer,
                  const char* field,
                  const std::string& name,
                  const std::string& path) {
    TRISEG_CHECK(layer.contains(field), InputError,
                 "'" << path << "': layer " << name << " has no '" << field << "'");
    const auto& v = layer.at(field);
    TRISEG_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= 255,
                 InputError,
                 "'" << path << "': layers." << name << "." << field
                     << " must be an integer code in [0, 255], got " << v.dump());
    return v.get<int32_t>();
}

/// The codes and fields of one result object `doc`; `path` names it in messages.
ResultFile parse_result(const nlohmann::json& doc,
                        const std::string& path,
                        const std::vector<std::string>& model_layers) {
    TRISEG_CHECK(doc.is_object() && doc.contains("layers") && doc["layers"].is_object(), InputError,
                 "'" << path << "' has no \"layers\" object; expected the result.json format "
                     << "{\"layers\": {\"conv1_1\": {\"t1_code\": ..., ...}, ...}}");
    const auto& layers = doc["layers"];
    std::vector<std::string> unknown;
    for (const auto& item : layers.items()) {
        if (std::find(model_layers.begin(), model_layers.end(), item.key()) == model_layers.end()) {
            unknown.push_back(item.key());
        }
    }
    std::vector<std::string> missing;
    for (const auto& name : model_layers) {
        if (!layers.contains(name)) {
            missing.push_back(name);
        }
    }
    // Both lists in one message: a codes file of another network names them all at once.
    TRISEG_CHECK(unknown.empty(), InputError,
                 "'" << path << "' names layers the model does not have: " << detail::join(unknown)
                     << (missing.empty() ? "" : "; and has no codes for its layers ")
                     << (missing.empty() ? "" : detail::join(missing))
                     << "; the model's layers are " << detail::join(model_layers)
                     << " (a codes file of another model?)");
    TRISEG_CHECK(missing.empty(), InputError,
                 "'" << path << "' has no codes for layers " << detail::join(missing)
                     << "; every layer needs t1_code, v1_code, t2_code, v2_code, tmax_code");

    ResultFile r;
    r.layer_names = model_layers;
    for (const auto& name : model_layers) {
        const auto& l = layers.at(name);
        TRISEG_CHECK(l.is_object(), InputError,
                     "'" << path << "': layers." << name << " must be an object");
        LayerCodes c;
        c.t1 = read_code(l, kFields[0], name, path);
        c.v1 = read_code(l, kFields[1], name, path);
        c.t2 = read_code(l, kFields[2], name, path);
        c.v2 = read_code(l, kFields[3], name, path);
        c.tmax = read_code(l, kFields[4], name, path);
        try {
            validate_map(c, name);
        } catch (const InputError& e) {
            throw InputError("'" + path + "': " + e.what(), e.where());
        }
        r.codes.layers.push_back(c);
    }
    if (doc.contains("backend") && doc["backend"].is_string()) {
        r.backend = doc["backend"].get<std::string>();
    }
    if (doc.contains("selection") && doc["selection"].is_string()) {
        r.selection = doc["selection"].get<std::string>();
    }
    if (doc.contains("metrics") && doc["metrics"].is_object()) {
        r.metrics = doc["metrics"];
    }
    for (const auto& item : doc.items()) {
        if (item.key() != "layers" && item.key() != "backend" && item.key() != "selection" &&
            item.key() != "metrics") {
            r.extra[item.key()] = item.value();
        }
    }
    return r;
}

} // namespace

ResultFile read_result_file(const std::string& file,
                            const std::vector<std::string>& model_layers,
                            int64_t point) {
    const nlohmann::json doc = io::read_json_file(file, "codes file", io::kMaxSmallFileBytes);
    const bool front = doc.is_object() && doc.contains("points") && doc["points"].is_array();
    if (point < 0 && !front) {
        return parse_result(doc, file, model_layers);
    }
    TRISEG_CHECK(front, InputError,
                 "'" << file << "' has no \"points\" list; --point needs a front.json");
    const auto n = static_cast<int64_t>(doc["points"].size());
    TRISEG_CHECK(point >= 0 && point < n, InputError,
                 "'" << file << "' is a front of " << n << " points; choose one with --point "
                     << "(0.." << n - 1 << ")" << (point >= 0 ? ", got " : "")
                     << (point >= 0 ? std::to_string(point) : std::string()));
    return parse_result(doc["points"][static_cast<size_t>(point)],
                        file + "' point '" + std::to_string(point), model_layers);
}

FrontFile read_front_file(const std::string& file, const std::vector<std::string>& model_layers) {
    const nlohmann::json doc = io::read_json_file(file, "front file", io::kMaxSmallFileBytes);
    TRISEG_CHECK(doc.is_object() && doc.contains("points") && doc["points"].is_array(), InputError,
                 "'" << file << "' has no \"points\" list, so it is not a front.json (a "
                     << "search's non-dominated set); a result.json holds one code set: "
                     << "evaluate it without --all-points");
    const auto& points = doc["points"];
    TRISEG_CHECK(!points.empty(), InputError,
                 "'" << file << "' is a front without points (\"points\": []); nothing to "
                     << "evaluate");
    FrontFile f;
    for (const auto& item : doc.items()) {
        if (item.key() != "points") {
            f.info[item.key()] = item.value();
        }
    }
    for (size_t i = 0; i < points.size(); ++i) {
        f.points.push_back(
            parse_result(points[i], file + "' point '" + std::to_string(i), model_layers));
    }
    return f;
}

std::string result_json(const ResultFile& result) {
    TRISEG_CHECK(result.layer_names.size() == result.codes.layers.size(), InputError,
                 "result has " << result.layer_names.size() << " layer names but "
                               << result.codes.layers.size() << " code sets");
    // nlohmann::ordered_json keeps forward layer order, as the original writes it.
    nlohmann::ordered_json doc;
    nlohmann::ordered_json layers = nlohmann::ordered_json::object();
    for (size_t i = 0; i < result.layer_names.size(); ++i) {
        const auto& c = result.codes.layers[i];
        layers[result.layer_names[i]] = {{"t1_code", c.t1},
                                         {"v1_code", c.v1},
                                         {"t2_code", c.t2},
                                         {"v2_code", c.v2},
                                         {"tmax_code", c.tmax}};
    }
    doc["layers"] = layers;
    doc["backend"] = result.backend;
    doc["selection"] = result.selection;
    doc["metrics"] = nlohmann::ordered_json::parse(result.metrics.dump());
    for (const auto& item : result.extra.items()) {
        doc[item.key()] = nlohmann::ordered_json::parse(item.value().dump());
    }
    return doc.dump(2) + "\n";
}

void write_result_file(const ResultFile& result, const std::string& path) {
    io::write_file_atomic(path, result_json(result));
}

} // namespace triseg::io
