// Int8Network on small random VGG-11 models: identity tables reproduce the teacher bit for
// bit, tables and histograms match a plain reference composition, thread counts give
// identical results, input quantization, errors; and the requantization rounding rule.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "engine/core/code_set.h"
#include "engine/core/requant.h"
#include "engine/int8/int8_kernels.h"
#include "engine/int8/int8_network.h"
#include "io/h5_int8_model.h"
#include "tests/engine/int8/int8_fixture.h"
#include "tests/io/temp_dir.h"

namespace triseg::engine {
namespace {

using test::expect_error;

/// Width multipliers: the brief's 0.125 (8..64 channels) and an awkward 0.09 (6, 12, 23, 46
/// channels: odd channel counts, partial channel pairs and partial 8-lane blocks).
constexpr double kWidth = 0.125;
constexpr double kAwkwardWidth = 0.09;
/// Images per forward pass; 7 is not divisible by 2 or 3 threads.
constexpr int64_t kImages = 7;

using test::same_bits;

std::vector<float> run(const Int8Network& net,
                       const std::vector<uint8_t>& codes,
                       int64_t n,
                       const std::vector<const uint8_t*>& tables = {},
                       std::vector<CodeHistogram>* histograms = nullptr,
                       int threads = 0) {
    std::vector<float> logits(static_cast<size_t>(n * net.num_classes()));
    net.forward(codes.data(), n, logits.data(), tables, histograms, threads);
    return logits;
}

/// Random valid tables, one per block, with their codes.
struct Tables {
    std::vector<LayerCodes> codes;
    std::vector<CodeTable> tables;
    std::vector<const uint8_t*> ptrs;
};

Tables random_tables(int64_t layers, Rng& rng) {
    Tables t;
    for (int64_t i = 0; i < layers; ++i) {
        t.codes.push_back(test::random_valid_codes(rng));
        t.tables.push_back(make_table(t.codes.back(), "layer" + std::to_string(i)));
    }
    for (const auto& table : t.tables) {
        t.ptrs.push_back(table.data());
    }
    return t;
}

int64_t block_output_size(const models::Int8Model& m, size_t layer) {
    int64_t side = m.model.image_size;
    for (size_t i = 0; i < layer; ++i) {
        side /= m.convs[i].pool_after ? 2 : 1;
    }
    return m.convs[layer].out_channels * side * side;
}

class Int8NetworkTest : public ::testing::Test {
protected:
    Int8NetworkTest()
        : model_(test::random_int8_model(kWidth, 11)), net_(model_), codes_([this] {
              Rng rng(12);
              return test::random_codes(kImages * net_.input_size(), rng);
          }()) {}

