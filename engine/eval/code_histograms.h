// The teacher's block-output code histograms on a scoring set (for Lloyd-Max and search.init).
#pragma once

#include <vector>

#include "engine/eval/scoring_set.h"
#include "engine/int8/int8_network.h"

namespace triseg::engine {

/// Per block, how often each code 0..255 occurs at the block's output in the teacher (identity
/// tables, codes before any table and before the pool) over every image and position of `set`.
/// Integer counts, so the result is identical for any thread count and for any split of the
/// images (the counts of two halves add up to the counts of the whole).
/// @param threads OpenMP threads (0 = the current OpenMP default).
/// @throws InputError when `set` holds no images or images of another size than the network's.
std::vector<CodeHistogram>
teacher_code_histograms(const Int8Network& net, const ScoringSet& set, int threads);

} // namespace triseg::engine
