// Activation dumps and percentiles files: streaming round trips (with the live tensors of a
// graph), sharded dumps read through their virtual-dataset index, and clear errors for foreign,
// truncated and malformed files.
#include "io/h5_activations.h"

#include <gtest/gtest.h>

#include <H5Cpp.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/h5_percentiles.h"
#include "tests/io/temp_dir.h"

namespace triseg::io {
namespace {

using test::expect_error;
using test::TempDir;

/// Images of the test dumps; not a multiple of any batch or chunk size used.
constexpr int64_t kImages = 37;

ActsHeader small_header(ActsKind kind, int64_t images) {
    ActsHeader h;
    h.kind = kind;
    h.images = images;
    h.layers = {{"conv1_1", 3, 8, true, 0.05f, 0}, {"conv2_1", 5, 4, false, 0.125f, 7}};
    h.model = "/runs/x/int8/model.h5";
    h.model_yaml = "arch: vgg11\n";
    h.config = "data: {}\n";
    h.dataset = "fashion-mnist/test";
    h.tool_version = "triseg test";
    h.created = "2024-01-01T00:00:00Z";
    h.compression = 4;
    return h;
}

/// Deterministic content: value of (image, layer, element).
uint8_t code_of(int64_t image, size_t layer, int64_t k) {
    return static_cast<uint8_t>((image * 31 + static_cast<int64_t>(layer) * 7 + k * 3) % 256);
}

/// Writes images [first, first + h.images) of the deterministic content in uneven batches.
void write_dump(const std::string& path, const ActsHeader& h, int64_t first = 0) {
    ActsWriter w(path, h);
    const int64_t batches[] = {5, 13, 1, 19};
    int64_t done = 0;
    for (size_t b = 0; done < h.images; ++b) {
        const int64_t n = std::min(batches[b % 4], h.images - done);
        std::vector<int64_t> labels;
        std::vector<int64_t> indices;
        for (int64_t i = 0; i < n; ++i) {
            labels.push_back((first + done + i) % 10);
            indices.push_back(first + done + i);
        }
        std::vector<std::vector<uint8_t>> codes(h.layers.size());
        std::vector<std::vector<float>> floats(h.layers.size());
        std::vector<const void*> values;
        for (size_t l = 0; l < h.layers.size(); ++l) {
            for (int64_t i = 0; i < n; ++i) {
                for (int64_t k = 0; k < h.layers[l].size(); ++k) {
                    const uint8_t c = code_of(first + done + i, l, k);
                    codes[l].push_back(c);
                    floats[l].push_back(static_cast<float>(c) * 0.5f - 3.0f);
                }
            }
            values.push_back(h.kind == ActsKind::Int8 ? static_cast<const void*>(codes[l].data())
                                                      : floats[l].data());
        }
        std::vector<std::vector<uint8_t>> live(h.live.size());
        for (size_t j = 0; j < h.live.size(); ++j) {
            for (int64_t i = 0; i < n; ++i) {
                for (int64_t k = 0; k < h.live[j].size(); ++k) {
                    live[j].push_back(code_of(first + done + i, h.layers.size() + j, k));
                }
            }
            values.push_back(live[j].data());
        }
        w.append(n, labels.data(), indices.data(), values);
        done += n;
    }
    w.commit();
}

void expect_content(const ActsReader& r, int64_t first, int64_t n) {
    const auto& h = r.header();
    for (size_t j = 0; j < h.live.size(); ++j) {
        const int64_t size = h.live[j].size();
        std::vector<uint8_t> codes(static_cast<size_t>(n * size));
        r.read_live_codes(j, first, n, codes.data());
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t k = 0; k < size; ++k) {
                ASSERT_EQ(codes[static_cast<size_t>(i * size + k)],
                          code_of(first + i, h.layers.size() + j, k))
                    << "live tensor " << j << " image " << first + i << " element " << k;
            }
        }
    }
    for (size_t l = 0; l < h.layers.size(); ++l) {
        const int64_t size = h.layers[l].size();
        std::vector<uint8_t> codes(static_cast<size_t>(n * size));
        r.read_codes(l, first, n, codes.data());
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t k = 0; k < size; ++k) {
                ASSERT_EQ(codes[static_cast<size_t>(i * size + k)], code_of(first + i, l, k))
                    << "layer " << l << " image " << first + i << " element " << k;
            }
        }
    }
}