    models::Int8Model model_;
    Int8Network net_;
    std::vector<uint8_t> codes_;
};

TEST_F(Int8NetworkTest, ShapesFollowTheModel) {
    EXPECT_EQ(net_.input_size(), 32 * 32);
    EXPECT_EQ(net_.num_classes(), 10);
    EXPECT_EQ(net_.num_layers(), 8);
    EXPECT_EQ(net_.model().convs[0].name, "conv1_1");
    EXPECT_EQ(net_.model().convs.back().name, "conv5_2");
}

TEST_F(Int8NetworkTest, FixtureCodesSpreadOverTheWholeRange) {
    // Guards the other tests: a model whose blocks output only zeros (or only 255) would
    // make "tables change nothing" and "histograms match" hold trivially.
    std::vector<CodeHistogram> hist;
    run(net_, codes_, kImages, {}, &hist);
    for (size_t i = 0; i < hist.size(); ++i) {
        int64_t total = 0;
        int distinct = 0;
        int64_t high = 0;
        for (int c = 0; c < 256; ++c) {
            total += hist[i][c];
            distinct += hist[i][c] > 0;
            high += c >= 128 ? hist[i][c] : 0;
        }
        SCOPED_TRACE(model_.convs[i].name);
        EXPECT_GT(distinct, 100);
        EXPECT_LT(hist[i][0], total * 9 / 10);
        EXPECT_GT(high, 0);
    }
}

TEST_F(Int8NetworkTest, IdentityTablesReproduceTheTeacherBitForBit) {
    const CodeTable id = identity_table();
    const std::vector<const uint8_t*> tables(static_cast<size_t>(net_.num_layers()), id.data());
    const auto teacher = run(net_, codes_, kImages);
    EXPECT_TRUE(same_bits(run(net_, codes_, kImages, tables), teacher));
    std::vector<CodeHistogram> hist;
    EXPECT_TRUE(same_bits(run(net_, codes_, kImages, tables, &hist), teacher));
}

TEST_F(Int8NetworkTest, NullTablesAreTheTeacher) {
    const std::vector<const uint8_t*> tables(static_cast<size_t>(net_.num_layers()), nullptr);
    EXPECT_TRUE(same_bits(run(net_, codes_, kImages, tables), run(net_, codes_, kImages)));
}

TEST_F(Int8NetworkTest, TeacherMatchesReferenceComposition) {
    const auto expected = test::reference_forward(model_, codes_.data(), kImages, {}, nullptr);
    EXPECT_TRUE(same_bits(run(net_, codes_, kImages), expected));
}

TEST_F(Int8NetworkTest, RandomTablesMatchReferenceComposition) {
    Rng rng(13);
    for (int trial = 0; trial < 3; ++trial) {
        const Tables t = random_tables(net_.num_layers(), rng);
        SCOPED_TRACE("trial " + std::to_string(trial) + ", conv1_1 " + to_string(t.codes[0]));
        const auto expected =
            test::reference_forward(model_, codes_.data(), kImages, t.ptrs, nullptr);
        const auto got = run(net_, codes_, kImages, t.ptrs);
        EXPECT_TRUE(same_bits(got, expected));
        // The tables must matter, or the comparison above proves little.
        EXPECT_FALSE(same_bits(got, run(net_, codes_, kImages)));
    }
}

TEST_F(Int8NetworkTest, SomeNullTablesMatchReferenceComposition) {
    Rng rng(14);
    Tables t = random_tables(net_.num_layers(), rng);
    t.ptrs[0] = nullptr;
    t.ptrs[3] = nullptr;
    t.ptrs.back() = nullptr;
    const auto expected = test::reference_forward(model_, codes_.data(), kImages, t.ptrs, nullptr);
    EXPECT_TRUE(same_bits(run(net_, codes_, kImages, t.ptrs), expected));
}

TEST_F(Int8NetworkTest, HistogramsAreThePreTableCodesOfTheReference) {
    Rng rng(15);
    const Tables t = random_tables(net_.num_layers(), rng);
    std::vector<CodeHistogram> expected;
    const auto ref_logits =
        test::reference_forward(model_, codes_.data(), kImages, t.ptrs, &expected);
    std::vector<CodeHistogram> hist;
    const auto logits = run(net_, codes_, kImages, t.ptrs, &hist);
    EXPECT_TRUE(same_bits(logits, ref_logits));
    // The histogram path runs the kernel without a table and applies it afterwards; the
    // plain path fuses the table into the kernel. Both must give the same logits.
    EXPECT_TRUE(same_bits(logits, run(net_, codes_, kImages, t.ptrs)));
    ASSERT_EQ(hist.size(), model_.convs.size());
    for (size_t i = 0; i < hist.size(); ++i) {
        SCOPED_TRACE(model_.convs[i].name);
        int64_t total = 0;
        for (int64_t h : hist[i]) {
            total += h;
        }
        EXPECT_EQ(total, kImages * block_output_size(model_, i));
        EXPECT_EQ(hist[i], expected[i]);
    }
}

TEST_F(Int8NetworkTest, HistogramsAreResetOnEveryCall) {
    std::vector<CodeHistogram> hist(3, CodeHistogram{});
    hist[0][17] = 1000; // stale content and a wrong size must both be replaced
    run(net_, codes_, kImages, {}, &hist);
    std::vector<CodeHistogram> fresh;
    run(net_, codes_, kImages, {}, &fresh);
    EXPECT_EQ(hist, fresh);
}

TEST_F(Int8NetworkTest, ThreadCountsGiveIdenticalResults) {
    Rng rng(16);
    const Tables t = random_tables(net_.num_layers(), rng);
    std::vector<CodeHistogram> hist1;
    const auto teacher1 = run(net_, codes_, kImages, {}, nullptr, 1);
    const auto student1 = run(net_, codes_, kImages, t.ptrs, &hist1, 1);
    for (int threads : {2, 3, 0}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        std::vector<CodeHistogram> hist;
        EXPECT_TRUE(same_bits(run(net_, codes_, kImages, {}, nullptr, threads), teacher1));
        EXPECT_TRUE(same_bits(run(net_, codes_, kImages, t.ptrs, &hist, threads), student1));
        EXPECT_EQ(hist, hist1);
    }
}

TEST_F(Int8NetworkTest, EachImageIsIndependentOfItsBatch) {
    const auto batch = run(net_, codes_, kImages, {}, nullptr, 3);
    const int64_t classes = net_.num_classes();
    for (int64_t img = 0; img < kImages; ++img) {
        std::vector<uint8_t> one(codes_.begin() + img * net_.input_size(),
                                 codes_.begin() + (img + 1) * net_.input_size());
        const auto single = run(net_, one, 1);
        const std::vector<float> slice(batch.begin() + img * classes,
                                       batch.begin() + (img + 1) * classes);
        EXPECT_TRUE(same_bits(single, slice)) << "image " << img;
    }
}

TEST_F(Int8NetworkTest, ZeroImagesIsANoOp) {
    std::vector<CodeHistogram> hist;
    float sentinel = 42.0f;
    net_.forward(codes_.data(), 0, &sentinel, {}, &hist, 2);
    EXPECT_EQ(sentinel, 42.0f);
    ASSERT_EQ(hist.size(), model_.convs.size());
    for (const auto& h : hist) {
        EXPECT_EQ(h, CodeHistogram{});
    }
}

TEST_F(Int8NetworkTest, WrongNumberOfTablesThrowsInputError) {
    const CodeTable id = identity_table();
    std::vector<float> logits(static_cast<size_t>(kImages * net_.num_classes()));
    for (size_t count : {size_t{1}, size_t{7}, size_t{9}}) {
        const std::vector<const uint8_t*> tables(count, id.data());
        expect_error<InputError>(
            [&] { net_.forward(codes_.data(), kImages, logits.data(), tables); },
            {"got " + std::to_string(count) + " code tables", "8 layers"});
    }
}

TEST_F(Int8NetworkTest, QuantizeEqualsQuantizeInputPerImage) {
    Rng rng(17);
    const int64_t size = net_.input_size();
    std::vector<float> images(static_cast<size_t>(kImages * size));
    for (auto& x : images) {
        x = static_cast<float>((rng.uniform01() - 0.5) * 8.0);
    }
    // Edge values: clamps at both ends, exact ties, zero.
    images[0] = -1e6f;
    images[1] = 1e6f;
    images[2] = 0.0f;
    images[3] = 0.5f * model_.input.scale;
    images[4] = 2.5f * model_.input.scale;
    std::vector<uint8_t> codes(images.size());
    net_.quantize(images.data(), kImages, codes.data());
    for (int64_t img = 0; img < kImages; ++img) {
        std::vector<uint8_t> expected(static_cast<size_t>(size));
        quantize_input(images.data() + img * size, size, model_.input, expected.data());
        EXPECT_TRUE(std::equal(expected.begin(), expected.end(), codes.begin() + img * size))
            << "image " << img;
    }
    EXPECT_EQ(codes[0], 0);
    EXPECT_EQ(codes[1], 255);
    EXPECT_EQ(codes[2], test::kInputZeroPoint);
}

TEST(Int8Network, AwkwardWidthMatchesReferenceWithTablesAndHistograms) {
    const models::Int8Model model = test::random_int8_model(kAwkwardWidth, 21);
    ASSERT_EQ(model.convs[2].out_channels, 23);
    const Int8Network net(model);
    Rng rng(22);
    constexpr int64_t kFew = 3;
    const auto codes = test::random_codes(kFew * net.input_size(), rng);
    const Tables t = random_tables(net.num_layers(), rng);
    std::vector<CodeHistogram> expected;
    const auto ref = test::reference_forward(model, codes.data(), kFew, t.ptrs, &expected);
    std::vector<CodeHistogram> hist;
    EXPECT_TRUE(same_bits(run(net, codes, kFew, t.ptrs, &hist, 2), ref));
    EXPECT_EQ(hist, expected);
    EXPECT_TRUE(same_bits(run(net, codes, kFew, t.ptrs, nullptr, 2), ref));
}

// forward() is const and keeps its work memory per OS thread between calls: concurrent calls
// from several threads (as evaluator threads make) must not share it.
TEST_F(Int8NetworkTest, ConcurrentCallsFromSeveralThreadsGiveTheSerialResults) {
    Rng rng(31);
    const Tables t = random_tables(net_.num_layers(), rng);
    std::vector<CodeHistogram> want_hist;
    const auto want = run(net_, codes_, kImages, t.ptrs, &want_hist, 1);
    constexpr int kCallers = 4;
    constexpr int kCallsEach = 5;
    std::vector<int> mismatches(kCallers, 0);
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c) {
        callers.emplace_back([&, c] {
            for (int k = 0; k < kCallsEach; ++k) {
                std::vector<CodeHistogram> hist;
                const auto got = run(net_, codes_, kImages, t.ptrs, &hist, 1 + (c + k) % 2);
                mismatches[static_cast<size_t>(c)] += !same_bits(got, want) || hist != want_hist;
            }
        });
    }
    for (auto& t2 : callers) {
        t2.join();
    }
    for (int c = 0; c < kCallers; ++c) {
        EXPECT_EQ(mismatches[static_cast<size_t>(c)], 0) << "caller " << c;
    }
}

// The kept work memory is sized per call: a larger network, then a smaller one, then the
// larger again on the same threads give each network's own results.
TEST(Int8Network, NetworksOfDifferentSizesShareNoStaleWorkMemory) {
    const Int8Network big(test::random_int8_model(kWidth, 41));
    const Int8Network small(test::random_int8_model(kAwkwardWidth, 42));
    Rng rng(43);
    const auto big_codes = test::random_codes(kImages * big.input_size(), rng);
    const auto small_codes = test::random_codes(kImages * small.input_size(), rng);
    const auto big_first = run(big, big_codes, kImages, {}, nullptr, 2);
    const auto small_ref =
        test::reference_forward(small.model(), small_codes.data(), kImages, {}, nullptr);
    EXPECT_TRUE(same_bits(run(small, small_codes, kImages, {}, nullptr, 2), small_ref));
    EXPECT_TRUE(same_bits(run(big, big_codes, kImages, {}, nullptr, 2), big_first));
    EXPECT_TRUE(same_bits(
        big_first, test::reference_forward(big.model(), big_codes.data(), kImages, {}, nullptr)));
}

TEST(Int8Network, InconsistentModelsThrowInputError) {
    models::Int8Model model = test::random_int8_model(0.0625, 31);
    {
        models::Int8Model m = model;
        m.convs.clear();
        expect_error<InputError>([&] { Int8Network net(m); }, {"no conv layers"});
    }
    {
        models::Int8Model m = model;
        m.classifier.in_features += 1;
        m.classifier.weight.resize(
            static_cast<size_t>(m.classifier.in_features * m.classifier.out_features));
        expect_error<InputError>([&] { Int8Network net(m); }, {"classifier"});
    }
    {
        models::Int8Model m = model;
        m.convs[2].multiplier[0] = 5; // not in [2^30, 2^31)
        expect_error<InputError>([&] { Int8Network net(m); }, {m.convs[2].name});
    }
}

// ---- requantization (engine/core/requant.h) ----

TEST(Requant, QuantizeMultiplierIsExactForPowersOfTwo) {
    EXPECT_EQ(quantize_multiplier(0.5), (FixedPointMultiplier{1 << 30, 31}));
    EXPECT_EQ(quantize_multiplier(1.0), (FixedPointMultiplier{1 << 30, 30}));
    EXPECT_EQ(quantize_multiplier(0.25), (FixedPointMultiplier{1 << 30, 32}));
    EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -31)), (FixedPointMultiplier{1 << 30, 61}));
    EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, 29)), (FixedPointMultiplier{1 << 30, 1}));
    EXPECT_EQ(quantize_multiplier(0.75), (FixedPointMultiplier{3 << 29, 31}));
}

