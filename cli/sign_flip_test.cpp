// The exact paired sign-flip test.
#include "cli/sign_flip_test.h"

#include <cmath>
#include <cstdint>

#include "common/error.h"

namespace triseg::cli {

namespace {
/// Sums closer than this share of sum |d_i| are ties (see the header).
constexpr double kTieTolerance = 1e-12;
} // namespace

double sign_flip_p_value(const std::vector<double>& differences) {
    const size_t n = differences.size();
    TRISEG_CHECK(n >= 1 && n <= kMaxSignFlipPairs, InputError,
                 "the sign-flip test takes 1 to " << kMaxSignFlipPairs << " pairs, got " << n);
    double observed = 0.0;
    double scale = 0.0;
    for (double d : differences) {
        observed += d;
        scale += std::fabs(d);
    }
    observed = std::fabs(observed);
    const double tie = kTieTolerance * scale;
    const uint64_t patterns = uint64_t{1} << n;
    uint64_t extreme = 0;
    for (uint64_t mask = 0; mask < patterns; ++mask) {
        double sum = 0.0; // summed afresh in the same order for every pattern
        for (size_t i = 0; i < n; ++i) {
            sum += (mask >> i & 1U) != 0 ? -differences[i] : differences[i];
        }
        extreme += std::fabs(sum) >= observed - tie ? 1 : 0;
    }
    return static_cast<double>(extreme) / static_cast<double>(patterns);
}

} // namespace triseg::cli
