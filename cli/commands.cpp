// The subcommand table.
#include "cli/commands.h"

#include "cli/cmd_analyze_sensitivity.h"
#include "cli/cmd_analyze_variance.h"
#include "cli/cmd_collect_percentiles.h"
#include "cli/cmd_describe.h"
#include "cli/cmd_dump_acts.h"
#include "cli/cmd_eval.h"
#include "cli/cmd_eval_codes.h"
#include "cli/cmd_eval_int8.h"
#include "cli/cmd_export_int8.h"
#include "cli/cmd_replay.h"
#include "cli/cmd_report.h"
#include "cli/cmd_search.h"
#include "cli/cmd_train_float.h"
#include "cli/cmd_train_qat.h"
#include "cli/cmd_train_ste.h"
#include "cli/cmd_verify.h"

namespace triseg::cli {

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"train-float", "train the float model: VGG, ResNet or MobileNetV2 (resumable)",
         main_train_float},
        {"eval", "evaluate the float model of a run on the test (or val/train) split", main_eval},
        {"train-qat", "fold BatchNorm and fine-tune with fake quantization (resumable)",
         main_train_qat},
        {"export-int8", "write the integer model (int8 weights, requantization) to HDF5",
         main_export_int8},
        {"eval-int8", "float, QAT and exact INT8 accuracy and throughput of a run", main_eval_int8},
        {"describe", "the approximation points of an int8 model: shapes, MACs, percentiles",
         main_describe},
        {"eval-codes", "accuracy, KD loss and coverage of tri-segment codes on the test set",
         main_eval_codes},
        {"search",
         "search tri-segment codes: PPO, pagmo2 evolution, random (mpirun/srun for ranks)",
         main_search},
        {"train-ste",
         "the supervised STE baseline: learn the codes by gradient descent (resumable)",
         main_train_ste},
        {"dump-acts", "every block output of the int8 or float model for N images, in HDF5",
         main_dump_acts},
        {"collect-percentiles", "per-layer code histograms, percentiles and share <= tmax (HDF5)",
         main_collect_percentiles},
        {"analyze-variance", "per-layer weight and activation statistics (JSON)",
         main_analyze_variance},
        {"analyze-sensitivity", "per-layer sensitivity (leave-one-out / leave-one-in), ranked",
         main_analyze_sensitivity},
        {"replay", "offline: codes and suffix replay on a stored int8 activation dump",
         main_replay},
        {"report", "one summary table over one or many run folders", main_report},
        {"verify", "check a run folder's inputs against the SHA-256s its stages recorded",
         main_verify},
    };
    return table;
}

} // namespace triseg::cli
