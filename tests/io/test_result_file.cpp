// result.json: round trip (layer order, backend, selection, metrics, extra keys) and every
// documented error, each naming the file and the offending layer or field.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/core/code_set.h"
#include "io/atomic_file.h"
#include "io/result_file.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::io {
namespace {

using test::expect_error;
using test::TempDir;

LayerCodes codes(int32_t t1, int32_t v1, int32_t t2, int32_t v2, int32_t tmax) {
    return test::make_codes(t1, v1, t2, v2, tmax);
}

/// Forward order deliberately differs from alphabetical order.
const std::vector<std::string> kLayers = {"conv2_1", "conv1_1", "conv10_1"};

ResultFile sample() {
    ResultFile r;
    r.layer_names = kLayers;
    r.codes.layers = {codes(4, 13, 23, 31, 32), codes(2, 3, 6, 7, 12), // smallest tmax
                      codes(10, 11, 251, 255, 255)};                   // codes 10 .. 255
    r.backend = "triseg-int8";
    r.selection = "best kd_loss on val";
    r.metrics = {{"acc_teacher", 92.5}, {"acc_student", 1.0 / 3.0}, {"acc_drop", -0.0625}};
    r.extra = {{"method", "evo"},
               {"seed", 7},
               {"ranks", 3},
               {"wall_seconds", 12.25},
               {"history", {1, 2.5, "x"}},
               {"nested", {{"a", nullptr}, {"b", true}}}};
    return r;
}

/// The layer object of `c` as the original writes it.
nlohmann::json layer_json(const LayerCodes& c) {
    return {{"t1_code", c.t1},
            {"v1_code", c.v1},
            {"t2_code", c.t2},
            {"v2_code", c.v2},
            {"tmax_code", c.tmax}};
}

/// A result.json text for `kLayers` whose conv1_1 entry is `conv1_1`.
std::string doc_with(const nlohmann::json& conv1_1) {
    nlohmann::json doc;
    doc["layers"]["conv2_1"] = layer_json(codes(4, 13, 23, 31, 32));
    doc["layers"]["conv1_1"] = conv1_1;
    doc["layers"]["conv10_1"] = layer_json(codes(2, 3, 6, 7, 12));
    return doc.dump();
}

void write_text(const std::string& path, const std::string& text) {
    test::write_plain(path, test::Bytes(text.begin(), text.end()));
}

TEST(ResultFile, RoundTripKeepsEverything) {
    TempDir dir;
    const std::string path = dir.file("result.json");
    const ResultFile r = sample();
    write_result_file(r, path);
    const ResultFile back = read_result_file(path, kLayers);
    EXPECT_EQ(back.layer_names, r.layer_names);
    EXPECT_EQ(back.codes, r.codes);
    EXPECT_EQ(back.backend, r.backend);
    EXPECT_EQ(back.selection, r.selection);
    EXPECT_EQ(back.metrics, r.metrics); // doubles round-trip exactly (1/3 included)
    EXPECT_EQ(back.metrics["acc_student"].get<double>(), 1.0 / 3.0);
    EXPECT_EQ(back.extra, r.extra);
    // Writing what was read gives the same text.
    EXPECT_EQ(result_json(back), result_json(r));
}

TEST(ResultFile, JsonListsLayersInForwardOrderInTheOriginalFormat) {
    const std::string text = result_json(sample());
    const auto p2 = text.find("\"conv2_1\"");
    const auto p1 = text.find("\"conv1_1\"");
    const auto p10 = text.find("\"conv10_1\"");
    ASSERT_NE(p2, std::string::npos);
    ASSERT_NE(p1, std::string::npos);
    ASSERT_NE(p10, std::string::npos);
    EXPECT_LT(p2, p1);
    EXPECT_LT(p1, p10);
    const auto doc = nlohmann::json::parse(text);
    EXPECT_EQ(doc["layers"]["conv1_1"], layer_json(codes(2, 3, 6, 7, 12)));
    EXPECT_EQ(doc["layers"]["conv10_1"]["tmax_code"], 255);
    EXPECT_EQ(doc["backend"], "triseg-int8");
    EXPECT_EQ(doc["selection"], "best kd_loss on val");
    EXPECT_EQ(doc["seed"], 7); // extra keys sit at the top level
    EXPECT_EQ(doc["metrics"]["acc_teacher"], 92.5);
    EXPECT_EQ(text.back(), '\n');
}

TEST(ResultFile, ReadOrdersLayersAsTheModel) {
    TempDir dir;
    const std::string path = dir.file("result.json");
    write_result_file(sample(), path);
    const std::vector<std::string> order = {"conv10_1", "conv2_1", "conv1_1"};
    const ResultFile back = read_result_file(path, order);
    EXPECT_EQ(back.layer_names, order);
    ASSERT_EQ(back.codes.layers.size(), 3u);
    EXPECT_EQ(back.codes.layers[0], codes(10, 11, 251, 255, 255));
    EXPECT_EQ(back.codes.layers[1], codes(4, 13, 23, 31, 32));
    EXPECT_EQ(back.codes.layers[2], codes(2, 3, 6, 7, 12));
}

TEST(ResultFile, MinimalFileGetsDefaults) {
    TempDir dir;
    const std::string path = dir.file("r.json");
    write_text(path, doc_with(layer_json(codes(2, 4, 6, 9, 12))));
    const ResultFile r = read_result_file(path, kLayers);
    EXPECT_EQ(r.backend, "triseg-int8");
    EXPECT_EQ(r.selection, "");
    EXPECT_EQ(r.metrics, nlohmann::json::object());
    EXPECT_EQ(r.extra, nlohmann::json::object());
    EXPECT_EQ(r.codes.layers[1], codes(2, 4, 6, 9, 12));
}

TEST(ResultFile, ADuplicateKeyAnywhereIsRefused) {
    TempDir dir;
    const std::string path = dir.file("r.json");
    write_result_file(sample(), path);
    const std::string text = read_file(path);
    // In a layer's codes, in the layers object, and at the top level.
    for (const auto& [at, insert] :
         std::vector<std::pair<std::string, std::string>>{{"\"t1_code\"", "\"t1_code\": 9, "},
                                                          {"\"conv1_1\"", "\"conv2_1\": {}, "},
                                                          {"\"layers\"", "\"backend\": \"x\", "}}) {
        std::string edited = text;
        edited.insert(edited.find(at), insert);
        write_file_atomic(path, edited);
        expect_error<InputError>([&] { read_result_file(path, kLayers); },
                                 {path, "twice in one object"});
    }
    // The same key in different objects is fine.
    write_file_atomic(path, text);
    EXPECT_NO_THROW(read_result_file(path, kLayers));
}

TEST(ResultFile, MalformedJsonNamesTheBytePosition) {
    TempDir dir;
    const std::string path = dir.file("bad.json");
    write_text(path, "{\"layers\": x}");
    expect_error<InputError>([&] { read_result_file(path, kLayers); },
                             {path, "is not valid JSON", "(byte 12)"});
    write_text(path, "");
    expect_error<InputError>([&] { read_result_file(path, kLayers); }, {path, "byte"});
}

TEST(ResultFile, MissingLayersObject) {
    TempDir dir;
    const std::string path = dir.file("r.json");
    for (const char* text : {"{\"backend\": \"x\"}", "[]", "{\"layers\": []}", "7"}) {
        write_text(path, text);
        expect_error<InputError>([&] { read_result_file(path, kLayers); },
                                 {path, "has no \"layers\" object"});
    }
}

TEST(ResultFile, UnknownLayersAreListedWithTheModelsNames) {
    TempDir dir;
    const std::string path = dir.file("r.json");
    auto doc = nlohmann::json::parse(doc_with(layer_json(codes(2, 4, 6, 9, 12))));
    doc["layers"]["conv9_9"] = layer_json(codes(2, 4, 6, 9, 12));
    doc["layers"]["fc"] = layer_json(codes(2, 4, 6, 9, 12));
    write_text(path, doc.dump());
    expect_error<InputError>([&] { read_result_file(path, kLayers); },
                             {path, "conv9_9", "fc", "conv2_1, conv1_1, conv10_1"});
}

TEST(ResultFile, MissingLayersAreListed) {
    TempDir dir;
    const std::string path = dir.file("r.json");
    auto doc = nlohmann::json::parse(doc_with(layer_json(codes(2, 4, 6, 9, 12))));
    doc["layers"].erase("conv1_1");
    doc["layers"].erase("conv10_1");
    write_text(path, doc.dump());
    expect_error<InputError>([&] { read_result_file(path, kLayers); },
                             {path, "has no codes for layers conv1_1, conv10_1"});
}

TEST(ResultFile, MissingFieldNamesLayerAndField) {
    TempDir dir;
    const std::string path = dir.file("r.json");
    for (const char* field : {"t1_code", "v1_code", "t2_code", "v2_code", "tmax_code"}) {
        auto layer = layer_json(codes(2, 4, 6, 9, 12));
        layer.erase(field);
        write_text(path, doc_with(layer));
        expect_error<InputError>([&] { read_result_file(path, kLayers); },
                                 {path, "conv1_1", std::string("'") + field + "'"});
    }
}

TEST(ResultFile, NonIntegerOrOutOfRangeCodes) {
    TempDir dir;
    const std::string path = dir.file("r.json");
    for (const nlohmann::json& bad : std::vector<nlohmann::json>{4.5, "4", -1, 256, true, nullptr,
                                                                 nlohmann::json::array(), 1e10}) {
        auto layer = layer_json(codes(2, 4, 6, 9, 12));
        layer["v1_code"] = bad;
        write_text(path, doc_with(layer));
        expect_error<InputError>(
            [&] { read_result_file(path, kLayers); },
            {path,
             "layers.conv1_1.v1_code must be an integer code in [0, 255], got " + bad.dump()});
    }
}

TEST(ResultFile, LayerThatIsNotAnObject) {
    TempDir dir;
    const std::string path = dir.file("r.json");
    write_text(path, doc_with(5));
    expect_error<InputError>([&] { read_result_file(path, kLayers); },
                             {path, "layers.conv1_1 must be an object"});
}

TEST(ResultFile, CodesThatAreNoMapNameFileLayerAndRule) {
    TempDir dir;
    const std::string path = dir.file("r.json");
    write_text(path, doc_with(layer_json(codes(7, 3, 6, 7, 12))));
    expect_error<InputError>(
        [&] { read_result_file(path, kLayers); },
        {path, "conv1_1", "not a valid tri-segment map", "t2 must be >= t1 = 7, got 6"});
    write_text(path, doc_with(layer_json(codes(2, 3, 6, 7, 5))));
    expect_error<InputError>([&] { read_result_file(path, kLayers); },
                             {path, "conv1_1", "tmax must be >= t2 = 6, got 5"});
}

TEST(ResultFile, MapsOutsideTheSearchSpaceAreRead) {
    // The original's supervised result, an empty map (tmax 0) and edge codes 0 and 255: valid
    // tri-segment maps, though not in the search space.
    TempDir dir;
    const std::string path = dir.file("r.json");
    for (const LayerCodes& c :
         {codes(2, 2, 5, 5, 12), codes(0, 0, 0, 0, 0), codes(0, 255, 3, 0, 255)}) {
        write_text(path, doc_with(layer_json(c)));
        const ResultFile r = read_result_file(path, kLayers);
        ASSERT_EQ(r.codes.layers.size(), kLayers.size());
        EXPECT_EQ(r.codes.layers[1], c) << engine::to_string(c); // kLayers[1] is conv1_1
        EXPECT_FALSE(engine::codes_valid(c));
    }
}

TEST(ResultFile, IoErrors) {
    TempDir dir;
    expect_error<IoError>([&] { read_result_file(dir.file("missing.json"), kLayers); },
                          {"missing.json"});
    expect_error<IoError>([&] { write_result_file(sample(), dir.file("no/such/dir/r.json")); },
                          {"no/such/dir"});
}

// A front.json read whole: every point as --point N reads it, and the file's own fields.
TEST(FrontFile, ReadsEveryPointAsReadResultFileReadsIt) {
    TempDir dir;
    const std::string path = dir.file("front.json");
    nlohmann::json p0 = nlohmann::json::parse(doc_with(layer_json(codes(2, 4, 6, 9, 12))));
    p0["point"] = 0;
    p0["covered"] = 0.5;
    nlohmann::json p1 = nlohmann::json::parse(doc_with(layer_json(codes(1, 1, 3, 3, 40))));
    p1["point"] = 1;
    const nlohmann::json front = {
        {"method", "nsga2"}, {"seed", 4}, {"space", "allocation"}, {"points", {p0, p1}}};
    write_text(path, front.dump());
    const FrontFile f = read_front_file(path, kLayers);
    EXPECT_EQ(f.info, (nlohmann::json{{"method", "nsga2"}, {"seed", 4}, {"space", "allocation"}}));
    ASSERT_EQ(f.points.size(), 2u);
    for (int64_t i = 0; i < 2; ++i) {
        const ResultFile one = read_result_file(path, kLayers, i);
        const auto& p = f.points[static_cast<size_t>(i)];
        EXPECT_EQ(p.codes, one.codes) << i;
        EXPECT_EQ(p.layer_names, one.layer_names) << i;
        EXPECT_EQ(p.extra, one.extra) << i;
    }
    EXPECT_EQ(f.points[1].codes.layers[1], codes(1, 1, 3, 3, 40));
    EXPECT_EQ(f.points[0].extra.at("covered"), 0.5);
}

TEST(FrontFile, NotAFrontAnEmptyFrontAndABadPointAreInputErrorsNamingTheFile) {
    TempDir dir;
    const std::string result = dir.file("result.json");
    write_result_file(sample(), result);
    expect_error<InputError>([&] { read_front_file(result, kLayers); },
                             {"'" + result + "'", "not a front.json", "without --all-points"});
    const std::string empty = dir.file("empty.json");
    write_text(empty, R"({"method": "nsga2", "points": []})");
    expect_error<InputError>([&] { read_front_file(empty, kLayers); },
                             {"'" + empty + "'", "without points"});
    const std::string bad = dir.file("bad.json");
    const nlohmann::json good = nlohmann::json::parse(doc_with(layer_json(codes(2, 4, 6, 9, 12))));
    write_text(bad, nlohmann::json{{"points", {good, {{"point", 1}}}}}.dump());
    expect_error<InputError>([&] { read_front_file(bad, kLayers); },
                             {"'" + bad + "' point '1'", "no \"layers\" object"});
    nlohmann::json unknown = good;
    unknown["layers"]["conv9_9"] = layer_json(codes(2, 4, 6, 9, 12));
    write_text(bad, nlohmann::json{{"points", {unknown}}}.dump());
    expect_error<InputError>([&] { read_front_file(bad, kLayers); },
                             {"'" + bad + "' point '0'", "conv9_9"});
    expect_error<IoError>([&] { read_front_file(dir.file("missing.json"), kLayers); },
                          {"missing.json"});
}

TEST(ResultFile, MismatchedNamesAndCodesThrow) {
    ResultFile r = sample();
    r.layer_names.pop_back();
    expect_error<InputError>([&] { result_json(r); }, {"2 layer names but 3 code sets"});
}

} // namespace
} // namespace triseg::io
