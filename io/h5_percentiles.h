// HDF5 file of per-layer code histograms and percentiles (schema "triseg-percentiles-v1",
// docs/activations.md), written by `triseg collect-percentiles`, read by search heuristics.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace triseg::io {

/// Value of the root attribute `format` of a percentiles file.
inline constexpr const char* kPercentilesFormat = "triseg-percentiles-v1";

/// One layer's statistics of uint8 output codes (before any table).
struct LayerPercentiles {
    std::string name;
    float scale = 0.0f;
    int32_t zero_point = 0;
    std::array<int64_t, 256> histogram{}; ///< codes seen per code value
    std::vector<int32_t> percentiles;     ///< one code per level of PercentilesFile::levels
    double fraction_le_tmax = 0.0;        ///< fraction of codes <= tmax
};

/// The whole file.
struct PercentilesFile {
    std::vector<double> levels; ///< percent, increasing, in (0, 100]
    int64_t tmax = 32;
    int64_t images = 0;
    std::string source;  ///< "int8 model '<path>' on fashion-mnist test" or "dump '<path>'"
    std::string model;   ///< path of the integer model
    std::string created; ///< ISO 8601 UTC
    std::string tool_version;
    std::vector<LayerPercentiles> layers; ///< forward order
};

/// Writes `p` atomically. @throws IoError.
void write_percentiles(const PercentilesFile& p, const std::string& path);

/// Reads and checks a file written by write_percentiles (format, shapes, types, levels).
/// @throws IoError when missing; InputError when not HDF5, foreign, truncated or malformed.
PercentilesFile read_percentiles(const std::string& path);

} // namespace triseg::io
