// Tri-segment codes per layer, their validation, and their 256-entry lookup tables.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace triseg::engine {

/// The codes of one layer, all uint8 code values. Two rules apply to them (below): any
/// valid tri-segment map (0 <= t1 <= t2 <= tmax <= 255, v1 and v2 any code) can be applied;
/// the search methods draw from a smaller search space (t1 < v1 <= t2 < v2 <= tmax, ...).
struct LayerCodes {
    int32_t t1 = 0;
    int32_t v1 = 0;
    int32_t t2 = 0;
    int32_t v2 = 0;
    int32_t tmax = 0;

    bool operator==(const LayerCodes& o) const {
        return t1 == o.t1 && v1 == o.v1 && t2 == o.t2 && v2 == o.v2 && tmax == o.tmax;
    }
    bool operator!=(const LayerCodes& o) const { return !(*this == o); }
};

/// One LayerCodes per conv block, in forward order (index i = the model's i-th conv).
struct CodeSet {
    std::vector<LayerCodes> layers;

    bool operator==(const CodeSet& o) const { return layers == o.layers; }
    bool operator!=(const CodeSet& o) const { return !(*this == o); }
};

/// A 256-entry table on codes.
using CodeTable = std::array<uint8_t, 256>;

/// The search space of the search methods (the original's PPO action space), checked rule by
/// rule:
///   tmax in [12, 255]; t1 in [2, min(10, tmax-8)]; t2 in [t1+4, tmax-4];
///   v1 in [t1+1, t2-1]; v2 in [t2+1, tmax].
/// Every search method, its start codes and the distributed evaluator's candidates obey it.
/// Every code set in the space is a valid map (validate_map), not the other way round.
/// @param layer the layer's name (conv1_1), or "" when the codes belong to no one layer
/// @param owner whose codes they are, the start of the message ("a candidate's"), or ""
/// @throws InputError naming the owner and `layer`, the broken rule and the values.
void validate_codes(const LayerCodes& codes,
                    const std::string& layer,
                    const std::string& owner = "");

/// True when validate_codes would accept `codes` (the codes lie in the search space).
bool codes_valid(const LayerCodes& codes);

/// A valid tri-segment map: what the table of make_table needs to be well defined, checked
/// rule by rule:
///   0 <= t1 <= t2 <= tmax <= 255;  v1 and v2 in [0, 255].
/// The values are free: a learned value may sit on a segment's edge or outside its segment
/// (v1 = t1, v2 < t2 ...), and the table is still a function on codes. Empty segments are
/// allowed and harmless: t1 = 0 zeroes nothing but code 0 (which stays 0 anyway), t1 = t2
/// leaves no code for v1, t2 = tmax none for v2, and tmax = 0 gives the identity table.
/// Commands that apply a user's codes (eval-codes, replay, analyze-sensitivity, reading a
/// result.json) use this rule; the searches keep the search space (validate_codes).
/// @throws InputError naming `layer` (the layer's name; "" for codes of no one layer), the
/// broken rule and the values.
void validate_map(const LayerCodes& codes, const std::string& layer);

/// True when validate_map would accept `codes`.
bool map_valid(const LayerCodes& codes);

/// The tri-segment table:
///   0 -> 0;  (0, t1] -> 0;  (t1, t2] -> v1;  (t2, tmax] -> v2;  above tmax unchanged.
/// @throws InputError (via validate_map) for codes that are not a valid tri-segment map.
CodeTable make_table(const LayerCodes& codes, const std::string& layer);

/// The identity table (table[c] == c): a student with identity tables is the teacher.
CodeTable identity_table();

/// Evenly spaced built-in codes for a given tmax: t1 = max(2, min(10, tmax-8, round(tmax/8))),
/// t2 = round(tmax/2), v1 and v2 the midpoints of their segments (rounded down).
LayerCodes evenly_spaced_codes(int32_t tmax);

/// "t1=4 v1=13 t2=23 v2=31 tmax=32".
std::string to_string(const LayerCodes& codes);

} // namespace triseg::engine
