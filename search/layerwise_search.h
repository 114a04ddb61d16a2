// LayerwiseSearch: coordinate search, one layer's codes at a time, on cached prefixes.
#pragma once

#include <cstdint>
#include <optional>

#include "search/algorithm.h"
#include "search/code_space.h"
#include "search/layerwise_options.h"

namespace triseg::search {

struct MethodEntry;

/// Coordinate search over the layers. It keeps current codes (the start: AlgorithmContext::init
/// when given, else evenly spaced codes for the space's tmax) and, in sweeps over the layers
/// (options.deep_first), makes one *layer step* per generation: candidates that equal the current
/// codes except in layer k (neighbours of layer k's codes and a few random valid codes), of
/// which the best replaces the current codes when its KD loss is strictly lower. The first
/// generation also scores the start codes.
///
/// anchor() is the current codes, so with the evaluator's prefix cache a candidate of layer
/// k's step costs the MACs of blocks k+1.. and the classifier only.
///
/// Step s draws from Rng(seed ^ rng_streams::kLayerwise, s): the sequence depends on the
/// seed and the scores alone, and the state is the step, the current codes and their KD.
class LayerwiseSearch final : public Algorithm {
public:
    /// `generation` (search.episodes_per_generation) is only checked (>= 1), as for every
    /// method: a layer step asks options.candidates.
    /// @throws ConfigError when `space`, `generation` or `options` is invalid, or `init` has
    /// another layer count or codes outside the space.
    LayerwiseSearch(CodeSpace space,
                    uint64_t seed,
                    int64_t generation,
                    LayerwiseOptions options,
                    std::optional<CodeSet> init);

    std::vector<CodeSet> ask() override;
    void tell(const std::vector<CodeSet>& candidates, const std::vector<Fitness>& scores) override;
    std::optional<CodeSet> anchor() const override { return current_; }
    std::vector<LogRecord> take_log() override;
    void save(Checkpoint& checkpoint) const override;
    void load(const Checkpoint& checkpoint) override;
    std::string name() const override { return "layerwise"; }

    /// The layer step `step` changes (sweeps in the order of options.deep_first).
    int64_t layer_of(int64_t step) const;
    const CodeSet& current() const { return current_; }
    /// KD loss of current(); nullopt before the start codes were scored.
    std::optional<double> current_kd() const { return current_kd_; }
    int64_t step() const { return step_; }

private:
    CodeSpace space_;
    uint64_t seed_;
    LayerwiseOptions options_;
    CodeSet current_;
    std::optional<double> current_kd_;
    int64_t step_ = 0;
    std::vector<CodeSet> pending_; ///< the last ask()
    std::vector<LogRecord> log_;
};

/// The registry entry "layerwise" (section `layerwise:`).
MethodEntry layerwise_method();

} // namespace triseg::search
