// Int8Graph: the exported integer network as an ordered list of ops over named tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/spec/int8_model.h"
#include "models/spec/model_options.h"

namespace triseg::models {

/// A uint8 code tensor of one image, [channels][height][width], real = scale * (code - zp).
struct Int8Tensor {
    std::string name; ///< unique; the module path of the op that makes it ("input" for the input)
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    QuantParams quant;
    /// An approximation point: the output of a ReLU or ReLU6 (a conv or an add whose lower
    /// clamp is the output zero point). Searches put a code table here.
    bool point = false;

    int64_t size() const { return channels * height * width; }
};

/// The kinds of op (docs/int8-model.md gives each one's arithmetic).
enum class Int8OpKind {
    Conv,          ///< k x k conv, stride, zero padding, groups (dense or depthwise) + requantize
    Add,           ///< two requantized inputs into one output
    MaxPool,       ///< k x k max on codes, stride, no padding; output quantization = input's
    AvgPool,       ///< k x k average, stride, no padding, requantized
    GlobalAvgPool, ///< average over the whole map (to 1 x 1), requantized
    Linear         ///< the classifier: flattened codes -> float logits (the last op)
};

/// "conv", "add", "maxpool", "avgpool", "gap", "linear" (the file's spelling).
const char* op_kind_name(Int8OpKind kind);
/// The kind spelled `name`; @throws InputError for an unknown name.
Int8OpKind op_kind_from_name(const std::string& name);

/// One op. Fields that a kind does not use stay empty or zero.
///
///   Conv:    inputs {x}; kernel, stride, padding, groups; weight [out][in/groups][k][k];
///            weight_scale, bias, multiplier, shift per output channel; clamp_min/max.
///   Add:     inputs {a, b}; multiplier {m_a, m_b} with one shift {s}; clamp_min/max.
///   MaxPool: inputs {x}; kernel, stride.
///   AvgPool: inputs {x}; kernel, stride; multiplier {m}, shift {s} (for 1 / (k*k) and scales).
///   GlobalAvgPool: inputs {x}; multiplier {m}, shift {s} (for 1 / (H*W) and scales).
///   Linear:  inputs {x}; weight [out][in]; weight_scale, bias per output; output = -1.
struct Int8Op {
    Int8OpKind kind = Int8OpKind::Conv;
    std::string name;            ///< unique among ops
    std::vector<int32_t> inputs; ///< tensor indices
    int32_t output = -1;         ///< tensor index (-1 for Linear: the logits)
    int64_t kernel = 0;
    int64_t stride = 1;
    int64_t padding = 0;
    int64_t groups = 1;
    int64_t in_channels = 0;  ///< Conv: input channels; Linear: in_features
    int64_t out_channels = 0; ///< Conv: output channels; Linear: out_features
    std::vector<int8_t> weight;
    std::vector<float> weight_scale;
    std::vector<int32_t> bias;
    std::vector<int32_t> multiplier;
    std::vector<int32_t> shift;
    int32_t clamp_min = 0;   ///< lowest output code (the output zero point for ReLU)
    int32_t clamp_max = 255; ///< highest output code (the code of 6.0 for ReLU6)
};

/// The whole integer network. Invariants (validate_graph): tensor 0 is the input
/// [in_channels][image_size][image_size] with quant `input`; every op reads tensors defined
/// before it and defines its own output tensor, which no other op defines; the last op, and
/// only it, is Linear; shapes, channels and quantization agree as docs/int8-model.md says.
struct Int8Graph {
    ModelOptions model;            ///< the `model` config section it was exported from
    std::vector<float> input_mean; ///< per channel, pixels/255 are normalized as (p - mean) / std
    std::vector<float> input_std;  ///< per channel, > 0
    std::vector<Int8Tensor> tensors;
    std::vector<Int8Op> ops; ///< forward order
    std::string provenance;

    const QuantParams& input_quant() const { return tensors.at(0).quant; }
};

/// The graph of a VGG chain: the input tensor, then per conv layer a Conv op (3x3, stride 1,
/// padding 1, ReLU) whose output tensor is a point named as the layer, a MaxPool op
/// "<layer>.pool" after pooled layers, and the Linear op "classifier".
Int8Graph graph_from_chain(const Int8Model& chain);

/// Whether `graph` is a VGG chain that graph_from_chain could have made (any names).
bool is_chain(const Int8Graph& graph);

/// The chain of a graph for which is_chain holds. @throws InputError otherwise.
Int8Model chain_from_graph(const Int8Graph& graph);

/// The Int8ConvLayer of a Conv op of `graph` (pool_after false): its weights and
/// requantization, its input and output tensors' quantization.
Int8ConvLayer conv_layer_of(const Int8Graph& graph, const Int8Op& op);

/// Checks every invariant and bound: the structure above; names (letters, digits, '_', '.',
/// '-'); channels, groups and the shapes each op's arithmetic implies; kernel, stride and
/// padding ranges; weights in [-127, 127]; finite positive scales; multipliers in
/// [2^30, 2^31) and shifts in [1, 62] (Add: [1, 62] with multipliers in [0, 2^31)); zero
/// points and clamps in [0, 255] with clamp_min <= clamp_max; a ReLU point's clamp_min equals
/// its zero point; MaxPool keeps its input quantization. @throws InputError starting with
/// `what`, naming the op (or tensor) and the value.
void validate_graph(const Int8Graph& graph, const std::string& what);

/// For a graph that validate_graph accepts: that no conv or linear accumulator can leave
/// int32, i.e. |bias[oc]| + max(zp_in, 255 - zp_in) * sum_k |w[oc, k]| <= INT32_MAX (what the
/// integer runtime needs; a file may hold a model that breaks it, which then cannot run).
/// @throws InputError starting with `what`, naming the op and the output channel.
void validate_graph_accumulators(const Int8Graph& graph, const std::string& what);

/// Tensor indices of the approximation points, in forward order.
std::vector<int32_t> graph_points(const Int8Graph& graph);

/// Multiply-accumulates per image of `op` (every output position, padding included):
/// Conv out_c * (in_c / groups) * k * k * H_out * W_out; Linear in * out; Add, pools: 0.
int64_t op_macs(const Int8Graph& graph, const Int8Op& op);

} // namespace triseg::models
