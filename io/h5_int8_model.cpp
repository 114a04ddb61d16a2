// HDF5 writer and reader of Int8Model; the schema is documented in docs/int8-model.md.
#include "io/h5_int8_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/data_options.h"
#include "io/h5_util.h"
#include "io/model_yaml.h"
#include "models/spec/vgg_layout.h"

namespace triseg::io {
namespace {

using h5::Node;
using models::Int8ConvLayer;
using models::Int8LinearLayer;
using models::Int8Model;
using models::QuantParams;
using models::VggLayerSpec;

constexpr const char* kRounding = "round-half-up fixed-point, see docs/int8-model.md";
constexpr int64_t kMaxChannels = int64_t{1} << 16;
constexpr int64_t kMaxFeatures = int64_t{1} << 31;
constexpr int64_t kMaxClasses = 100000;
constexpr int64_t kMaxLayers = 64;
constexpr int32_t kWeightLimit = 127;
constexpr int32_t kMinMultiplier = int32_t{1} << 30;
constexpr int32_t kMinShift = 1;
constexpr int32_t kMaxShift = 62;
constexpr hsize_t kKernel = 3;

/// Letters, digits and '_' only, so a name read from the file is one HDF5 path component.
bool is_layer_name(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_';
    });
}

std::string quant_string(const QuantParams& q) {
    std::ostringstream os;
    os << "scale " << std::setprecision(9) << q.scale << ", zero_point " << q.zero_point;
    return os.str();
}

// ---------------------------------------------------------------------------------------------
// Validation shared by the writer and the reader.

/// Bounds of every quantization scale: far outside what training produces, inside what the
/// integer arithmetic handles (1 / scale must be a finite float; a denormal is not).
constexpr float kMinScale = 1e-10f;
constexpr float kMaxScale = 1e10f;

void check_quant(const QuantParams& q, const std::string& at, const std::string& what) {
    TRISEG_CHECK(std::isfinite(q.scale) && q.scale >= kMinScale && q.scale <= kMaxScale, InputError,
                 at << ": " << what << " scale must be in [" << kMinScale << ", " << kMaxScale
                    << "], got " << q.scale);
    TRISEG_CHECK(q.zero_point >= 0 && q.zero_point <= 255, InputError,
                 at << ": " << what << " zero_point must be in [0, 255], got " << q.zero_point);
}

void check_size(const std::string& at, const char* field, size_t got, int64_t want) {
    TRISEG_CHECK(got == static_cast<size_t>(want), InputError,
                 at << ": " << field << " holds " << got << " values, expected " << want);
}

void check_weights(const std::string& at,
                   const std::vector<int8_t>& weight,
                   const std::vector<float>& weight_scale) {
    for (size_t i = 0; i < weight.size(); ++i) {
        TRISEG_CHECK(weight[i] >= -kWeightLimit && weight[i] <= kWeightLimit, InputError,
                     at << ": weight[" << i << "] (flat index) = " << int{weight[i]}
                        << " is outside [-127, 127] (symmetric int8)");
    }
    for (size_t i = 0; i < weight_scale.size(); ++i) {
        TRISEG_CHECK(std::isfinite(weight_scale[i]) && weight_scale[i] >= kMinScale &&
                         weight_scale[i] <= kMaxScale,
                     InputError,
                     at << ": weight_scale[" << i << "] must be in [" << kMinScale << ", "
                        << kMaxScale << "], got " << weight_scale[i]);
    }
}

