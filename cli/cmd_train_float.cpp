// `triseg train-float`.
#include "cli/cmd_train_float.h"

#include "engine/train/float_trainer.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Train the float network of the config (model.arch: VGG, ResNet or MobileNetV2; SGD,\n"
    "momentum, cosine learning rate) and test it after every epoch. Writes\n"
    "<run-dir>/config.yaml and <run-dir>/float/{model.pt, last.pt,\n"
    "metrics.jsonl, metrics.json}. Re-running the same command resumes after the last\n"
    "finished epoch; a finished run is left as it is unless --force.";
} // namespace

int run_train_float(const TrainArgs& args) {
    TrainingStage stage;
    stage.command = "train-float";
    stage.stage = "float";
    stage.owns = {RunDir::Guard::Data, RunDir::Guard::Model, RunDir::Guard::Train,
                  RunDir::Guard::Seed};
    stage.train = [](const RunDir& run, const io::DatasetSplits& data, const std::string& out,
                     bool verbose, int64_t stop_after) {
        return engine::FloatTrainer(run.config().train_config(), data, out, verbose)
            .run(stop_after);
    };
    return run_training_stage(args, stage);
}

int main_train_float(const std::vector<std::string>& argv) {
    return parse_and_run<TrainArgs>("train-float", kSummary, add_train_options, run_train_float,
                                    argv);
}

} // namespace triseg::cli
