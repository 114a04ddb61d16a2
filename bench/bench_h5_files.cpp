// Size and write/read time of a VGG-11 width-1 model.h5 and a 2000-image int8 dump through
// io::write_int8_model / read_int8_model and ActsWriter / ActsReader: bench_h5_files FOLDER.
// Built against an older io/ (same source) it gives the "before" column of bench/README.md.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "common/error.h"
#include "io/h5_activations.h"
#include "io/h5_int8_model.h"

using namespace triseg;
using Clock = std::chrono::steady_clock;

static double secs(Clock::time_point a) {
    return std::chrono::duration<double>(Clock::now() - a).count();
}

int main(int argc, char** argv) {
    std::string dir;
    try {
        bench::BenchFlags flags("bench_h5_files",
                                "Size and write/read time of a VGG-11 width-1 model.h5 and a "
                                "2000-image int8 dump,\nwritten into FOLDER (bench_h5_files "
                                "FOLDER or --folder FOLDER).");
        flags.add_string("folder", dir, "FOLDER", "where the files are written (required)");
        flags.positional("folder");
        if (!flags.parse(argc, argv)) {
            return 0;
        }
        if (dir.empty()) {
            bench::usage_error("FOLDER is required");
        }
    } catch (const Error& e) {
        std::fprintf(stderr, "bench_h5_files: %s\n", e.what());
        return e.exit_code();
    }
    std::mt19937 rng(1);
    models::Int8Model m;
    m.model.arch = models::ModelArch::Vgg11;
    m.model.width = 1.0;
    m.model.in_channels = 1;
    m.model.num_classes = 10;
    m.model.image_size = 32;
    m.input = {0.02f, 10};
    m.input_mean = {0.3f};
    m.input_std = {0.3f};
    m.provenance = "bench";
    const std::vector<std::pair<const char*, std::pair<int, bool>>> blocks = {
        {"conv1_1", {64, true}},   {"conv2_1", {128, true}},  {"conv3_1", {256, false}},
        {"conv3_2", {256, true}},  {"conv4_1", {512, false}}, {"conv4_2", {512, true}},
        {"conv5_1", {512, false}}, {"conv5_2", {512, true}}};
    int64_t ch = 1;
    models::QuantParams prev = m.input;
    for (const auto& [name, b] : blocks) {
        models::Int8ConvLayer l;
        l.name = name;
        l.in_channels = ch;
        l.out_channels = b.first;
        l.pool_after = b.second;
        l.input = prev;
        l.output = {0.05f, 0};
        for (int64_t i = 0; i < ch * b.first * 9; ++i) {
            l.weight.push_back(static_cast<int8_t>(static_cast<int>(rng() % 255) - 127));
        }
        for (int o = 0; o < b.first; ++o) {
            l.weight_scale.push_back(0.01f);
            l.bias.push_back(static_cast<int32_t>(rng() % 1000));
            l.multiplier.push_back(1 << 30);
            l.shift.push_back(31);
        }
        m.convs.push_back(l);
        ch = b.first;
        prev = l.output;
    }
    m.classifier.in_features = 512;
    m.classifier.out_features = 10;
    m.classifier.input = prev;
    for (int i = 0; i < 5120; ++i) {
        m.classifier.weight.push_back(static_cast<int8_t>(static_cast<int>(rng() % 255) - 127));
    }
    m.classifier.weight_scale.assign(10, 0.01f);
    m.classifier.bias.assign(10, 5);

    const std::string mp = dir + "/model.h5";
    const int reps = 5;
    auto t = Clock::now();
    for (int i = 0; i < reps; ++i)
        io::write_int8_model(m, mp);
    const double mw = secs(t) / reps;
    t = Clock::now();
    for (int i = 0; i < reps; ++i)
        io::read_int8_model(mp);
    const double mr = secs(t) / reps;
    std::printf("model.h5: %.0f bytes, write %.4f s, read %.4f s\n",
                double(std::filesystem::file_size(mp)), mw, mr);

    io::ActsHeader h;
    h.images = 2000;
    h.compression = 4;
    h.layers = {{"conv1_1", 8, 32, true, 0.05f, 0},  {"conv2_1", 16, 16, true, 0.05f, 0},
                {"conv3_1", 32, 8, false, 0.05f, 0}, {"conv3_2", 32, 8, true, 0.05f, 0},
                {"conv4_1", 64, 4, false, 0.05f, 0}, {"conv4_2", 64, 4, true, 0.05f, 0},
                {"conv5_1", 64, 2, false, 0.05f, 0}, {"conv5_2", 64, 2, true, 0.05f, 0}};
    std::geometric_distribution<int> geo(0.15);
    std::vector<std::vector<uint8_t>> vals;
    for (const auto& l : h.layers) {
        std::vector<uint8_t> v(static_cast<size_t>(250 * l.size()));
        for (auto& x : v)
            x = (rng() % 10 < 6) ? 0 : static_cast<uint8_t>(std::min(255, geo(rng)));
        vals.push_back(std::move(v));
    }
    std::vector<int64_t> labels(250, 3), index(250, 0);
    const std::string dp = dir + "/acts.h5";
    t = Clock::now();
    for (int i = 0; i < reps; ++i) {
        io::ActsWriter w(dp, h);
        for (int b = 0; b < 8; ++b) {
            std::vector<const void*> p;
            for (auto& v : vals)
                p.push_back(v.data());
            w.append(250, labels.data(), index.data(), p);
        }
        w.commit();
    }
    const double dw = secs(t) / reps;
    t = Clock::now();
    for (int i = 0; i < reps; ++i) {
        io::ActsReader r(dp);
        for (size_t l = 0; l < h.layers.size(); ++l) {
            std::vector<uint8_t> out(static_cast<size_t>(2000 * h.layers[l].size()));
            r.read_codes(l, 0, 2000, out.data());
        }
    }
    const double dr = secs(t) / reps;
    std::printf("acts.h5 (2000 images, 8 layers, gzip 4): %.0f bytes, write %.4f s, read %.4f s\n",
                double(std::filesystem::file_size(dp)), dw, dr);
}