TEST(H5Activations, Int8RoundTripInUnevenBatches) {
    TempDir dir;
    const std::string path = dir.file("acts.h5");
    write_dump(path, small_header(ActsKind::Int8, kImages));
    const ActsReader r(path);
    const auto& h = r.header();
    EXPECT_EQ(h.kind, ActsKind::Int8);
    EXPECT_EQ(h.images, kImages);
    ASSERT_EQ(h.layers.size(), 2u);
    EXPECT_EQ(h.layers[1].name, "conv2_1");
    EXPECT_EQ(h.layers[1].channels, 5);
    EXPECT_EQ(h.layers[1].side, 4);
    EXPECT_FALSE(h.layers[1].pool_after);
    EXPECT_TRUE(h.layers[0].pool_after);
    EXPECT_EQ(h.layers[1].scale, 0.125f);
    EXPECT_EQ(h.layers[1].zero_point, 7);
    EXPECT_EQ(h.dataset, "fashion-mnist/test");
    EXPECT_EQ(h.model, "/runs/x/int8/model.h5");
    EXPECT_EQ(h.shard_count, 1);
    expect_content(r, 0, kImages);
    expect_content(r, 11, 9);
    const auto labels = r.labels();
    const auto indices = r.image_indices();
    ASSERT_EQ(labels.size(), static_cast<size_t>(kImages));
    EXPECT_EQ(labels[36], 6);
    EXPECT_EQ(indices[36], 36);
    EXPECT_EQ(h.layer_index("conv2_1"), 1u);
    expect_error<InputError>([&] { (void)h.layer_index("conv9_9"); },
                             {"conv9_9", "conv1_1, conv2_1"});
    std::vector<uint8_t> buf(1000);
    expect_error<InputError>([&] { r.read_codes(0, 30, 8, buf.data()); }, {"[30, 38)", "37"});
    std::vector<float> fbuf(1000);
    expect_error<InputError>([&] { r.read_floats(0, 0, 1, fbuf.data()); },
                             {"int8 activations, not float"});
}

TEST(H5Activations, FloatRoundTrip) {
    TempDir dir;
    const std::string path = dir.file("f.h5");
    write_dump(path, small_header(ActsKind::Float, kImages));
    const ActsReader r(path);
    EXPECT_EQ(r.header().kind, ActsKind::Float);
    std::vector<float> v(static_cast<size_t>(3 * r.header().layers[1].size()));
    r.read_floats(1, 20, 3, v.data());
    EXPECT_EQ(v[0], static_cast<float>(code_of(20, 1, 0)) * 0.5f - 3.0f);
    EXPECT_EQ(v.back(), static_cast<float>(code_of(22, 1, 79)) * 0.5f - 3.0f);
}

TEST(H5Activations, WriterChecksTheImageCountAndLeavesNoPartialFile) {
    TempDir dir;
    const std::string path = dir.file("short.h5");
    {
        ActsWriter w(path, small_header(ActsKind::Int8, 3));
        expect_error<InputError>([&] { w.commit(); }, {"only 0 of 3 images"});
        std::vector<uint8_t> big(1000);
        const std::vector<int64_t> ids(4, 0);
        expect_error<InputError>(
            [&] {
                w.append(4, ids.data(), ids.data(), {big.data(), big.data()});
            },
            {"4 images appended to a dump of 3"});
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "temporary file left behind";
    expect_error<ConfigError>([&] { ActsWriter w(path, small_header(ActsKind::Int8, 0)); },
                              {"at least one image"});
}

TEST(H5Activations, ShardsReadAsOneDumpThroughTheIndex) {
    TempDir dir;
    const std::string index = dir.file("acts.h5");
    const int64_t bounds[] = {0, 12, 13, kImages}; // a one-image shard in the middle
    for (int64_t r = 0; r < 3; ++r) {
        ActsHeader h = small_header(ActsKind::Int8, bounds[r + 1] - bounds[r]);
        h.shard_rank = r;
        h.shard_count = 3;
        h.first_image = bounds[r];
        write_dump(dir.file(shard_file_name(index, r, 3)), h, bounds[r]);
    }
    EXPECT_EQ(shard_file_name(index, 1, 3), "acts.shard-1-of-3.h5");
    ActsHeader whole = small_header(ActsKind::Int8, kImages);
    whole.shard_count = 3;
    write_acts_index(index, whole);

    const ActsReader r(index);
    EXPECT_EQ(r.header().images, kImages);
    EXPECT_EQ(r.header().shard_count, 3);
    expect_content(r, 0, kImages);
    expect_content(r, 10, 5); // across two shard boundaries
    const auto indices = r.image_indices();
    for (int64_t i = 0; i < kImages; ++i) {
        EXPECT_EQ(indices[static_cast<size_t>(i)], i);
    }

    // The index still reads when the folder moves (shards are named relative to it).
    const std::string moved = dir.file("moved");
    std::filesystem::create_directory(moved);
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        if (e.is_regular_file()) {
            std::filesystem::rename(e.path(), moved / e.path().filename());
        }
    }
    expect_content(ActsReader(moved + "/acts.h5"), 0, kImages);

    std::filesystem::remove(moved + "/" + shard_file_name(index, 2, 3));
    expect_error<InputError>([&] { ActsReader bad(moved + "/acts.h5"); },
                             {"acts.shard-2-of-3.h5", "missing"});
}

