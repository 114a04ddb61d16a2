// KD loss and accuracy counts.
#include "engine/int8/kd_loss.h"

#include <algorithm>
#include <cmath>

namespace triseg::engine {

namespace {

int64_t argmax(const float* v, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i) {
        if (v[i] > v[best]) {
            best = i;
        }
    }
    return best;
}

/// log_softmax(v / T) in double.
void log_softmax(const float* v, int64_t n, double temperature, std::vector<double>& out) {
    out.resize(static_cast<size_t>(n));
    double hi = -INFINITY;
    for (int64_t i = 0; i < n; ++i) {
        out[i] = static_cast<double>(v[i]) / temperature;
        hi = std::max(hi, out[i]);
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        sum += std::exp(out[i] - hi);
    }
    const double log_z = hi + std::log(sum);
    for (int64_t i = 0; i < n; ++i) {
        out[i] -= log_z;
    }
}

double percent(int64_t part, int64_t whole) {
    return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

} // namespace

double LogitStats::kd_loss(double temperature) const {
    return count ? kd_sum / static_cast<double>(count) * temperature * temperature : 0.0;
}
double LogitStats::student_accuracy() const {
    return percent(student_correct, count);
}
double LogitStats::teacher_accuracy() const {
    return percent(teacher_correct, count);
}
double LogitStats::agreement() const {
    return percent(agree, count);
}

void LogitStats::merge(const LogitStats& o) {
    kd_sum += o.kd_sum;
    count += o.count;
    student_correct += o.student_correct;
    teacher_correct += o.teacher_correct;
    agree += o.agree;
}

LogitStats logit_stats(const float* teacher,
                       const float* student,
                       const int64_t* labels,
                       int64_t n,
                       int64_t classes,
                       double temperature) {
    LogitStats s;
    std::vector<double> lt;
    std::vector<double> ls;
    for (int64_t i = 0; i < n; ++i) {
        const float* t = teacher + i * classes;
        const float* st = student + i * classes;
        log_softmax(t, classes, temperature, lt);
        log_softmax(st, classes, temperature, ls);
        double kl = 0.0;
        for (int64_t c = 0; c < classes; ++c) {
            kl += std::exp(lt[c]) * (lt[c] - ls[c]);
        }
        s.kd_sum += kl;
        const int64_t pt = argmax(t, classes);
        const int64_t ps = argmax(st, classes);
        s.agree += pt == ps;
        if (labels != nullptr) {
            s.teacher_correct += pt == labels[i];
            s.student_correct += ps == labels[i];
        }
    }
    s.count = n;
    return s;
}

} // namespace triseg::engine
