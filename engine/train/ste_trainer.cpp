// SteTrainer: TriSegmentSte as a TrainLoop target over the frozen fake-quant network.
#include "engine/train/ste_trainer.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <torch/torch.h>

#include "common/error.h"
#include "engine/train/device.h"
#include "engine/train/train_loop.h"
#include "io/atomic_file.h"
#include "models/checkpoint.h"
#include "models/qat_vgg.h"

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

/// The per-image size of every block output, from one forward of a blank image.
std::vector<int64_t> block_sizes(models::QatVgg& model, int64_t channels, int64_t side) {
    std::vector<int64_t> sizes;
    model->set_block_hook([&sizes](int64_t, const torch::Tensor& x) {
        sizes.push_back(x[0].numel());
        return x;
    });
    torch::NoGradGuard no_grad;
    model->forward(torch::zeros({1, channels, side, side}));
    model->set_block_hook(nullptr);
    return sizes;
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

/// The current epoch's logged records, and every step's gradient norms (for percentiles).
struct SteTrainer::Log {
    std::string records;
    std::vector<std::vector<double>> grads{5}; ///< per parameter kind, every (step, layer)
    double kd_sum = 0.0;
    double coverage_sum = 0.0;
    double covered_sum = 0.0;
    int64_t steps = 0;
    double last_kd = 0.0;
    double last_coverage = 0.0;
};

int64_t codes_moved(const CodeSet& a, const CodeSet& b) {
    TRISEG_CHECK(a.layers.size() == b.layers.size(), InputError,
                 "codes_moved: " << a.layers.size() << " vs " << b.layers.size() << " layers");
    int64_t n = 0;
    for (size_t l = 0; l < a.layers.size(); ++l) {
        const auto& x = a.layers[l];
        const auto& y = b.layers[l];
        n += (x.t1 != y.t1) + (x.v1 != y.v1) + (x.t2 != y.t2) + (x.v2 != y.v2) + (x.tmax != y.tmax);
    }
    return n;
}

double percentile(std::vector<double> values, double level) {
    if (values.empty()) {
        return 0.0;
    }
    std::sort(values.begin(), values.end());
    const double rank = std::ceil(level / 100.0 * static_cast<double>(values.size()));
    const auto i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size())));
    return values[i - 1];
}

SteTrainer::SteTrainer(const TrainConfig& config,
                       const SteOptions& options,
                       const io::DatasetSplits& data,
                       SteTeacher teacher,
                       std::string qat_checkpoint,
                       std::vector<SteStart> start,
                       std::string out_dir,
                       bool verbose)
    : config_(config), options_(options), data_(data), teacher_(std::move(teacher)),
      qat_checkpoint_(std::move(qat_checkpoint)), start_(std::move(start)),
      out_dir_(std::move(out_dir)), verbose_(verbose) {
    options_.validate();
    TRISEG_CHECK(teacher_.classes > 0 && static_cast<int64_t>(teacher_.logits.size()) ==
                                             data_.train.count * teacher_.classes,
                 InputError,
                 "the teacher logits (" << teacher_.logits.size() << " values) do not fit "
                                        << data_.train.count << " training images");
}

std::vector<std::string> SteTrainer::layer_names() const {
    std::vector<std::string> names;
    for (const auto& l : module_->layers()) {
        names.push_back(l.name);
    }
    return names;
}