void check_conv(const Int8ConvLayer& l, const std::string& at) {
    check_quant(l.output, at, "output");
    check_size(at, "weight", l.weight.size(), l.out_channels * l.in_channels * 9);
    check_size(at, "weight_scale", l.weight_scale.size(), l.out_channels);
    check_size(at, "bias", l.bias.size(), l.out_channels);
    check_size(at, "multiplier", l.multiplier.size(), l.out_channels);
    check_size(at, "shift", l.shift.size(), l.out_channels);
    check_weights(at, l.weight, l.weight_scale);
    for (size_t i = 0; i < l.multiplier.size(); ++i) {
        TRISEG_CHECK(l.multiplier[i] >= kMinMultiplier, InputError,
                     at << ": multiplier[" << i << "] = " << l.multiplier[i]
                        << " is outside [2^30, 2^31) = [1073741824, 2147483647]");
        TRISEG_CHECK(l.shift[i] >= kMinShift && l.shift[i] <= kMaxShift, InputError,
                     at << ": shift[" << i << "] = " << l.shift[i] << " is outside [1, 62]");
    }
}

/// input_mean / input_std: one finite value per input channel, std > 0.
void check_normalization(const Int8Model& m, const std::string& what) {
    check_size(what, "input_mean", m.input_mean.size(), m.model.in_channels);
    check_size(what, "input_std", m.input_std.size(), m.model.in_channels);
    for (size_t c = 0; c < m.input_mean.size(); ++c) {
        // The bounds of data.mean / data.std (io/data_options.h).
        TRISEG_CHECK(std::isfinite(m.input_mean[c]) &&
                         std::abs(m.input_mean[c]) <= DataOptions::kMaxMean,
                     InputError,
                     what << ": input_mean[" << c << "] must be in [" << -DataOptions::kMaxMean
                          << ", " << DataOptions::kMaxMean << "], got " << m.input_mean[c]);
        TRISEG_CHECK(m.input_std[c] >= DataOptions::kMinStd &&
                         m.input_std[c] <= DataOptions::kMaxStd,
                     InputError,
                     what << ": input_std[" << c << "] must be in [" << DataOptions::kMinStd << ", "
                          << DataOptions::kMaxStd << "], got " << m.input_std[c]);
    }
}

/// Every invariant of Int8Model (see models/spec/int8_model.h). `what` starts each message.
/// @throws InputError naming the layer and the expected value.
void check_model(const Int8Model& m, const std::string& what) {
    try {
        m.model.validate();
    } catch (const ConfigError& e) {
        throw InputError(what + ": " + e.what(), e.where());
    }
    check_quant(m.input, what, "input");
    check_normalization(m, what);
    const std::string arch = models::arch_name(m.model.arch);
    const std::vector<VggLayerSpec> layout = models::vgg_layout(m.model);
    TRISEG_CHECK(m.convs.size() == layout.size(), InputError,
                 what << ": holds " << m.convs.size() << " conv layers, but " << arch << " has "
                      << layout.size() << " (" << layout.front().name << " ... "
                      << layout.back().name << ")");

    int64_t prev_channels = m.model.in_channels;
    const QuantParams* prev_quant = &m.input;
    std::string prev_name = "the model input";
    for (size_t i = 0; i < m.convs.size(); ++i) {
        const Int8ConvLayer& l = m.convs[i];
        const VggLayerSpec& e = layout[i];
        TRISEG_CHECK(l.name == e.name, InputError,
                     what << ": conv layer " << i << " is named '" << l.name << "', expected '"
                          << e.name << "' (" << arch << " forward order)");
        const std::string at = what + ": layer " + l.name;
        TRISEG_CHECK(
            l.in_channels == prev_channels, InputError,
            at << ": in_channels is " << l.in_channels << ", expected " << prev_channels
               << (i == 0 ? " (model.in_channels)" : " (out_channels of " + prev_name + ")"));
        TRISEG_CHECK(l.out_channels == e.out_channels, InputError,
                     at << ": out_channels is " << l.out_channels << ", expected " << e.out_channels
                        << " (" << arch << " at width " << m.model.width << ")");
        TRISEG_CHECK(l.pool_after == e.pool_after, InputError,
                     at << ": pool_after is " << std::boolalpha << l.pool_after << ", expected "
                        << e.pool_after << " (" << arch << " layout)");
        TRISEG_CHECK(l.input == *prev_quant, InputError,
                     at << ": input quantization (" << quant_string(l.input)
                        << ") differs from the output quantization of " << prev_name << " ("
                        << quant_string(*prev_quant) << ")");
        check_conv(l, at);
        prev_channels = l.out_channels;
        prev_quant = &l.output;
        prev_name = l.name;
    }

    const Int8LinearLayer& c = m.classifier;
    const std::string at = what + ": classifier";
    const int64_t side = m.model.image_size / 32;
    const int64_t features = prev_channels * side * side;
    TRISEG_CHECK(c.in_features == features, InputError,
                 at << ": in_features is " << c.in_features << ", expected " << features << " ("
                    << prev_channels << " channels of " << prev_name << " x " << side << " x "
                    << side << ")");
    TRISEG_CHECK(c.out_features == m.model.num_classes, InputError,
                 at << ": out_features is " << c.out_features << ", expected "
                    << m.model.num_classes << " (model.num_classes)");
    TRISEG_CHECK(c.input == *prev_quant, InputError,
                 at << ": input quantization (" << quant_string(c.input)
                    << ") differs from the output quantization of " << prev_name << " ("
                    << quant_string(*prev_quant) << ")");
    check_size(at, "weight", c.weight.size(), c.out_features * c.in_features);
    check_size(at, "weight_scale", c.weight_scale.size(), c.out_features);
    check_size(at, "bias", c.bias.size(), c.out_features);
    check_weights(at, c.weight, c.weight_scale);
}