TEST(H5Activations, IndexRefusesShardsThatDoNotFit) {
    TempDir dir;
    const std::string index = dir.file("acts.h5");
    for (int64_t r = 0; r < 2; ++r) {
        ActsHeader h = small_header(ActsKind::Int8, 5);
        h.shard_rank = r;
        h.shard_count = 2;
        h.first_image = r == 0 ? 0 : 6; // a gap
        write_dump(dir.file(shard_file_name(index, r, 2)), h);
    }
    ActsHeader whole = small_header(ActsKind::Int8, 10);
    whole.shard_count = 2;
    expect_error<InputError>([&] { write_acts_index(index, whole); },
                             {"shard 1 of 2 starting at image 6", "starting at 5"});
    whole.layers[1].zero_point = 8;
    expect_error<InputError>([&] { write_acts_index(index, whole); }, {"layer conv2_1 differs"});
}

/// A dump of a graph: dotted point names and a live tensor that is not a point.
ActsHeader graph_header(int64_t images) {
    ActsHeader h = small_header(ActsKind::Int8, images);
    h.layers = {{"features.0", 3, 8, false, 0.05f, 0}, {"layer2.1.conv1", 5, 4, false, 0.125f, 7}};
    h.live = {{"features.1.project", 2, 8, false, 0.25f, 128}};
    return h;
}

TEST(H5Activations, GraphDumpsKeepTheirLiveTensorsSingleAndSharded) {
    TempDir dir;
    const std::string single = dir.file("graph.h5");
    write_dump(single, graph_header(kImages));
    const ActsReader r(single);
    ASSERT_EQ(r.header().live.size(), 1u);
    EXPECT_EQ(r.header().layers[1].name, "layer2.1.conv1");
    EXPECT_EQ(r.header().live[0].name, "features.1.project");
    EXPECT_EQ(r.header().live[0].channels, 2);
    EXPECT_EQ(r.header().live[0].side, 8);
    EXPECT_EQ(r.header().live[0].scale, 0.25f);
    EXPECT_EQ(r.header().live[0].zero_point, 128);
    EXPECT_EQ(r.header().live_index("features.1.project"), 0u);
    expect_error<InputError>([&] { (void)r.header().live_index("x"); }, {"features.1.project"});
    expect_content(r, 0, kImages);
    std::vector<uint8_t> buf(1000);
    expect_error<InputError>([&] { r.read_live_codes(1, 0, 1, buf.data()); }, {"no live tensor 1"});
    // A VGG dump has no live tensors (and no /live group).
    write_dump(dir.file("vgg.h5"), small_header(ActsKind::Int8, 3));
    EXPECT_TRUE(ActsReader(dir.file("vgg.h5")).header().live.empty());

    const std::string index = dir.file("acts.h5");
    const int64_t bounds[] = {0, 20, kImages};
    for (int64_t k = 0; k < 2; ++k) {
        ActsHeader h = graph_header(bounds[k + 1] - bounds[k]);
        h.shard_rank = k;
        h.shard_count = 2;
        h.first_image = bounds[k];
        write_dump(dir.file(shard_file_name(index, k, 2)), h, bounds[k]);
    }
    ActsHeader whole = graph_header(kImages);
    whole.shard_count = 2;
    whole.live[0].zero_point = 127;
    expect_error<InputError>([&] { write_acts_index(index, whole); },
                             {"live tensor features.1.project differs"});
    whole.live[0].zero_point = 128;
    write_acts_index(index, whole);
    const ActsReader joined(index);
    ASSERT_EQ(joined.header().live.size(), 1u);
    expect_content(joined, 0, kImages);
    expect_content(joined, 15, 10); // across the shard boundary
}

TEST(H5Activations, NamesThatAreNotPlainLinkNamesAreRefused) {
    TempDir dir;
    for (const std::string bad : {"a/b", "..", "", "sp ace"}) {
        ActsHeader h = graph_header(2);
        h.live[0].name = bad;
        expect_error<InputError>([&] { ActsWriter w(dir.file("bad.h5"), h); },
                                 {"the name '" + bad + "'"});
    }
    ActsHeader twice = graph_header(2);
    twice.live[0].name = "features.0";
    expect_error<InputError>([&] { ActsWriter w(dir.file("bad.h5"), twice); },
                             {"'features.0' is used twice"});
    ActsHeader floats = graph_header(2);
    floats.kind = ActsKind::Float;
    expect_error<ConfigError>([&] { ActsWriter w(dir.file("bad.h5"), floats); },
                              {"cannot hold live tensors"});
    EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "temporary file left behind";
}