TEST(Requant, QuantizeMultiplierIsNearestAndInRange) {
    /// |M - multiplier * 2^-shift| / M is at most half a unit in 2^30.
    constexpr double kRelativeError = 0.5 / 1073741824.0;
    Rng rng(41);
    for (int i = 0; i < 2000; ++i) {
        const double m = std::ldexp(0.5 + 0.5 * rng.uniform01(),
                                    static_cast<int>(test::uniform_int(rng, -30, 30)));
        const FixedPointMultiplier q = quantize_multiplier(m);
        ASSERT_GE(q.multiplier, 1 << 30) << m;
        ASSERT_GE(q.shift, 1) << m;
        ASSERT_LE(q.shift, 62) << m;
        const double back = std::ldexp(static_cast<double>(q.multiplier), -q.shift);
        ASSERT_LE(std::abs(back - m) / m, kRelativeError) << m;
    }
    // Rounding frac * 2^31 up to 2^31 renormalizes instead of overflowing int32.
    const double just_below_one = std::nextafter(1.0, 0.0);
    EXPECT_EQ(quantize_multiplier(just_below_one), (FixedPointMultiplier{1 << 30, 30}));
}

// A model file whose bias and weights can overflow the int32 accumulator is stored as it is
// (the file format holds any int32 bias), but loading it to run names the file and the fix.
TEST(Int8Network, LoadingAModelThatCanOverflowNamesTheFileAndTheLayer) {
    models::Int8Model m = test::random_int8_model(kWidth, 3);
    m.convs[1].bias[0] = std::numeric_limits<int32_t>::max();
    test::TempDir dir;
    const std::string path = dir.file("overflow.h5");
    io::write_int8_model(m, path);
    expect_error<InputError>(
        [&] { (void)load_int8_network(path); },
        {"int8 model '" + path + "'", m.convs[1].name, "overflow", "`triseg export-int8`"});
    m.convs[1].bias[0] = 0;
    io::write_int8_model(m, path);
    EXPECT_EQ(load_int8_network(path).num_layers(), static_cast<int64_t>(m.convs.size()));
}

