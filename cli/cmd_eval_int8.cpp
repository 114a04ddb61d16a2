// `triseg eval-int8`.
#include "cli/cmd_eval_int8.h"

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/run_dir.h"
#include "common/error.h"
#include "common/shell_quote.h"
#include "engine/int8/int8_inputs.h"
#include "engine/int8/int8_network.h"
#include "engine/train/batching.h"
#include "engine/train/classifier_eval.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "io/dataset_factory.h"
#include "io/stage_lock.h"
#include "models/checkpoint.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Evaluate the run's integer model (<run-dir>/int8/model.h5) with exact integer\n"
    "arithmetic on the test set, next to the float and QAT models of the run when present.\n"
    "Prints and writes <run-dir>/int8/eval.json: accuracies, the INT8 model's agreement with\n"
    "the fake-quant (QAT) network, and throughputs.";

int64_t argmax(const float* v, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i) {
        best = v[i] > v[best] ? i : best;
    }
    return best;
}
} // namespace

void add_eval_int8_options(po::options_description& desc, EvalInt8Args& args) {
    add_config_options(desc, args.config);
    desc.add_options()("model,m", po::value(&args.model)->value_name("FILE"),
                       "integer model (default: <run-dir>/int8/model.h5)");
}

int run_eval_int8(const EvalInt8Args& args) {
    const RunDir run(args.config);
    const auto& cfg = run.config();
    const std::string model_path = args.model.empty() ? run.file(RunDir::kInt8Model) : args.model;
    TRISEG_CHECK(io::file_exists(model_path), IoError,
                 "integer model '" << model_path << "' does not exist; run `triseg export-int8 "
                                   << "--run-dir " << shell_quote(run.path()) << "` first");
    const std::string path = run.file("int8/eval.json");
    const io::StageLock lock(path, io::StageLock::Scope::File, "eval-int8");
    const auto device = engine::resolve_device(cfg.runtime.device);
    const auto threads = static_cast<int>(engine::configure_threads(cfg.runtime.threads));
    engine::Int8Network net = engine::load_int8_network(model_path);
    const auto data = io::load_dataset(cfg.data, static_cast<uint64_t>(cfg.runtime.seed));
    const auto opts = io::make_loader_options(cfg.data, data, cfg.train.eval_batch_size, false,
                                              static_cast<uint64_t>(cfg.runtime.seed));
    nlohmann::json out = {
        {"model", model_path}, {"test_images", data.test.count}, {"threads", threads}};

    std::printf("%-6s %10s %10s %12s\n", "model", "accuracy", "img/s", "agree(qat)");
    const std::string float_path = run.file("float/model.pt");
    if (io::file_exists(float_path)) {
        auto fm = models::load_float_net(float_path);
        fm->to(device);
        const auto m = engine::evaluate_classifier(*fm, data.test, opts, device, "float");
        out["float"] = m.to_json();
        std::printf("%-6s %9.2f%% %10.0f %12s\n", "float", m.accuracy(), m.count / m.seconds, "");
    }
    std::vector<int64_t> qat_pred;
    const std::string qat_path = run.file("qat/model.pt");
    if (io::file_exists(qat_path)) {
        auto qm = models::load_qat_net(qat_path);
        qm->to(device);
        const auto m = engine::evaluate_classifier(
            *qm, [&qm](const torch::Tensor& x) { return qm->forward(x); }, data.test, opts, device,
            "qat", &qat_pred);
        out["qat"] = m.to_json();
        std::printf("%-6s %9.2f%% %10.0f %12s\n", "qat", m.accuracy(), m.count / m.seconds, "");
    }

    const auto inputs = engine::quantize_dataset(net, data.test, opts);
    std::vector<float> logits(static_cast<size_t>(inputs.count * net.num_classes()));
    const auto start = std::chrono::steady_clock::now();
    net.forward(inputs.codes.data(), inputs.count, logits.data(), {}, nullptr, threads);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    int64_t correct = 0;
    int64_t agree = 0;
    for (int64_t i = 0; i < inputs.count; ++i) {
        const int64_t p = argmax(logits.data() + i * net.num_classes(), net.num_classes());
        correct += p == inputs.labels[i];
        agree += !qat_pred.empty() && p == qat_pred[i];
    }
    const double acc = 100.0 * correct / inputs.count;
    out["int8"] = {{"count", inputs.count},
                   {"correct", correct},
                   {"accuracy", acc},
                   {"seconds", seconds},
                   {"images_per_s", inputs.count / seconds}};
    std::string agreement;
    if (!qat_pred.empty()) {
        const double a = 100.0 * agree / inputs.count;
        out["int8"]["agreement_with_qat"] = a;
        agreement = std::to_string(a).substr(0, 6) + "%";
    }
    std::printf("%-6s %9.2f%% %10.0f %12s\n", "int8", acc, inputs.count / seconds,
                agreement.c_str());
    if (out.contains("float")) {
        const double drop = out["float"]["accuracy"].get<double>() - acc;
        out["int8"]["drop_vs_float"] = drop;
        std::printf("int8 vs float: %+.2f points\n", -drop);
    }
    io::write_file_atomic(path, out.dump(2) + "\n");
    std::printf("wrote %s\n", path.c_str());
    return 0;
}

int main_eval_int8(const std::vector<std::string>& argv) {
    return parse_and_run<EvalInt8Args>("eval-int8", kSummary, add_eval_int8_options, run_eval_int8,
                                       argv);
}

} // namespace triseg::cli
