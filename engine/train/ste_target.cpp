// SteTarget: the train-ste callbacks of TrainLoop (see ste_target.h).
#include "engine/train/ste_target.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include <torch/torch.h>

#include "common/error.h"
#include "engine/train/ste_trainer.h"
#include "io/atomic_file.h"

namespace triseg::engine {

namespace {

constexpr const char* kSteKind = "ste";

nlohmann::json codes_array(const CodeSet& codes) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& c : codes.layers) {
        a.push_back({c.t1, c.v1, c.t2, c.v2, c.tmax});
    }
    return a;
}

/// {"<layer>": {"codes": {t1_code, ...}, "params": {t1_base_p, ...}, "grad_norm": {...}}}.
nlohmann::json layers_json(const TriSegmentSteImpl& ste,
                           const std::vector<std::array<double, 5>>& grads) {
    const auto codes = ste.codes();
    const auto params = ste.params();
    const auto& names = TriSegmentSteImpl::param_names();
    nlohmann::json out = nlohmann::json::object();
    for (size_t l = 0; l < codes.layers.size(); ++l) {
        const auto& c = codes.layers[l];
        nlohmann::json p = nlohmann::json::object();
        nlohmann::json g = nlohmann::json::object();
        for (size_t j = 0; j < names.size(); ++j) {
            p[names[j]] = params[l][j];
            g[names[j]] = grads[l][j];
        }
        out[ste.layers()[l].name] = {{"codes",
                                      {{"t1_code", c.t1},
                                       {"v1_code", c.v1},
                                       {"t2_code", c.t2},
                                       {"v2_code", c.v2},
                                       {"tmax_code", c.tmax}}},
                                     {"params", p},
                                     {"grad_norm", g}};
    }
    return out;
}

/// The records of history.jsonl of epochs before `epoch` (a torn last line is dropped).
std::string history_before(const std::string& path, int64_t epoch) {
    if (!io::file_exists(path)) {
        return {};
    }
    std::istringstream in(io::read_file(path));
    std::string line;
    std::string kept;
    while (std::getline(in, line)) {
        try {
            const auto rec = nlohmann::json::parse(line);
            if (rec.at("epoch").get<int64_t>() < epoch) {
                kept += line + "\n";
            }
        } catch (const nlohmann::json::exception&) {
            break; // a torn line ends what was written completely
        }
    }
    return kept;
}
} // namespace

SteTarget::SteTarget(models::QatNet model,
                     TriSegmentSte ste,
                     torch::Tensor teacher_logits,
                     double temperature,
                     SteOptions options,
                     int64_t steps_per_epoch,
                     std::string history,
                     CodeSet start_codes)
    : model_(std::move(model)), ste_(std::move(ste)), teacher_(std::move(teacher_logits)),
      temperature_(temperature), options_(std::move(options)), steps_per_epoch_(steps_per_epoch),
      history_(std::move(history)), start_codes_(std::move(start_codes)) {}

torch::Tensor SteTarget::forward(const torch::Tensor& x) {
    ste_->begin_batch();
    return model_->forward(x);
}

void SteTarget::write(torch::serialize::OutputArchive& ar) {
    ar.write("kind", c10::IValue(std::string(kSteKind)));
    ar.write("variant", c10::IValue(std::string(variant_name(ste_->variant()))));
    ste_->save(ar);
}

void SteTarget::read(torch::serialize::InputArchive& ar, const std::string& source) {
    c10::IValue kind;
    c10::IValue variant;
    TRISEG_CHECK(ar.try_read("kind", kind) && kind.toStringRef() == kSteKind &&
                     ar.try_read("variant", variant) &&
                     variant.toStringRef() == variant_name(ste_->variant()),
                 InputError,
                 "'" << source << "' is not a train-ste state of the "
                     << variant_name(ste_->variant()) << " variant; remove it or use --force");
    ste_->load(ar);
}

