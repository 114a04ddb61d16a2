// The graph tables of bench_int8_kernels: the distinct convs of ResNet-20 and MobileNetV2 on
// their fast kernels against the limit and conv_u8, and their adds and global average pools on
// every ISA against the portable loops.
#pragma once

#include <cstdint>

#include "bench/kernel_timing.h"

namespace triseg::bench {

/// The graph convs' table: each distinct conv of ResNet-20 and MobileNetV2 on its fast kernel
/// (make_conv_kernel, ISA `best`) against the limit measured right before it, and against
/// conv_u8 (the portable loops every such conv ran on before it had a fast kernel).
void run_graph_convs(const Limit& limit,
                     KernelIsa best,
                     double width,
                     int64_t size,
                     int64_t cin,
                     int64_t rounds,
                     double min_seconds);

/// The adds' and global average pools' table: each distinct one of ResNet-20 and MobileNetV2
/// on every ISA this CPU runs against the portable loops (add_u8 / avgpool_u8 without an
/// ISA), timed alternately in each round. Memory-bound ops: Gcode/s (output codes) and GB/s
/// (inputs read + output written), and the ratio to the portable loops.
void run_graph_elementwise(
    double width, int64_t size, int64_t cin, int64_t rounds, double min_seconds);

} // namespace triseg::bench
