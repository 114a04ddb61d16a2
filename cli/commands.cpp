// The subcommand table.
#include "cli/commands.h"

#include "cli/cmd_eval.h"
#include "cli/cmd_train_float.h"

namespace triseg::cli {

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"train-float", "train the float VGG model (resumes an interrupted run)", main_train_float},
        {"eval", "evaluate the float model of a run on the test (or val/train) split", main_eval},
    };
    return table;
}

} // namespace triseg::cli