TEST(H5Activations, ForeignTruncatedAndMalformedFilesAreClearErrors) {
    TempDir dir;
    expect_error<IoError>([&] { ActsReader r(dir.file("absent.h5")); }, {"absent.h5"});
    const std::string text = dir.file("text.h5");
    std::ofstream(text) << "not hdf5 at all";
    expect_error<InputError>([&] { ActsReader r(text); }, {"text.h5", "not an HDF5 file"});

    const std::string foreign = dir.file("foreign.h5");
    {
        H5::H5File f(foreign, H5F_ACC_TRUNC);
        f.createGroup("/something");
    }
    expect_error<InputError>([&] { ActsReader r(foreign); },
                             {"foreign.h5", "not a triseg activation dump"});

    // Truncated: uncompressed, so the data fills most of the file.
    ActsHeader h = small_header(ActsKind::Int8, 400);
    h.compression = 0;
    const std::string good = dir.file("good.h5");
    write_dump(good, h);
    const std::string cut = dir.file("cut.h5");
    std::filesystem::copy_file(good, cut);
    std::filesystem::resize_file(cut, std::filesystem::file_size(good) / 2);
    expect_error<InputError>(
        [&] {
            const ActsReader r(cut);
            std::vector<uint8_t> buf(static_cast<size_t>(400 * 192));
            r.read_codes(0, 0, 400, buf.data());
            r.read_codes(1, 0, 400, buf.data());
        },
        {"cut.h5"});

    // A dataset named by /layer_names is missing.
    const std::string holed = dir.file("holed.h5");
    std::filesystem::copy_file(good, holed);
    {
        H5::H5File f(holed, H5F_ACC_RDWR);
        f.unlink("/acts/conv2_1");
        f.createGroup("/acts/conv3_1");
    }
    expect_error<InputError>([&] { ActsReader r(holed); }, {"holed.h5", "conv2_1", "missing"});
    // A label dataset of the wrong length.
    const std::string labels = dir.file("labels.h5");
    std::filesystem::copy_file(good, labels);
    {
        H5::H5File f(labels, H5F_ACC_RDWR);
        f.unlink("/labels");
        const hsize_t n = 3;
        f.createDataSet("/labels", H5::PredType::STD_I64LE, H5::DataSpace(1, &n));
    }
    expect_error<InputError>([&] { ActsReader r(labels); }, {"/labels", "[3]", "[400]"});
}

TEST(H5Percentiles, RoundTripAndErrors) {
    TempDir dir;
    PercentilesFile p;
    p.levels = {1, 50, 99.9};
    p.tmax = 32;
    p.images = 12;
    p.source = "test";
    p.model = "m.h5";
    p.created = "now";
    p.tool_version = "triseg test";
    for (int l = 0; l < 2; ++l) {
        LayerPercentiles lp;
        lp.name = "conv" + std::to_string(l + 1) + "_1";
        lp.scale = 0.5f;
        lp.zero_point = l;
        lp.histogram[static_cast<size_t>(l)] = 10;
        lp.histogram[255] = 2;
        lp.percentiles = {l, l, 255};
        lp.fraction_le_tmax = 10.0 / 12;
        p.layers.push_back(lp);
    }
    const std::string path = dir.file("p.h5");
    write_percentiles(p, path);
    const auto q = read_percentiles(path);
    EXPECT_EQ(q.levels, p.levels);
    EXPECT_EQ(q.tmax, 32);
    ASSERT_EQ(q.layers.size(), 2u);
    EXPECT_EQ(q.layers[1].name, "conv2_1");
    EXPECT_EQ(q.layers[1].histogram, p.layers[1].histogram);
    EXPECT_EQ(q.layers[1].percentiles, p.layers[1].percentiles);
    EXPECT_EQ(q.layers[1].zero_point, 1);
    EXPECT_DOUBLE_EQ(q.layers[0].fraction_le_tmax, 10.0 / 12);

    ActsHeader h = small_header(ActsKind::Int8, 3);
    write_dump(dir.file("acts.h5"), h);
    expect_error<InputError>([&] { (void)read_percentiles(dir.file("acts.h5")); },
                             {"acts.h5", "triseg-acts-v1", "triseg-percentiles-v1"});
}

} // namespace
} // namespace triseg::io
