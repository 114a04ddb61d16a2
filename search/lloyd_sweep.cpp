// LloydSweep: the uniform-tmax and per-layer-quantile Lloyd-Max points, scored once.
#include "search/lloyd_sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "common/error.h"
#include "search/pareto.h"

namespace triseg::search {

namespace {
constexpr const char* kStateKey = "lloyd_sweep/told";
} // namespace

std::vector<double> lloyd_sweep_quantiles() {
    std::vector<double> out;
    for (int p = 85; p <= 99; ++p) {
        out.push_back(p / 100.0);
    }
    return out;
}

LloydSweep::LloydSweep(std::shared_ptr<const AllocationSpace> space, int64_t generation) {
    TRISEG_CHECK(generation >= 1, ConfigError,
                 "`search.episodes_per_generation` must be at least 1, got " << generation);
    if (!space) {
        throw std::logic_error("LloydSweep: no allocation space");
    }
    const auto add = [&](CodeSet c) {
        if (std::find(points_.begin(), points_.end(), c) == points_.end()) {
            points_.push_back(std::move(c));
        }
    };
    for (int32_t t = space->tmax_min(); t <= space->tmax_max(); ++t) {
        add(space->uniform(t));
    }
    for (double p : lloyd_sweep_quantiles()) {
        add(space->decode(space->quantile_tmax(p)));
    }
}

std::vector<CodeSet> LloydSweep::ask() {
    asked_ = true;
    return points_;
}

void LloydSweep::tell(const std::vector<CodeSet>& candidates, const std::vector<Fitness>& scores) {
    const bool prefix = candidates.size() <= points_.size() &&
                        std::equal(candidates.begin(), candidates.end(), points_.begin());
    if (!asked_ || told_ || candidates.size() != scores.size() || !prefix) {
        throw std::logic_error("LloydSweep::tell: " + std::to_string(scores.size()) +
                               " scores for " + std::to_string(candidates.size()) +
                               " candidates; the last ask() gave the sweep's " +
                               std::to_string(points_.size()) + " code sets");
    }
    told_codes_ = candidates;
    told_scores_ = scores;
    told_ = !candidates.empty();
    asked_ = false;
}

std::vector<CodeSet> LloydSweep::front() const {
    std::vector<CodeSet> out;
    for (size_t i : non_dominated(told_scores_)) {
        out.push_back(told_codes_[i]);
    }
    return out;
}

void LloydSweep::save(Checkpoint& checkpoint) const {
    // The told points are a prefix of points_ (rebuilt from the same histograms): their count,
    // then each one's KD loss and covered share as exact hexadecimal floats.
    std::ostringstream out;
    out << told_codes_.size() << "\n";
    for (const auto& f : told_scores_) {
        char line[96];
        std::snprintf(line, sizeof line, "%a %a\n", f.kd_loss, f.covered);
        out << line;
    }
    checkpoint.entries[kStateKey] = out.str();
}

void LloydSweep::load(const Checkpoint& checkpoint) {
    const auto it = checkpoint.entries.find(kStateKey);
    TRISEG_CHECK(it != checkpoint.entries.end(), InputError,
                 "the checkpoint holds no lloyd sweep state (was it written by another method or "
                 "in the codes space?)");
    std::istringstream in(it->second);
    long long count = -1;
    in >> count;
    TRISEG_CHECK(in && count >= 0 && static_cast<size_t>(count) <= points_.size(), InputError,
                 "the checkpoint's lloyd sweep state is damaged or holds "
                     << count << " points; this sweep has " << points_.size()
                     << " (other histograms or another tmax range?)");
    std::vector<Fitness> scores;
    for (long long i = 0; i < count; ++i) {
        std::string kd, covered;
        in >> kd >> covered;
        Fitness f;
        char* end_kd = nullptr;
        char* end_cov = nullptr;
        f.kd_loss = std::strtod(kd.c_str(), &end_kd);
        f.covered = std::strtod(covered.c_str(), &end_cov);
        TRISEG_CHECK(in && !kd.empty() && *end_kd == '\0' && !covered.empty() && *end_cov == '\0' &&
                         std::isfinite(f.kd_loss) && std::isfinite(f.covered),
                     InputError, "the checkpoint's lloyd sweep state is damaged at point " << i);
        scores.push_back(f);
    }
    told_codes_.assign(points_.begin(), points_.begin() + static_cast<std::ptrdiff_t>(count));
    told_scores_ = std::move(scores);
    told_ = !told_codes_.empty();
    asked_ = false;
}

} // namespace triseg::search