nlohmann::json SteTrainer::run(int64_t max_epochs, std::function<bool()> should_stop) {
    auto model = models::load_qat_model(qat_checkpoint_);
    TRISEG_CHECK(model->options() == config_.model, InputError,
                 "QAT checkpoint '" << qat_checkpoint_ << "' holds another model than the "
                                    << "config's `model:` section");
    const auto device = resolve_device(config_.runtime.device);
    configure_threads(config_.runtime.threads);
    model->eval();
    model->set_observing(false);
    for (auto& p : model->parameters()) {
        p.set_requires_grad(false);
    }
    const auto qparams = model->activation_qparams();
    const auto sizes = block_sizes(model, config_.model.in_channels, config_.model.image_size);
    std::vector<SteLayer> layers;
    for (size_t i = 0; i < model->layers().size(); ++i) {
        SteLayer l;
        l.name = model->layers()[i].name;
        l.scale = qparams.at(i + 1).scale;
        l.zero_point = qparams.at(i + 1).zero_point;
        l.activations = sizes.at(i);
        layers.push_back(l);
    }
    TRISEG_CHECK(start_.size() == layers.size(), InputError,
                 "the STE start has " << start_.size() << " layers, the model " << layers.size());
    module_ = TriSegmentSte(layers, start_, options_.variant, options_.lsq_levels);
    start_codes_ = module_->codes();
    model->to(device);
    model->set_block_hook(
        [ste = module_](int64_t i, const torch::Tensor& x) mutable { return ste->apply(i, x); });

    TrainOptions train;
    train.epochs = options_.epochs;
    train.batch_size = options_.batch_size;
    train.eval_batch_size = config_.train.eval_batch_size;
    train.lr = options_.lr;
    train.lr_schedule = LrSchedule::Constant;
    TrainConfig cfg = config_;
    cfg.data.augment = false; // the teacher's logits are of the plain images

    const auto teacher = torch::from_blob(teacher_.logits.data(),
                                          {data_.train.count, teacher_.classes}, torch::kFloat32);
    const double t = teacher_.temperature;
    const double alpha = options_.alpha;
    auto log = std::make_shared<Log>();
    auto ste = module_;
    const int64_t log_every = options_.log_every;
    const std::string history = out_dir_ + "/" + SteFiles::kHistory;

    TrainTarget target;
    target.module = module_.ptr();
    target.forward = [model, ste](const torch::Tensor& x) mutable {
        ste->begin_batch();
        return model->forward(x);
    };
    target.write = [ste](torch::serialize::OutputArchive& ar) mutable {
        ar.write("kind", c10::IValue(std::string(kSteKind)));
        ar.write("variant", c10::IValue(std::string(variant_name(ste->variant()))));
        ste->save(ar);
    };
    target.read = [ste](torch::serialize::InputArchive& ar, const std::string& source) mutable {
        c10::IValue kind;
        c10::IValue variant;
        TRISEG_CHECK(ar.try_read("kind", kind) && kind.toStringRef() == kSteKind &&
                         ar.try_read("variant", variant) &&
                         variant.toStringRef() == variant_name(ste->variant()),
                     InputError,
                     "'" << source << "' is not a train-ste state of the "
                         << variant_name(ste->variant()) << " variant; remove it or use --force");
        ste->load(ar);
    };
    target.loss = [teacher, t, alpha, log, ste](const LossInput& b) mutable {
        const auto index = torch::tensor(b.indices, torch::kInt64);
        const auto target_logits = teacher.index_select(0, index).to(b.logits.device());
        namespace F = torch::nn::functional;
        const auto kd = F::kl_div(F::log_softmax(b.logits / t, F::LogSoftmaxFuncOptions(1)),
                                  F::softmax(target_logits / t, F::SoftmaxFuncOptions(1)),
                                  F::KLDivFuncOptions().reduction(torch::kBatchMean)) *
                        (t * t);
        const auto coverage = ste->soft_coverage();
        log->last_kd = kd.item<double>();
        log->last_coverage = coverage.item<double>();
        return kd - alpha * coverage;
    };
    target.optimizer.make = [lr = options_.lr](std::vector<torch::Tensor> params) {
        return std::make_unique<torch::optim::Adam>(std::move(params),
                                                    torch::optim::AdamOptions(lr));
    };
    // Training batches drop the last partial one (io::make_loader_options).
    const int64_t steps_per_epoch = std::max<int64_t>(data_.train.count / options_.batch_size, 1);
    target.after_step = [log, ste, alpha, log_every, steps_per_epoch](int64_t step,
                                                                      int64_t epoch) mutable {
        const auto grads = ste->grad_norms();
        for (const auto& row : grads) {
            for (size_t j = 0; j < row.size(); ++j) {
                log->grads[j].push_back(row[j]);
            }
        }
        log->kd_sum += log->last_kd;
        log->coverage_sum += log->last_coverage;
        log->covered_sum += ste->covered();
        ++log->steps;
        const bool last_of_epoch = (step + 1) % steps_per_epoch == 0;
        if (step % log_every != 0 && !last_of_epoch) {
            return;
        }
        nlohmann::json rec = {
            {"step", step + 1},          {"epoch", epoch},
            {"beta", ste->beta()},       {"loss", log->last_kd - alpha * log->last_coverage},
            {"kd", log->last_kd},        {"coverage", log->last_coverage},
            {"covered", ste->covered()}, {"layers", layers_json(*ste, grads)}};
        log->records += rec.dump() + "\n";
    };
    const SteOptions opts = options_;
    const CodeSet start_codes = start_codes_;
    target.after_epoch = [log, ste, history, opts, start_codes](int64_t epoch,
                                                                nlohmann::json& rec) mutable {
        const auto n = static_cast<double>(std::max<int64_t>(log->steps, 1));
        rec["beta"] = ste->beta();
        rec["kd"] = log->kd_sum / n;
        rec["coverage"] = log->coverage_sum / n;
        rec["covered"] = log->covered_sum / n;
        const auto codes = ste->codes();
        rec["codes"] = codes_array(codes);
        rec["codes_moved"] = codes_moved(codes, start_codes);
        nlohmann::json norms = nlohmann::json::object();
        std::vector<double> all;
        for (size_t j = 0; j < log->grads.size(); ++j) {
            const auto& g = log->grads[j];
            norms[TriSegmentSteImpl::param_names()[j]] = {
                {"p1", percentile(g, 1)}, {"p50", percentile(g, 50)}, {"p99", percentile(g, 99)}};
            all.insert(all.end(), g.begin(), g.end());
        }
        norms["all"] = {
            {"p1", percentile(all, 1)}, {"p50", percentile(all, 50)}, {"p99", percentile(all, 99)}};
        rec["grad_norm"] = norms;
        io::write_file_atomic(history, history_before(history, epoch) + log->records);
        *log = Log{};
    };
    target.before_step = [ste, opts, steps_per_epoch](int64_t step) mutable {
        ste->set_beta(opts.beta(step / steps_per_epoch + 1));
    };
    target.should_stop = std::move(should_stop);
    target.stage = "train-ste";

    TrainLoop loop(target, train, cfg, data_, out_dir_, verbose_);
    auto summary = loop.run(max_epochs);
    stopped_early_ = loop.stopped_early();
    model->set_block_hook(nullptr);
    return summary;
}

} // namespace triseg::engine
