// `triseg train-qat`.
#include "cli/cmd_train_qat.h"

#include "common/error.h"
#include "common/shell_quote.h"
#include "engine/train/qat_trainer.h"
#include "io/atomic_file.h"
#include "models/checkpoint.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Fold BatchNorm into the convs of the run's float model (<run-dir>/float/model.pt), then\n"
    "fine-tune with fake quantization: per-tensor affine uint8 activations at the input and\n"
    "after every block (moving-average min/max observers, frozen after\n"
    "qat.freeze_observers_after steps), per-channel symmetric int8 weights. Writes\n"
    "<run-dir>/qat/{model.pt, last.pt, metrics.jsonl, metrics.json}; resumable like\n"
    "train-float.";
} // namespace

int run_train_qat(const TrainArgs& args) {
    TrainingStage stage;
    stage.command = "train-qat";
    stage.stage = "qat";
    stage.fixed_by_earlier = {RunDir::Guard::Data, RunDir::Guard::Model, RunDir::Guard::Train,
                              RunDir::Guard::Seed};
    stage.owns = {RunDir::Guard::Qat};
    stage.input = "float/model.pt";
    stage.check_inputs = [](const RunDir& run) {
        const std::string float_model = run.file("float/model.pt");
        TRISEG_CHECK(io::file_exists(float_model), IoError,
                     "train-qat needs the float model '" << float_model
                                                         << "'; run `triseg train-float --run-dir "
                                                         << shell_quote(run.path()) << "` first");
        models::open_archive(float_model); // its seal, before --force deletes anything
    };
    stage.train = [](const RunDir& run, const io::DatasetSplits& data, const std::string& out,
                     bool verbose, int64_t stop_after) {
        return engine::QatTrainer(run.config().train_config(), data, run.file("float/model.pt"),
                                  out, verbose)
            .run(stop_after);
    };
    return run_training_stage(args, stage);
}

int main_train_qat(const std::vector<std::string>& argv) {
    return parse_and_run<TrainArgs>("train-qat", kSummary, add_train_options, run_train_qat, argv);
}

} // namespace triseg::cli
