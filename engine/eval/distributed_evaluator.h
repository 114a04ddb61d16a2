// DistributedEvaluator: scores candidates on every rank of a Cluster.
#pragma once

#include <optional>
#include <string>

#include "engine/core/evaluator.h"
#include "engine/dist/cluster.h"
#include "engine/eval/candidate_scorer.h"

namespace triseg::engine {

/// Rank 0 calls evaluate(); every other rank calls serve() once, which returns when rank 0
/// calls stop(). Per call, rank 0 broadcasts the candidates; the candidates x shards work
/// units are split into contiguous, nearly equal blocks, one per rank (rank 0 scores too),
/// and rank 0 gathers the unit sums and reduces them in a fixed order (CandidateScorer).
///
/// Why split by candidate *and* data shard: a generation rarely has a multiple of the rank
/// count of candidates, and whole candidates per rank would leave ranks idle; units of 32
/// images keep every rank busy while the per-unit sums, added in shard order, make the
/// result independent of the rank count.
///
/// A failure while scoring (invalid codes, a bug) is seen by one rank only while the others
/// wait in a collective call: that rank prints it and ends the whole job (abort_job).
class DistributedEvaluator final : public Evaluator {
public:
    /// `cluster`, `net` and the sets must outlive the evaluator. Collective.
    /// `prefix_cache_bytes`: the cap of each rank's reward-set PrefixCache (0: none).
    DistributedEvaluator(Cluster& cluster,
                         const Int8Network& net,
                         const ScoringSet& reward,
                         const ScoringSet& holdout,
                         int64_t shard_images,
                         double temperature,
                         int threads,
                         std::string command,
                         int64_t prefix_cache_bytes = 0);

    /// Rank 0 only. Collective with the other ranks' serve().
    std::vector<Fitness> evaluate(const std::vector<CodeSet>& candidates,
                                  ScoringRole role = ScoringRole::Reward) override;
    /// Rank 0 only: one request per rung (the rung's candidates and shard range), each split
    /// over the ranks like evaluate()'s. Collective with the other ranks' serve().
    std::vector<Fitness> evaluate_raced(const std::vector<CodeSet>& candidates,
                                        const Racing& racing,
                                        const std::function<double(const Fitness&)>& loss) override;
    int64_t images(ScoringRole role) const override;
    /// Rank 0: the anchor travels with each following reward-set request; each rank keeps the
    /// anchor's block outputs of the images of the units it scores.
    void set_anchor(const std::optional<CodeSet>& anchor) override;
    /// Temperatures at which each reward-set Fitness also has its KD loss (Fitness::kd_at;
    /// CandidateScorer::set_extra_temperatures). Every rank sets the same before serve().
    void set_reward_temperatures(std::vector<double> temperatures) {
        reward_.set_extra_temperatures(std::move(temperatures));
    }
    int64_t anchor_macs() const override;
    int64_t full_forward_macs(ScoringRole role) const override;

    /// Ranks other than 0: answers evaluate() calls until rank 0 calls stop().
    void serve();
    /// Rank 0 only: releases the other ranks from serve(). Idempotent.
    void stop();

private:
    /// Validates the candidates, broadcasts the request and scores this rank's units.
    /// Returns the gathered units on rank 0 (nothing elsewhere).
    std::vector<UnitScore> request(const std::vector<CodeSet>& candidates,
                                   ScoringRole role,
                                   int64_t shard_begin,
                                   int64_t shard_end);
    /// Scores this rank's block of the request's units and gathers them on rank 0.
    std::vector<UnitScore> run(const std::vector<CodeSet>& candidates,
                               ScoringRole role,
                               int64_t shard_begin,
                               int64_t shard_end);

    Cluster& cluster_;
    CandidateScorer reward_;
    CandidateScorer holdout_;
    int threads_;
    std::string command_;
    int64_t layers_;
    std::vector<std::string> layer_names_; ///< conv1_1 ..., for messages
    PrefixCache cache_;
    std::optional<CodeSet> anchor_; ///< rank 0: sent with reward-set requests
    bool stopped_ = false;
};

/// The shards a request covers: [begin, end); end -1 = every shard of the set.
struct ShardRange {
    int64_t begin = 0;
    int64_t end = -1;
};

/// Encoding of a batch request: [role, n, layers, n*layers*5 int32 codes, has_anchor,
/// (has_anchor ? layers*5 int32 codes of the anchor), shard begin, shard end].
std::vector<uint8_t> encode_request(const std::vector<CodeSet>& candidates,
                                    ScoringRole role,
                                    int64_t layers,
                                    const std::optional<CodeSet>& anchor = std::nullopt,
                                    ShardRange shards = {});
/// @throws MpiError on a malformed buffer.
std::vector<CodeSet> decode_request(const std::vector<uint8_t>& bytes,
                                    ScoringRole& role,
                                    std::optional<CodeSet>* anchor = nullptr,
                                    ShardRange* shards = nullptr);

} // namespace triseg::engine
