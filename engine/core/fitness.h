// Fitness: what one candidate code set scores on a set of images.
#pragma once

#include <cstdint>
#include <vector>

namespace triseg::engine {

/// The score of one candidate CodeSet on one scoring set (teacher = the exact INT8 model,
/// student = the same model with the candidate's table at every block output).
/// A plain value; the only currency, with CodeSet, between search/ and engine/.
struct Fitness {
    /// kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T^2 = KL(teacher || student).
    double kd_loss = 0.0;
    double acc_student = 0.0; ///< percent of images the student classifies right
    double acc_teacher = 0.0; ///< percent of images the teacher classifies right
    double agreement = 0.0;   ///< percent of images where student and teacher agree
    double coverage = 0.0;    ///< fraction of all block output codes the tables change
    double zeroed = 0.0;      ///< fraction of all block output codes set from non-zero to 0
    /// Fraction of all block output codes inside the approximated range (code <= tmax, so the
    /// table maps them to 0, v1 or v2): the accuracy-coverage front's second objective.
    double covered = 0.0;
    int64_t images = 0; ///< images scored
    /// Int8 multiply-accumulates executed to score it (convs and classifier, summed over its
    /// images; fewer when it was replayed from a cached prefix, see Evaluator::set_anchor).
    int64_t macs = 0;
    /// Added to the KD loss in reward(): the search driver's penalty for falling short of
    /// `search.target_coverage` (0 without a target). Not a measurement of the codes.
    double penalty = 0.0;
    /// Empty, or (a scoring set with the teacher's point codes, ScoringSet::teacher_points) one
    /// value per approximation point: the mean squared difference between the student's and
    /// the teacher's dequantized codes at the point, scale^2 * mean((student - teacher)^2),
    /// over the scored images and positions. A feature distance for the PPO's per-layer
    /// reward and feature alignment; the student's codes are after its map.
    std::vector<double> point_mse;
    /// Empty, or (a scorer with extra temperatures, CandidateScorer::set_extra_temperatures)
    /// the KD loss at each of those temperatures, in their order: PPO's temperature
    /// curriculum reads its stage's.
    std::vector<double> kd_at;

    /// The search maximizes -kd_loss (the original's reward), minus the penalty of a coverage
    /// target when one is set.
    double reward() const { return -(kd_loss + penalty); }
    /// Teacher minus student accuracy, in points.
    double acc_drop() const { return acc_teacher - acc_student; }

    bool operator==(const Fitness& o) const {
        return kd_loss == o.kd_loss && acc_student == o.acc_student &&
               acc_teacher == o.acc_teacher && agreement == o.agreement && coverage == o.coverage &&
               zeroed == o.zeroed && covered == o.covered && images == o.images && macs == o.macs &&
               penalty == o.penalty && point_mse == o.point_mse && kd_at == o.kd_at;
    }
    bool operator!=(const Fitness& o) const { return !(*this == o); }
};

} // namespace triseg::engine