torch::Tensor SteTarget::loss(const LossInput& batch) {
    const double t = temperature_;
    const auto index = torch::tensor(batch.indices, torch::kInt64);
    const auto target_logits = teacher_.index_select(0, index).to(batch.logits.device());
    namespace F = torch::nn::functional;
    const auto kd = F::kl_div(F::log_softmax(batch.logits / t, F::LogSoftmaxFuncOptions(1)),
                              F::softmax(target_logits / t, F::SoftmaxFuncOptions(1)),
                              F::KLDivFuncOptions().reduction(torch::kBatchMean)) *
                    (t * t);
    const auto coverage = ste_->soft_coverage();
    log_.last_kd = kd.item<double>();
    log_.last_coverage = coverage.item<double>();
    return kd - options_.alpha * coverage;
}

std::unique_ptr<torch::optim::Optimizer>
SteTarget::make_optimizer(std::vector<torch::Tensor> params) const {
    return std::make_unique<torch::optim::Adam>(std::move(params),
                                                torch::optim::AdamOptions(options_.lr));
}

void SteTarget::before_step(int64_t step) {
    ste_->set_beta(options_.beta(step / steps_per_epoch_ + 1));
}

void SteTarget::after_step(int64_t step, int64_t epoch) {
    const double alpha = options_.alpha;
    const auto grads = ste_->grad_norms();
    for (const auto& row : grads) {
        for (size_t j = 0; j < row.size(); ++j) {
            log_.grads[j].push_back(row[j]);
        }
    }
    log_.kd_sum += log_.last_kd;
    log_.coverage_sum += log_.last_coverage;
    log_.covered_sum += ste_->covered();
    ++log_.steps;
    const bool last_of_epoch = (step + 1) % steps_per_epoch_ == 0;
    if (step % options_.log_every != 0 && !last_of_epoch) {
        return;
    }
    nlohmann::json rec = {
        {"step", step + 1},           {"epoch", epoch},
        {"beta", ste_->beta()},       {"loss", log_.last_kd - alpha * log_.last_coverage},
        {"kd", log_.last_kd},         {"coverage", log_.last_coverage},
        {"covered", ste_->covered()}, {"layers", layers_json(*ste_, grads)}};
    log_.records += rec.dump() + "\n";
}

void SteTarget::after_epoch(int64_t epoch, nlohmann::json& record) {
    const auto n = static_cast<double>(std::max<int64_t>(log_.steps, 1));
    record["beta"] = ste_->beta();
    record["kd"] = log_.kd_sum / n;
    record["coverage"] = log_.coverage_sum / n;
    record["covered"] = log_.covered_sum / n;
    const auto codes = ste_->codes();
    record["codes"] = codes_array(codes);
    record["codes_moved"] = codes_moved(codes, start_codes_);
    nlohmann::json norms = nlohmann::json::object();
    std::vector<double> all;
    for (size_t j = 0; j < log_.grads.size(); ++j) {
        const auto& g = log_.grads[j];
        norms[TriSegmentSteImpl::param_names()[j]] = {
            {"p1", percentile(g, 1)}, {"p50", percentile(g, 50)}, {"p99", percentile(g, 99)}};
        all.insert(all.end(), g.begin(), g.end());
    }
    norms["all"] = {
        {"p1", percentile(all, 1)}, {"p50", percentile(all, 50)}, {"p99", percentile(all, 99)}};
    record["grad_norm"] = norms;
    io::write_file_atomic(history_, history_before(history_, epoch) + log_.records);
    log_ = Log{};
}

TrainTarget ste_train_target(const std::shared_ptr<SteTarget>& target) {
    TrainTarget t;
    t.module = target->module();
    t.forward = [target](const torch::Tensor& x) { return target->forward(x); };
    t.write = [target](torch::serialize::OutputArchive& ar) { target->write(ar); };
    t.read = [target](torch::serialize::InputArchive& ar, const std::string& source) {
        target->read(ar, source);
    };
    t.loss = [target](const LossInput& batch) { return target->loss(batch); };
    t.optimizer.make = [target](std::vector<torch::Tensor> params) {
        return target->make_optimizer(std::move(params));
    };
    t.after_step = [target](int64_t step, int64_t epoch) { target->after_step(step, epoch); };
    t.after_epoch = [target](int64_t epoch, nlohmann::json& record) {
        target->after_epoch(epoch, record);
    };
    t.before_step = [target](int64_t step) { target->before_step(step); };
    return t;
}

} // namespace triseg::engine
