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
#include "models/spec/int8_graph.h"
#include "models/spec/vgg_layout.h"

namespace triseg::io {
namespace {

using h5::Node;
using models::Int8ConvLayer;
using models::Int8Graph;
using models::Int8LinearLayer;
using models::Int8Model;
using models::Int8Op;
using models::Int8OpKind;
using models::Int8Tensor;
using models::QuantParams;
using models::VggLayerSpec;

constexpr const char* kRounding = "round-half-up fixed-point, see docs/int8-model.md";
constexpr int64_t kMaxChannels = int64_t{1} << 16;
constexpr int64_t kMaxFeatures = int64_t{1} << 31;
constexpr int64_t kMaxClasses = 100000;
constexpr int64_t kMaxLayers = 64;
constexpr int64_t kMaxTensors = 4096;
constexpr int64_t kMaxOps = 4096;
constexpr int64_t kMaxSide = 1 << 14;
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

void write_root(const Node& root,
                const models::ModelOptions& model,
                const std::string& provenance,
                const QuantParams& input_q,
                const std::vector<float>& mean,
                const std::vector<float>& std) {
    h5::write_string_attribute(root, "format", kInt8ModelFormat);
    h5::write_string_attribute(root, "model_yaml", model_to_yaml(model));
    h5::write_string_attribute(root, "provenance", provenance);
    h5::write_string_attribute(root, "arch", models::arch_name(model.arch));
    h5::write_attribute<double>(root, "width", model.width);
    h5::write_attribute<int64_t>(root, "in_channels", model.in_channels);
    h5::write_attribute<int64_t>(root, "num_classes", model.num_classes);
    h5::write_attribute<int64_t>(root, "image_size", model.image_size);
    h5::write_string_attribute(root, "rounding", kRounding);
    const Node input = h5::create_group(root, "input");
    write_quant(input, "", input_q);
    h5::write_attribute<float>(input, "mean", mean);
    h5::write_attribute<float>(input, "std", std);
}

/// The v2 layout (docs/int8-model.md): /tensor_names, /tensors/<name>, /op_names, /ops/<name>.
void write_graph(const Node& root, const Int8Graph& g) {
    write_root(root, g.model, g.provenance, g.input_quant(), g.input_mean, g.input_std);
    const Node tensors = h5::create_group(root, "tensors");
    std::vector<std::string> tensor_names;
    for (size_t t = 0; t < g.tensors.size(); ++t) {
        const Int8Tensor& x = g.tensors[t];
        tensor_names.push_back(x.name);
        const Node n = h5::create_group(tensors, x.name);
        h5::write_attribute<int32_t>(n, "index", static_cast<int32_t>(t));
        h5::write_attribute<int64_t>(n, "channels", x.channels);
        h5::write_attribute<int64_t>(n, "height", x.height);
        h5::write_attribute<int64_t>(n, "width", x.width);
        write_quant(n, "", x.quant);
        h5::write_attribute<uint8_t>(n, "point", x.point ? 1 : 0);
    }
    h5::write_string_dataset(root, "tensor_names", tensor_names);
    const Node ops = h5::create_group(root, "ops");
    std::vector<std::string> op_names;
    for (size_t i = 0; i < g.ops.size(); ++i) {
        const Int8Op& op = g.ops[i];
        op_names.push_back(op.name);
        const Node n = h5::create_group(ops, op.name);
        h5::write_attribute<int32_t>(n, "index", static_cast<int32_t>(i));
        h5::write_string_attribute(n, "kind", models::op_kind_name(op.kind));
        h5::write_attribute<int32_t>(n, "inputs", op.inputs);
        h5::write_attribute<int32_t>(n, "output", op.output);
        h5::write_attribute<int64_t>(n, "kernel", op.kernel);
        h5::write_attribute<int64_t>(n, "stride", op.stride);
        h5::write_attribute<int64_t>(n, "padding", op.padding);
        h5::write_attribute<int64_t>(n, "groups", op.groups);
        h5::write_attribute<int64_t>(n, "in_channels", op.in_channels);
        h5::write_attribute<int64_t>(n, "out_channels", op.out_channels);
        h5::write_attribute<int32_t>(n, "clamp_min", op.clamp_min);
        h5::write_attribute<int32_t>(n, "clamp_max", op.clamp_max);
        const auto out = static_cast<hsize_t>(op.out_channels);
        if (op.kind == Int8OpKind::Conv) {
            const auto k = static_cast<hsize_t>(op.kernel);
            h5::write_dataset(n, "weight",
                              {out, static_cast<hsize_t>(op.in_channels / op.groups), k, k},
                              op.weight);
        } else if (op.kind == Int8OpKind::Linear) {
            h5::write_dataset(n, "weight", {out, static_cast<hsize_t>(op.in_channels)}, op.weight);
        }
        if (op.kind == Int8OpKind::Conv || op.kind == Int8OpKind::Linear) {
            h5::write_dataset(n, "weight_scale", {out}, op.weight_scale);
            h5::write_dataset(n, "bias", {out}, op.bias);
        }
        if (!op.multiplier.empty()) {
            h5::write_dataset(n, "multiplier", {op.multiplier.size()}, op.multiplier);
            h5::write_dataset(n, "shift", {op.shift.size()}, op.shift);
        }
    }
    h5::write_string_dataset(root, "op_names", op_names);
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

/// The root attribute `format`: kInt8ModelFormat or kInt8ModelFormatV1.
std::string read_format(const Node& root) {
    TRISEG_CHECK(h5::has_attribute(root, "format"), InputError,
                 prefix(root) << "not a triseg int8 model: the root attribute 'format' is "
                              << "missing (expected '" << kInt8ModelFormat << "')");
    const std::string format = h5::read_string_attribute(root, "format");
    TRISEG_CHECK(format == kInt8ModelFormat || format == kInt8ModelFormatV1, InputError,
                 prefix(root) << "unsupported format '" << format << "' (root attribute "
                              << "'format'), expected '" << kInt8ModelFormat << "' (or '"
                              << kInt8ModelFormatV1 << "')");
    return format;
}

void read_root(const Node& root, Int8Model& m) {
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

Int8Tensor read_tensor(const Node& n, const std::string& name, size_t position) {
    Int8Tensor x;
    x.name = name;
    const int64_t index = h5::read_int_attribute(n, "index", 0, kMaxTensors);
    TRISEG_CHECK(index == static_cast<int64_t>(position), InputError,
                 prefix(n) << "attribute 'index' of '" << n.path << "' is " << index
                           << ", but /tensor_names lists the tensor at position " << position);
    x.channels = h5::read_int_attribute(n, "channels", 1, kMaxChannels);
    x.height = h5::read_int_attribute(n, "height", 1, kMaxSide);
    x.width = h5::read_int_attribute(n, "width", 1, kMaxSide);
    x.quant = read_quant(n, "");
    x.point = h5::read_int_attribute(n, "point", 0, 1) != 0;
    return x;
}

Int8Op read_op(const Node& n, const std::string& name, size_t position, const Int8Graph& g) {
    Int8Op op;
    op.name = name;
    const int64_t index = h5::read_int_attribute(n, "index", 0, kMaxOps);
    TRISEG_CHECK(index == static_cast<int64_t>(position), InputError,
                 prefix(n) << "attribute 'index' of '" << n.path << "' is " << index
                           << ", but /op_names lists the op at position " << position);
    try {
        op.kind = models::op_kind_from_name(h5::read_string_attribute(n, "kind"));
    } catch (const InputError& e) {
        throw InputError(prefix(n) + "op '" + n.path + "': " + e.what(), e.where());
    }
    const hsize_t inputs = op.kind == Int8OpKind::Add ? 2 : 1;
    op.inputs = h5::read_attribute<int32_t>(n, "inputs", {inputs});
    const auto tensors = static_cast<int64_t>(g.tensors.size());
    op.output = static_cast<int32_t>(h5::read_int_attribute(n, "output", -1, tensors - 1));
    op.kernel = h5::read_int_attribute(n, "kernel", 0, 64);
    op.stride = h5::read_int_attribute(n, "stride", 1, 64);
    op.padding = h5::read_int_attribute(n, "padding", 0, 64);
    op.groups = h5::read_int_attribute(n, "groups", 1, kMaxChannels);
    op.in_channels = h5::read_int_attribute(n, "in_channels", 0, kMaxFeatures);
    op.out_channels = h5::read_int_attribute(n, "out_channels", 0, kMaxFeatures);
    op.clamp_min = static_cast<int32_t>(h5::read_int_attribute(n, "clamp_min", 0, 255));
    op.clamp_max = static_cast<int32_t>(h5::read_int_attribute(n, "clamp_max", 0, 255));
    const auto out = static_cast<hsize_t>(op.out_channels);
    if (op.kind == Int8OpKind::Conv) {
        TRISEG_CHECK(op.kernel >= 1 && op.in_channels >= 1 && op.out_channels >= 1 &&
                         op.in_channels % op.groups == 0,
                     InputError,
                     prefix(n) << "conv '" << n.path << "': kernel " << op.kernel << ", groups "
                               << op.groups << " and in_channels " << op.in_channels
                               << " do not describe a weight tensor");
        const auto k = static_cast<hsize_t>(op.kernel);
        op.weight = h5::read_dataset<int8_t>(
            n, "weight", {out, static_cast<hsize_t>(op.in_channels / op.groups), k, k});
    } else if (op.kind == Int8OpKind::Linear) {
        op.weight =
            h5::read_dataset<int8_t>(n, "weight", {out, static_cast<hsize_t>(op.in_channels)});
    }
    if (op.kind == Int8OpKind::Conv || op.kind == Int8OpKind::Linear) {
        op.weight_scale = h5::read_dataset<float>(n, "weight_scale", {out});
        op.bias = h5::read_dataset<int32_t>(n, "bias", {out});
    }
    hsize_t requant = 0;
    switch (op.kind) {
    case Int8OpKind::Conv:
        requant = out;
        break;
    case Int8OpKind::Add:
        requant = 2;
        break;
    case Int8OpKind::AvgPool:
    case Int8OpKind::GlobalAvgPool:
        requant = 1;
        break;
    default:
        break;
    }
    if (requant > 0) {
        op.multiplier = h5::read_dataset<int32_t>(n, "multiplier", {requant});
        op.shift = h5::read_dataset<int32_t>(n, "shift",
                                             {op.kind == Int8OpKind::Add ? hsize_t{1} : requant});
    }
    return op;
}

Int8Graph read_graph(const Node& root) {
    Int8Model head; // the root attributes and /input, as in v1
    read_root(root, head);
    read_input(h5::open_group(root, "input"), head);
    check_quant(head.input, root.file + ": /input", "input");
    Int8Graph g;
    g.model = head.model;
    g.provenance = head.provenance;
    g.input_mean = head.input_mean;
    g.input_std = head.input_std;
    const auto names_of = [&root](const char* dataset, const char* group, int64_t max) {
        std::vector<std::string> names = h5::read_string_dataset(root, dataset, 1, max);
        const hsize_t links = h5::num_links(h5::open_group(root, group));
        TRISEG_CHECK(links == names.size(), InputError,
                     prefix(root) << "'/" << group << "' holds " << links << " objects, but /"
                                  << dataset << " lists " << names.size());
        for (size_t i = 0; i < names.size(); ++i) {
            const std::string& x = names[i];
            TRISEG_CHECK(!x.empty() && x.size() <= 256 && x.find('/') == std::string::npos &&
                             x != "." && x != "..",
                         InputError,
                         prefix(root) << "/" << dataset << "[" << i << "] = '" << x
                                      << "' is not a name (1 to 256 characters, no '/')");
        }
        return names;
    };
    const std::vector<std::string> tensor_names = names_of("tensor_names", "tensors", kMaxTensors);
    const Node tensors = h5::open_group(root, "tensors");
    for (size_t t = 0; t < tensor_names.size(); ++t) {
        g.tensors.push_back(
            read_tensor(h5::open_group(tensors, tensor_names[t]), tensor_names[t], t));
    }
    TRISEG_CHECK(g.tensors[0].quant == head.input, InputError,
                 prefix(root) << "tensor 0 ('" << g.tensors[0].name << "') has "
                              << quant_string(g.tensors[0].quant) << ", but /input has "
                              << quant_string(head.input));
    const std::vector<std::string> op_names = names_of("op_names", "ops", kMaxOps);
    const Node ops = h5::open_group(root, "ops");
    for (size_t i = 0; i < op_names.size(); ++i) {
        g.ops.push_back(read_op(h5::open_group(ops, op_names[i]), op_names[i], i, g));
    }
    return g;
}

} // namespace

void write_int8_graph(const Int8Graph& graph, const std::string& path) {
    models::validate_graph(graph, "int8 model for '" + path + "'");
    const h5::H5Silence silence;
    AtomicPath out(path);
    h5::File file = h5::File::create(
        out.tmp(), "int8 model '" + path + "' (temporary file '" + out.tmp_name() + "')",
        out.folder());
    write_graph(file.root(), graph);
    file.close();
    out.commit();
}

void write_int8_model(const Int8Model& model, const std::string& path) {
    check_model(model, "int8 model for '" + path + "'");
    write_int8_graph(models::graph_from_chain(model), path);
}

Int8Graph read_int8_graph(const std::string& path) {
    const std::string name = "int8 model '" + path + "'";
    const h5::H5Silence silence;
    h5::File file = h5::File::open(path, name, "re-create it with `triseg export-int8`");
    const std::string format = read_format(file.root());
    if (format == kInt8ModelFormatV1) {
        Int8Model model = read_contents(file.root());
        file.close();
        check_model(model, name);
        return models::graph_from_chain(model);
    }
    Int8Graph graph = read_graph(file.root());
    file.close();
    models::validate_graph(graph, name);
    return graph;
}

Int8Model read_int8_model(const std::string& path) {
    const Int8Graph graph = read_int8_graph(path);
    Int8Model model;
    try {
        model = models::chain_from_graph(graph);
    } catch (const InputError& e) {
        throw InputError("int8 model '" + path + "': " + e.what(), e.where());
    }
    check_model(model, "int8 model '" + path + "'");
    return model;
}

} // namespace triseg::io
