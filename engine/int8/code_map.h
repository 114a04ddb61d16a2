// Applying a tri-segment map to block output codes, and counting what it does, in one pass.
#pragma once

#include <array>
#include <cstdint>

#include "engine/core/code_set.h"

namespace triseg::engine {

enum class KernelIsa; // engine/int8/int8_kernels.h

/// 256-bin histogram of codes, one per conv block.
using CodeHistogram = std::array<int64_t, 256>;

/// What a tri-segment map does to a stream of codes c (the block's output codes before the
/// map), with t = make_table(map)[c]:
///     codes   = how many codes
///     changed = how many with t != c
///     zeroed  = how many with c != 0 and t == 0
///     covered = how many with c <= tmax (mapped to 0, v1 or v2)
/// Integer counts: the counts of two parts of a stream add up to those of the whole.
struct MapCounts {
    int64_t codes = 0;
    int64_t changed = 0;
    int64_t zeroed = 0;
    int64_t covered = 0;

    MapCounts& operator+=(const MapCounts& o);
    bool operator==(const MapCounts& o) const;
};

/// The counts of the codes in `histogram` under `map` (a valid map: validate_map).
MapCounts map_counts(const CodeHistogram& histogram, const LayerCodes& map);

/// Writes out[i] = make_table(map)[in[i]] for i in [0, n) (`out` may be `in`) and, when
/// `counts` is not null, adds the MapCounts of the codes in[0, n) to *counts. Bit-identical to the
/// table lookup and to map_counts of the codes' histogram, on every `isa` (the map is computed with
/// byte compares and blends, 64 codes at a time; AVX-512BW or AVX2 where `isa` and the CPU allow,
/// else plain vectors of the build's baseline). Nearly free next to the conv that made the
/// codes: it replaces the histogram pass + table pass of a counted forward.
/// `map` must be valid (validate_map); it is not checked here.
void apply_map(KernelIsa isa,
               const uint8_t* in,
               uint8_t* out,
               int64_t n,
               const LayerCodes& map,
               MapCounts* counts);

} // namespace triseg::engine
