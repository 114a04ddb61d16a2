// ConvKernel: a graph conv op on a fast kernel, and which conv ops have one.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/spec/int8_graph.h"

namespace triseg::engine {

enum class KernelIsa;

/// A conv op packed once per model for a fast kernel; Int8Network runs every conv that has
/// one through this interface (the others through conv_u8). Every implementation computes
/// exactly docs/int8-model.md's conv, output clamp included, on every KernelIsa.
///
/// Thread safety: run_with may run concurrently (each caller brings its own scratch).
class ConvKernel {
public:
    virtual ~ConvKernel() = default;

    /// One image on instruction set `isa`: `in` is [C_in][height][width] codes, `out`
    /// [C_out][H_out][W_out] codes (the op's output size for this input size), each through
    /// `lut` (256 entries) when it is not null. `scratch` is caller-owned work memory,
    /// resized as needed (no allocation once warm).
    /// @throws InputError when `isa` is not supported here or the size is below 1x1.
    virtual void run_with(KernelIsa isa,
                          const uint8_t* in,
                          int64_t height,
                          int64_t width,
                          uint8_t* out,
                          const uint8_t* lut,
                          std::vector<int16_t>& scratch) const = 0;

protected:
    ConvKernel() = default;
    ConvKernel(const ConvKernel&) = default;
    ConvKernel(ConvKernel&&) = default;
    ConvKernel& operator=(const ConvKernel&) = default;
    ConvKernel& operator=(ConvKernel&&) = default;
};

/// The fast kernel of Conv op `op` of `graph` (validated), or null when none fits it:
/// 3x3 one-group convs with padding 1 and any stride run on PackedConv3x3, 1x1 one-group
/// unpadded convs of any stride on PackedConv1x1, 3x3 padding-1 depthwise convs (groups =
/// channels, any stride) on PackedDepthwise3x3, each with any output clamp.
std::unique_ptr<ConvKernel> make_conv_kernel(const models::Int8Graph& graph,
                                             const models::Int8Op& op);

} // namespace triseg::engine
