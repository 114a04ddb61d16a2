// Tri-segment code validation and tables.
#include "engine/core/code_set.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/error.h"

namespace triseg::engine {

namespace {

/// The first broken rule of the search space, or "" when the codes lie in it.
std::string broken_rule(const LayerCodes& c) {
    std::ostringstream os;
    if (c.tmax < 12 || c.tmax > 255) {
        os << "tmax must be in [12, 255], got " << c.tmax;
    } else if (c.t1 < 2 || c.t1 > std::min(10, c.tmax - 8)) {
        os << "t1 must be in [2, min(10, tmax-8)] = [2, " << std::min(10, c.tmax - 8) << "], got "
           << c.t1;
    } else if (c.t2 < c.t1 + 4 || c.t2 > c.tmax - 4) {
        os << "t2 must be in [t1+4, tmax-4] = [" << c.t1 + 4 << ", " << c.tmax - 4 << "], got "
           << c.t2;
    } else if (c.v1 < c.t1 + 1 || c.v1 > c.t2 - 1) {
        os << "v1 must be in [t1+1, t2-1] = [" << c.t1 + 1 << ", " << c.t2 - 1 << "], got " << c.v1;
    } else if (c.v2 < c.t2 + 1 || c.v2 > c.tmax) {
        os << "v2 must be in [t2+1, tmax] = [" << c.t2 + 1 << ", " << c.tmax << "], got " << c.v2;
    }
    return os.str();
}

/// The first broken rule of a valid tri-segment map, or "" when the codes are one.
std::string broken_map_rule(const LayerCodes& c) {
    std::ostringstream os;
    if (c.t1 < 0) {
        os << "t1 must be >= 0, got " << c.t1;
    } else if (c.t2 < c.t1) {
        os << "t2 must be >= t1 = " << c.t1 << ", got " << c.t2;
    } else if (c.tmax < c.t2) {
        os << "tmax must be >= t2 = " << c.t2 << ", got " << c.tmax;
    } else if (c.tmax > 255) {
        os << "tmax must be <= 255, got " << c.tmax;
    } else if (c.v1 < 0 || c.v1 > 255) {
        os << "v1 must be a code in [0, 255], got " << c.v1;
    } else if (c.v2 < 0 || c.v2 > 255) {
        os << "v2 must be a code in [0, 255], got " << c.v2;
    }
    return os.str();
}

/// Whose codes a message is about: "codes of layer conv1_1", "a candidate's codes of layer
/// conv1_1", or "codes" / "the heuristic codes" when no layer is named.
std::string subject(const std::string& layer, const std::string& owner) {
    const std::string codes = owner.empty() ? "codes" : owner + " codes";
    return layer.empty() ? codes : codes + " of layer " + layer;
}

} // namespace

void validate_map(const LayerCodes& codes, const std::string& layer) {
    const std::string rule = broken_map_rule(codes);
    TRISEG_CHECK(rule.empty(), InputError,
                 subject(layer, "") << " (" << to_string(codes)
                                    << ") are not a valid tri-segment map (0 <= t1 <= t2 <= tmax "
                                       "<= 255, v1 and v2 in [0, 255]): "
                                    << rule);
}

bool map_valid(const LayerCodes& codes) {
    return broken_map_rule(codes).empty();
}

void validate_codes(const LayerCodes& codes, const std::string& layer, const std::string& owner) {
    const std::string rule = broken_rule(codes);
    TRISEG_CHECK(rule.empty(), InputError,
                 subject(layer, owner) << " (" << to_string(codes) << ") break a rule: " << rule);
}

bool codes_valid(const LayerCodes& codes) {
    return broken_rule(codes).empty();
}

CodeTable make_table(const LayerCodes& codes, const std::string& layer) {
    validate_map(codes, layer);
    CodeTable table = identity_table();
    for (int c = 1; c <= codes.tmax; ++c) {
        if (c <= codes.t1) {
            table[c] = 0;
        } else if (c <= codes.t2) {
            table[c] = static_cast<uint8_t>(codes.v1);
        } else {
            table[c] = static_cast<uint8_t>(codes.v2);
        }
    }
    return table;
}

CodeTable identity_table() {
    CodeTable table{};
    for (int c = 0; c < 256; ++c) {
        table[c] = static_cast<uint8_t>(c);
    }
    return table;
}

LayerCodes evenly_spaced_codes(int32_t tmax) {
    LayerCodes c;
    c.tmax = tmax;
    c.t1 = std::max(2, std::min({10, tmax - 8, static_cast<int32_t>(std::lround(tmax / 8.0))}));
    c.t2 = std::max(c.t1 + 4, static_cast<int32_t>(std::lround(tmax / 2.0)));
    c.t2 = std::min(c.t2, tmax - 4);
    c.v1 = (c.t1 + 1 + c.t2) / 2;
    c.v2 = (c.t2 + 1 + tmax) / 2;
    return c;
}

std::string to_string(const LayerCodes& c) {
    std::ostringstream os;
    os << "t1=" << c.t1 << " v1=" << c.v1 << " t2=" << c.t2 << " v2=" << c.v2 << " tmax=" << c.tmax;
    return os.str();
}

} // namespace triseg::engine
