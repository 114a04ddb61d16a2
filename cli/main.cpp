// triseg: dispatch to a subcommand; map escaped errors to exit codes.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/error.h"
#include "common/out_of_memory.h"
#include "common/stop_signal.h"
#include "engine/int8/cpu_features.h"
#include "engine/int8/int8_kernels.h"

namespace {

void print_usage() {
    std::printf("triseg %s: tri-segment approximation of INT8 CNN activations\n\n"
                "Usage: triseg <command> [options]     (triseg <command> --help for details)\n\n"
                "Commands:\n",
                TRISEG_VERSION);
    for (const auto& c : triseg::cli::commands()) {
        std::printf("  %-20s %s\n", c.name, c.summary);
    }
    std::printf("\nExit codes: 0 ok, 1 internal error, 2 bad command line or config, 3 bad input "
                "data, 4 file error or not enough memory, 5 MPI error, 130 interrupted\n");
}

} // namespace

int main(int argc, char** argv) {
    // First, before MPI, data or models load: a SIGTERM/SIGUSR1 from SLURM during start-up is
    // a clean exit 130 (interrupted), not a signal death; a search loop later polls instead.
    triseg::StopSignal::install();
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
        !std::strcmp(argv[1], "help")) {
        print_usage();
        return argc < 2 ? 2 : 0;
    }
    if (!std::strcmp(argv[1], "--version")) {
        std::printf("triseg %s\n", TRISEG_VERSION);
        try { // the int8 conv kernel this machine runs, and its AVX-512 / AMX-INT8 support
            std::printf(
                "int8 kernel: %s; cpu: %s\n",
                triseg::engine::kernel_isa_name(triseg::engine::best_kernel_isa()),
                triseg::engine::describe_cpu_features(triseg::engine::cpu_features()).c_str());
        } catch (const triseg::Error& e) { // a bad TRISEG_KERNEL_ISA
            std::fprintf(stderr, "triseg: error: %s\n", e.what());
            return e.exit_code();
        }
        return 0;
    }
    const std::string name = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    for (const auto& c : triseg::cli::commands()) {
        if (name != c.name) {
            continue;
        }
        // An allocation failure that escapes an OpenMP region or a thread ends the process
        // with the same line and code as one that reaches the catch below.
        triseg::exit_on_uncaught_out_of_memory(c.name);
        try {
            const int code = c.entry(args);
            triseg::StopSignal::finishing();
            return code;
        } catch (const triseg::Error& e) {
            triseg::StopSignal::finishing();
            std::fprintf(stderr, "triseg %s: error: %s\n", c.name, e.what());
            if (std::getenv("TRISEG_DEBUG") && !e.where().empty()) {
                std::fprintf(stderr, "  (thrown at %s)\n", e.where().c_str());
            }
            // Out before the exit: under srun, a task that exits first can get this one killed.
            std::fflush(nullptr);
            return e.exit_code();
        } catch (const std::exception& e) {
            triseg::StopSignal::finishing();
            if (const auto oom = triseg::out_of_memory(e); oom.found) {
                triseg::print_out_of_memory(c.name, oom); // one line, never a stack trace
                return static_cast<int>(triseg::ExitCode::Io);
            }
            std::fprintf(stderr, "triseg %s: internal error: %s\n", c.name, e.what());
            std::fflush(nullptr);
            return static_cast<int>(triseg::ExitCode::Internal);
        }
    }
    std::fprintf(stderr, "triseg: unknown command '%s'; run `triseg --help` for the list\n",
                 name.c_str());
    return static_cast<int>(triseg::ExitCode::Usage);
}