// ---------------------------------------------------------------------------------------------
// Writer (check_model ran first, so every size matches its shape).

void write_quant(const Node& node, const std::string& prefix, const QuantParams& q) {
    h5::write_attribute<float>(node, prefix + "scale", q.scale);
    h5::write_attribute<int32_t>(node, prefix + "zero_point", q.zero_point);
}

void write_contents(const Node& root, const Int8Model& m) {
    h5::write_string_attribute(root, "format", kInt8ModelFormat);
    h5::write_string_attribute(root, "model_yaml", model_to_yaml(m.model));
    h5::write_string_attribute(root, "provenance", m.provenance);
    h5::write_string_attribute(root, "arch", models::arch_name(m.model.arch));
    h5::write_attribute<double>(root, "width", m.model.width);
    h5::write_attribute<int64_t>(root, "in_channels", m.model.in_channels);
    h5::write_attribute<int64_t>(root, "num_classes", m.model.num_classes);
    h5::write_attribute<int64_t>(root, "image_size", m.model.image_size);
    h5::write_string_attribute(root, "rounding", kRounding);

    const Node input = h5::create_group(root, "input");
    write_quant(input, "", m.input);
    h5::write_attribute<float>(input, "mean", m.input_mean);
    h5::write_attribute<float>(input, "std", m.input_std);

    const Node layers = h5::create_group(root, "layers");
    std::vector<std::string> names;
    for (size_t i = 0; i < m.convs.size(); ++i) {
        const Int8ConvLayer& l = m.convs[i];
        names.push_back(l.name);
        const Node g = h5::create_group(layers, l.name);
        h5::write_attribute<int32_t>(g, "index", static_cast<int32_t>(i));
        h5::write_attribute<int64_t>(g, "in_channels", l.in_channels);
        h5::write_attribute<int64_t>(g, "out_channels", l.out_channels);
        h5::write_attribute<uint8_t>(g, "pool_after", l.pool_after ? 1 : 0);
        write_quant(g, "input_", l.input);
        write_quant(g, "output_", l.output);
        const auto out = static_cast<hsize_t>(l.out_channels);
        const auto in = static_cast<hsize_t>(l.in_channels);
        h5::write_dataset(g, "weight", {out, in, kKernel, kKernel}, l.weight);
        h5::write_dataset(g, "weight_scale", {out}, l.weight_scale);
        h5::write_dataset(g, "bias", {out}, l.bias);
        h5::write_dataset(g, "multiplier", {out}, l.multiplier);
        h5::write_dataset(g, "shift", {out}, l.shift);
    }

    const Int8LinearLayer& c = m.classifier;
    const Node cg = h5::create_group(root, "classifier");
    h5::write_attribute<int64_t>(cg, "in_features", c.in_features);
    h5::write_attribute<int64_t>(cg, "out_features", c.out_features);
    write_quant(cg, "input_", c.input);
    const auto out = static_cast<hsize_t>(c.out_features);
    h5::write_dataset(cg, "weight", {out, static_cast<hsize_t>(c.in_features)}, c.weight);
    h5::write_dataset(cg, "weight_scale", {out}, c.weight_scale);
    h5::write_dataset(cg, "bias", {out}, c.bias);

    h5::write_string_dataset(root, "layer_names", names);
}