TEST(Requant, QuantizeMultiplierAcceptsItsWholeDocumentedRange) {
    // The contract: throws only unless 2^-31 <= m < 2^30. The largest doubles below 2^30
    // round to multiplier 2^31, which renormalizes to shift 0.
    const double top = std::nextafter(std::ldexp(1.0, 30), 0.0);
    try {
        const FixedPointMultiplier q = quantize_multiplier(top);
        EXPECT_GE(q.shift, 1);
        EXPECT_GE(q.multiplier, 1 << 30);
    } catch (const InputError& e) {
        ADD_FAILURE() << "m = 2^30 - 2^-23 is documented as valid but throws: " << e.what();
    }
}

TEST(Requant, QuantizeMultiplierRejectsOutOfRange) {
    for (double m :
         {std::ldexp(1.0, 30), 1e12, std::nextafter(std::ldexp(1.0, -31), 0.0), 1e-12, 0.0, -0.5,
          std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        expect_error<InputError>([&] { quantize_multiplier(m); }, {"requantization multiplier"});
    }
}

TEST(Requant, ApplyMultiplierRoundsTiesUp) {
    const FixedPointMultiplier half = quantize_multiplier(0.5);
    EXPECT_EQ(apply_multiplier(1, half), 1);
    EXPECT_EQ(apply_multiplier(-1, half), 0);
    EXPECT_EQ(apply_multiplier(3, half), 2);
    EXPECT_EQ(apply_multiplier(-3, half), -1);
    EXPECT_EQ(apply_multiplier(0, half), 0);
    EXPECT_EQ(apply_multiplier(2, half), 1);
    const FixedPointMultiplier quarter = quantize_multiplier(0.25);
    EXPECT_EQ(apply_multiplier(1, quarter), 0);  // 0.25
    EXPECT_EQ(apply_multiplier(2, quarter), 1);  // 0.5 ties up
    EXPECT_EQ(apply_multiplier(-2, quarter), 0); // -0.5 ties up
    EXPECT_EQ(apply_multiplier(-3, quarter), -1);
    EXPECT_EQ(apply_multiplier(std::numeric_limits<int32_t>::max(), half), int64_t{1} << 30);
    EXPECT_EQ(apply_multiplier(std::numeric_limits<int32_t>::min(), half), -(int64_t{1} << 30));
}

TEST(Requant, ApplyMultiplierMatchesExactDoubleRounding) {
    Rng rng(42);
    for (int i = 0; i < 20000; ++i) {
        const double m = std::ldexp(0.5 + 0.5 * rng.uniform01(),
                                    static_cast<int>(test::uniform_int(rng, -20, 2)));
        const FixedPointMultiplier q = quantize_multiplier(m);
        // |x| < 2^21 keeps x * multiplier below 2^52, so the double product is exact.
        const auto x = static_cast<int32_t>(test::uniform_int(rng, -(1 << 21) + 1, (1 << 21) - 1));
        const double exact = std::ldexp(static_cast<double>(x) * q.multiplier, -q.shift);
        ASSERT_EQ(apply_multiplier(x, q), static_cast<int64_t>(std::floor(exact + 0.5)))
            << "x " << x << " m " << m;
    }
}

TEST(Requant, RequantizeReluClampsToZeroPointAnd255) {
    const FixedPointMultiplier half = quantize_multiplier(0.5);
    EXPECT_EQ(requantize_relu(-1000, half, 0), 0);
    EXPECT_EQ(requantize_relu(-1, half, 0), 0);
    EXPECT_EQ(requantize_relu(1, half, 0), 1);
    EXPECT_EQ(requantize_relu(100, half, 0), 50);
    EXPECT_EQ(requantize_relu(509, half, 0), 255); // 254.5 ties up
    EXPECT_EQ(requantize_relu(507, half, 0), 254);
    EXPECT_EQ(requantize_relu(100000, half, 0), 255);
    EXPECT_EQ(requantize_relu(-1000, half, 10), 10);
    EXPECT_EQ(requantize_relu(0, half, 10), 10);
    EXPECT_EQ(requantize_relu(3, half, 10), 12);
    EXPECT_EQ(requantize_relu(489, half, 10), 255);
    EXPECT_EQ(requantize_relu(std::numeric_limits<int32_t>::max(), half, 255), 255);
    EXPECT_EQ(requantize_relu(std::numeric_limits<int32_t>::min(), half, 255), 255);
    EXPECT_EQ(requantize_relu(std::numeric_limits<int32_t>::max(), half, 0), 255);
}

} // namespace
} // namespace triseg::engine
