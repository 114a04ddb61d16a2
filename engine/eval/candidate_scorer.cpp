// CandidateScorer: unit scoring and fixed-order reduction.
#include "engine/eval/candidate_scorer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/byte_io.h"
#include "common/error.h"

namespace triseg::engine {

bool UnitScore::operator==(const UnitScore& o) const {
    return unit == o.unit && stats.kd_sum == o.stats.kd_sum && stats.count == o.stats.count &&
           stats.student_correct == o.stats.student_correct &&
           stats.teacher_correct == o.stats.teacher_correct && stats.agree == o.stats.agree &&
           changed == o.changed && zeroed == o.zeroed && covered == o.covered && codes == o.codes &&
           macs == o.macs && sq_error == o.sq_error && extra_kd_sums == o.extra_kd_sums;
}

CandidateScorer::CandidateScorer(const Int8Network& net,
                                 const ScoringSet& set,
                                 int64_t shard_images,
                                 double temperature)
    : net_(net), set_(set), shard_images_(shard_images), temperature_(temperature) {
    TRISEG_CHECK(shard_images >= 1, ConfigError,
                 "search.shard_images must be at least 1, got " << shard_images);
    TRISEG_CHECK(set.count() > 0, ConfigError, "the " << set.name << " set holds no images");
    shards_ = (set.count() + shard_images - 1) / shard_images;
}

void CandidateScorer::set_extra_temperatures(std::vector<double> temperatures) {
    for (double t : temperatures) {
        TRISEG_CHECK(std::isfinite(t) && t > 0.0, ConfigError,
                     "a KD temperature must be a finite number > 0, got " << t);
    }
    extra_temperatures_ = std::move(temperatures);
}

std::vector<UnitScore> CandidateScorer::score_units(const std::vector<CodeSet>& candidates,
                                                    int64_t first,
                                                    int64_t last,
                                                    int threads,
                                                    PrefixCache* cache,
                                                    int64_t shard_begin,
                                                    int64_t shard_end) const {
    TRISEG_CHECK(0 <= shard_begin && shard_begin < shard_end && shard_end <= shards_, MpiError,
                 "shard range [" << shard_begin << ", " << shard_end << ") of " << shards_);
    const int64_t width = shard_end - shard_begin;
    std::vector<UnitScore> out;
    const int64_t classes = set_.classes;
    std::vector<float> logits;
    std::vector<MapCounts> counts;
    std::vector<CodeHistogram> prefix;
    std::vector<int64_t> sq_error;
    std::vector<const uint8_t*> reference;
    const bool compare = !set_.teacher_points.empty();
    int64_t u = first;
    while (u < last) {
        const int64_t c = u / width;
        const int64_t k0 = shard_begin + u % width;
        const int64_t k1 = std::min(shard_end, k0 + (last - u));
        const CodeSet& codes = candidates.at(static_cast<size_t>(c));
        TRISEG_CHECK(static_cast<int64_t>(codes.layers.size()) == net_.num_layers(), InputError,
                     "candidate " << c << " has codes for " << codes.layers.size()
                                  << " layers; the model has " << net_.num_layers());
        const int64_t i0 = k0 * shard_images_;
        const int64_t i1 = std::min(set_.count(), k1 * shard_images_);
        logits.resize(static_cast<size_t>((i1 - i0) * classes));
        // A comparison with the teacher's point codes needs every point: a full forward.
        const int64_t from = cache != nullptr && !compare ? cache->replay_block(codes) : -1;
        int64_t image_macs = net_.forward_macs();
        // The maps are applied and counted in the forward pass itself (forward_counted).
        if (from >= 0) {
            cache->fill(k0, k1, threads);
            net_.forward_from_counted(from, cache->live(from, i0), i1 - i0, logits.data(),
                                      codes.layers, &counts, threads);
            // Blocks 0..from: the anchor's codes before the map, under this candidate's maps.
            prefix.assign(counts.size(), CodeHistogram{});
            cache->add_histograms(from, k0, k1, prefix);
            for (int64_t b = 0; b <= from; ++b) {
                const auto l = static_cast<size_t>(b);
                counts[l] += map_counts(prefix[l], codes.layers[l]);
            }
            image_macs = net_.forward_from_macs(from);
        } else if (compare) {
            reference.clear();
            for (int64_t p = 0; p < net_.num_layers(); ++p) {
                reference.push_back(set_.teacher_points[static_cast<size_t>(p)].data() +
                                    i0 * net_.block_output_size(p));
            }
            net_.forward_compared(set_.inputs.codes.data() + i0 * set_.inputs.image_codes, i1 - i0,
                                  logits.data(), codes.layers, &counts, reference, sq_error,
                                  threads);
        } else {
            net_.forward_counted(set_.inputs.codes.data() + i0 * set_.inputs.image_codes, i1 - i0,
                                 logits.data(), codes.layers, &counts, threads);
        }
        for (int64_t k = k0; k < k1; ++k) {
            const int64_t a = k * shard_images_;
            const int64_t b = std::min(set_.count(), a + shard_images_);
            UnitScore s;
            s.unit = c * shards_ + k;
            s.stats = logit_stats(set_.teacher_logits.data() + a * classes,
                                  logits.data() + (a - i0) * classes, set_.inputs.labels.data() + a,
                                  b - a, classes, temperature_);
            s.macs = (b - a) * image_macs;
            for (double t : extra_temperatures_) {
                s.extra_kd_sums.push_back(logit_stats(set_.teacher_logits.data() + a * classes,
                                                      logits.data() + (a - i0) * classes,
                                                      set_.inputs.labels.data() + a, b - a, classes,
                                                      t)
                                              .kd_sum);
            }
            if (k == k0) { // integer counts of the whole pass go to its first unit
                for (const auto& l : counts) {
                    s.codes += l.codes;
                    s.changed += l.changed;
                    s.zeroed += l.zeroed;
                    s.covered += l.covered;
                }
                if (compare) {
                    s.sq_error = sq_error;
                }
            }
            out.push_back(s);
        }
        u += k1 - k0;
    }
    return out;
}

std::vector<Fitness> CandidateScorer::reduce(const std::vector<UnitScore>& units,
                                             int64_t candidates,
                                             int64_t shards_seen) const {
    TRISEG_CHECK(shards_seen >= 1 && shards_seen <= shards_, MpiError,
                 "reduce over " << shards_seen << " of " << shards_ << " shards");
    const int64_t total = candidates * shards_;
    std::vector<const UnitScore*> by_unit(static_cast<size_t>(total), nullptr);
    for (const auto& u : units) {
        TRISEG_CHECK(u.unit >= 0 && u.unit < total && u.unit % shards_ < shards_seen &&
                         by_unit[static_cast<size_t>(u.unit)] == nullptr,
                     MpiError, "work unit " << u.unit << " is out of range or came twice");
        by_unit[static_cast<size_t>(u.unit)] = &u;
    }
    std::vector<Fitness> out;
    for (int64_t c = 0; c < candidates; ++c) {
        LogitStats stats;
        int64_t changed = 0;
        int64_t zeroed = 0;
        int64_t covered = 0;
        int64_t codes = 0;
        int64_t macs = 0;
        std::vector<int64_t> sq_error;
        std::vector<double> extra(extra_temperatures_.size(), 0.0);
        for (int64_t k = 0; k < shards_seen; ++k) {
            const UnitScore* u = by_unit[static_cast<size_t>(c * shards_ + k)];
            TRISEG_CHECK(u != nullptr, MpiError,
                         "work unit " << c * shards_ + k << " (candidate " << c << ", shard " << k
                                      << ") was not scored by any rank");
            stats.merge(u->stats);
            changed += u->changed;
            zeroed += u->zeroed;
            covered += u->covered;
            codes += u->codes;
            macs += u->macs;
            TRISEG_CHECK(u->extra_kd_sums.size() == extra.size(), MpiError,
                         "work unit " << u->unit << " has KD sums at " << u->extra_kd_sums.size()
                                      << " extra temperatures; the scorer has " << extra.size());
            for (size_t t = 0; t < extra.size(); ++t) {
                extra[t] += u->extra_kd_sums[t]; // shard order: the same bits on any rank count
            }
            if (!u->sq_error.empty()) {
                TRISEG_CHECK(u->sq_error.size() == static_cast<size_t>(net_.num_layers()), MpiError,
                             "work unit " << u->unit << " compares " << u->sq_error.size()
                                          << " points; the model has " << net_.num_layers());
                sq_error.resize(u->sq_error.size(), 0);
                for (size_t p = 0; p < sq_error.size(); ++p) {
                    sq_error[p] += u->sq_error[p];
                }
            }
        }
        Fitness f;
        f.kd_loss = stats.kd_loss(temperature_);
        f.acc_student = stats.student_accuracy();
        f.acc_teacher = stats.teacher_accuracy();
        f.agreement = stats.agreement();
        f.coverage = codes > 0 ? static_cast<double>(changed) / static_cast<double>(codes) : 0.0;
        f.zeroed = codes > 0 ? static_cast<double>(zeroed) / static_cast<double>(codes) : 0.0;
        f.covered = codes > 0 ? static_cast<double>(covered) / static_cast<double>(codes) : 0.0;
        f.images = stats.count;
        f.macs = macs;
        for (size_t p = 0; p < sq_error.size(); ++p) {
            const auto b = static_cast<int64_t>(p);
            const double scale = net_.block_tensor(b).quant.scale;
            const double values = static_cast<double>(f.images * net_.block_output_size(b));
            f.point_mse.push_back(scale * scale * static_cast<double>(sq_error[p]) / values);
        }
        for (size_t t = 0; t < extra.size(); ++t) {
            LogitStats at;
            at.kd_sum = extra[t];
            at.count = stats.count;
            f.kd_at.push_back(at.kd_loss(extra_temperatures_[t]));
        }
        out.push_back(f);
    }
    return out;
}

void unit_block(int64_t units, int rank, int ranks, int64_t& first, int64_t& last) {
    first = units * rank / ranks;
    last = units * (rank + 1) / ranks;
}

namespace {

template <typename T> void put(std::vector<uint8_t>& b, T v) {
    append_raw(b, v);
}

template <typename T> T take(const std::vector<uint8_t>& b, size_t& pos) {
    T v{};
    TRISEG_CHECK(read_raw(b, pos, v), MpiError,
                 "a score message from another rank is truncated (" << b.size() << " bytes)");
    return v;
}

} // namespace

std::vector<uint8_t> encode_units(const std::vector<UnitScore>& units) {
    std::vector<uint8_t> b;
    put<uint64_t>(b, units.size());
    for (const auto& u : units) {
        put(b, u.unit);
        put(b, u.stats.kd_sum);
        put(b, u.stats.count);
        put(b, u.stats.student_correct);
        put(b, u.stats.teacher_correct);
        put(b, u.stats.agree);
        put(b, u.changed);
        put(b, u.zeroed);
        put(b, u.covered);
        put(b, u.codes);
        put(b, u.macs);
        put<uint64_t>(b, u.extra_kd_sums.size());
        for (double v : u.extra_kd_sums) {
            put(b, v);
        }
        put<uint64_t>(b, u.sq_error.size());
        for (int64_t v : u.sq_error) {
            put(b, v);
        }
    }
    return b;
}

std::vector<UnitScore> decode_units(const std::vector<uint8_t>& bytes) {
    size_t pos = 0;
    const auto n = take<uint64_t>(bytes, pos);
    std::vector<UnitScore> out(static_cast<size_t>(n));
    for (auto& u : out) {
        u.unit = take<int64_t>(bytes, pos);
        u.stats.kd_sum = take<double>(bytes, pos);
        u.stats.count = take<int64_t>(bytes, pos);
        u.stats.student_correct = take<int64_t>(bytes, pos);
        u.stats.teacher_correct = take<int64_t>(bytes, pos);
        u.stats.agree = take<int64_t>(bytes, pos);
        u.changed = take<int64_t>(bytes, pos);
        u.zeroed = take<int64_t>(bytes, pos);
        u.covered = take<int64_t>(bytes, pos);
        u.codes = take<int64_t>(bytes, pos);
        u.macs = take<int64_t>(bytes, pos);
        const auto temps = take<uint64_t>(bytes, pos);
        TRISEG_CHECK(temps <= bytes.size() / sizeof(double), MpiError,
                     "a score message from another rank claims " << temps << " temperatures");
        u.extra_kd_sums.resize(static_cast<size_t>(temps));
        for (auto& v : u.extra_kd_sums) {
            v = take<double>(bytes, pos);
        }
        const auto points = take<uint64_t>(bytes, pos);
        TRISEG_CHECK(points <= bytes.size() / sizeof(int64_t), MpiError,
                     "a score message from another rank claims " << points << " points");
        u.sq_error.resize(static_cast<size_t>(points));
        for (auto& v : u.sq_error) {
            v = take<int64_t>(bytes, pos);
        }
    }
    TRISEG_CHECK(pos == bytes.size(), MpiError, "a score message from another rank is too long");
    return out;
}

} // namespace triseg::engine
