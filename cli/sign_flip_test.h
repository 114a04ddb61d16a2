// The paired sign-flip permutation test, exact (`triseg report` compares fronts over seeds).
#pragma once

#include <cstddef>
#include <vector>

namespace triseg::cli {

/// Most pairs sign_flip_p_value enumerates (2^20 sign patterns).
constexpr size_t kMaxSignFlipPairs = 20;

/// Two-sided p-value of the paired sign-flip permutation test on `differences` (one per pair,
/// e.g. per seed the hypervolume of method A minus that of method B). Under the null hypothesis
/// each difference is as likely to have the other sign, so all 2^n sign patterns are equally
/// likely; the p-value is the share of patterns whose |sum| is at least the observed |sum|
/// (the observed pattern and its mirror included, so p >= 2 / 2^n). Exact: every pattern is
/// enumerated, no sampling. Sums that differ by less than 1e-12 of sum |d_i| count as equal
/// (rounding: each sum is exact to about n * 1e-16 of sum |d_i|).
///
///     observed = |sum d_i|
///     p = #{s in {-1, +1}^n : |sum s_i d_i| >= observed} / 2^n
///
/// @throws InputError when `differences` is empty or holds more than kMaxSignFlipPairs.
double sign_flip_p_value(const std::vector<double>& differences);

} // namespace triseg::cli