// ---------------------------------------------------------------------------------------------
// Reader: presence, type and shape come from h5:: helpers; the schema's cross-checks are here.

std::string prefix(const Node& node) {
    return node.file + ": ";
}

int32_t read_int32(const Node& node, const std::string& name) {
    return static_cast<int32_t>(h5::read_int_attribute(
        node, name, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
}

QuantParams read_quant(const Node& node, const std::string& prefix) {
    QuantParams q;
    q.scale = h5::read_float32_attribute(node, prefix + "scale");
    q.zero_point = read_int32(node, prefix + "zero_point");
    return q;
}

void read_root(const Node& root, Int8Model& m) {
    TRISEG_CHECK(h5::has_attribute(root, "format"), InputError,
                 prefix(root) << "not a triseg int8 model: the root attribute 'format' is "
                              << "missing (expected '" << kInt8ModelFormat << "')");
    const std::string format = h5::read_string_attribute(root, "format");
    TRISEG_CHECK(format == kInt8ModelFormat, InputError,
                 prefix(root) << "unsupported format '" << format << "' (root attribute "
                              << "'format'), expected '" << kInt8ModelFormat << "'");
    try {
        m.model = model_from_yaml(h5::read_string_attribute(root, "model_yaml"),
                                  "root attribute 'model_yaml' of " + root.file);
    } catch (const ConfigError& e) {
        throw InputError(prefix(root) + e.what(), e.where());
    }
    m.provenance = h5::read_string_attribute(root, "provenance");

    // The duplicates for h5dump readers must agree with model_yaml, the authority.
    const std::string want_arch = models::arch_name(m.model.arch);
    const std::string arch = h5::read_string_attribute(root, "arch");
    TRISEG_CHECK(arch == want_arch, InputError,
                 prefix(root) << "root attribute 'arch' is '" << arch << "' but model_yaml says '"
                              << want_arch << "'");
    const double width = h5::read_float_attribute(root, "width");
    TRISEG_CHECK(width == m.model.width, InputError,
                 prefix(root) << "root attribute 'width' is " << std::setprecision(17) << width
                              << " but model_yaml says " << m.model.width);
    const std::pair<const char*, int64_t> ints[] = {{"in_channels", m.model.in_channels},
                                                    {"num_classes", m.model.num_classes},
                                                    {"image_size", m.model.image_size}};
    for (const auto& [name, want] : ints) {
        const int64_t got = h5::read_int_attribute(root, name, std::numeric_limits<int64_t>::min(),
                                                   std::numeric_limits<int64_t>::max());
        TRISEG_CHECK(got == want, InputError,
                     prefix(root) << "root attribute '" << name << "' is " << got
                                  << " but model_yaml says " << want);
    }
}

void read_input(const Node& input, Int8Model& m) {
    m.input = read_quant(input, "");
    const auto channels = static_cast<hsize_t>(m.model.in_channels);
    m.input_mean = h5::read_float32_array_attribute(input, "mean", channels);
    m.input_std = h5::read_float32_array_attribute(input, "std", channels);
}

std::vector<std::string> read_layer_names(const Node& root) {
    std::vector<std::string> names = h5::read_string_dataset(root, "layer_names", 1, kMaxLayers);
    for (size_t i = 0; i < names.size(); ++i) {
        TRISEG_CHECK(is_layer_name(names[i]), InputError,
                     prefix(root) << "/layer_names[" << i << "] = '" << names[i]
                                  << "' is not a layer name (letters, digits, '_')");
    }
    return names;
}

Int8ConvLayer read_conv(const Node& g, const std::string& name, size_t position) {
    Int8ConvLayer l;
    l.name = name;
    const int64_t index = h5::read_int_attribute(g, "index", 0, kMaxLayers);
    TRISEG_CHECK(index == static_cast<int64_t>(position), InputError,
                 prefix(g) << "attribute 'index' of '" << g.path << "' is " << index
                           << ", but /layer_names lists the layer at position " << position);
    l.in_channels = h5::read_int_attribute(g, "in_channels", 1, kMaxChannels);
    l.out_channels = h5::read_int_attribute(g, "out_channels", 1, kMaxChannels);
    l.pool_after = h5::read_int_attribute(g, "pool_after", 0, 1) != 0;
    l.input = read_quant(g, "input_");
    l.output = read_quant(g, "output_");
    const auto out = static_cast<hsize_t>(l.out_channels);
    const auto in = static_cast<hsize_t>(l.in_channels);
    l.weight = h5::read_dataset<int8_t>(g, "weight", {out, in, kKernel, kKernel});
    l.weight_scale = h5::read_dataset<float>(g, "weight_scale", {out});
    l.bias = h5::read_dataset<int32_t>(g, "bias", {out});
    l.multiplier = h5::read_dataset<int32_t>(g, "multiplier", {out});
    l.shift = h5::read_dataset<int32_t>(g, "shift", {out});
    return l;
}

Int8LinearLayer read_classifier(const Node& g) {
    Int8LinearLayer c;
    c.in_features = h5::read_int_attribute(g, "in_features", 1, kMaxFeatures);
    c.out_features = h5::read_int_attribute(g, "out_features", 1, kMaxClasses);
    c.input = read_quant(g, "input_");
    const auto out = static_cast<hsize_t>(c.out_features);
    c.weight = h5::read_dataset<int8_t>(g, "weight", {out, static_cast<hsize_t>(c.in_features)});
    c.weight_scale = h5::read_dataset<float>(g, "weight_scale", {out});
    c.bias = h5::read_dataset<int32_t>(g, "bias", {out});
    return c;
}

Int8Model read_contents(const Node& root) {
    Int8Model m;
    read_root(root, m);
    read_input(h5::open_group(root, "input"), m);
    const std::vector<std::string> names = read_layer_names(root);
    const Node layers = h5::open_group(root, "layers");
    const hsize_t groups = h5::num_links(layers);
    TRISEG_CHECK(groups == names.size(), InputError,
                 prefix(root) << "'/layers' holds " << groups << " objects, but /layer_names lists "
                              << names.size() << " layers");
    for (size_t i = 0; i < names.size(); ++i) {
        m.convs.push_back(read_conv(h5::open_group(layers, names[i]), names[i], i));
    }
    m.classifier = read_classifier(h5::open_group(root, "classifier"));
    return m;
}

} // namespace

void write_int8_model(const Int8Model& model, const std::string& path) {
    check_model(model, "int8 model for '" + path + "'");
    const h5::H5Silence silence;
    AtomicPath out(path);
    h5::File file = h5::File::create(
        out.tmp(), "int8 model '" + path + "' (temporary file '" + out.tmp_name() + "')",
        out.folder());
    write_contents(file.root(), model);
    file.close();
    out.commit();
}

Int8Model read_int8_model(const std::string& path) {
    const std::string name = "int8 model '" + path + "'";
    const h5::H5Silence silence;
    h5::File file = h5::File::open(path, name, "re-create it with `triseg export-int8`");
    Int8Model model = read_contents(file.root());
    file.close();
    check_model(model, name);
    return model;
}

} // namespace triseg::io
