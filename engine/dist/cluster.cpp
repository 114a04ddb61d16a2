// LocalCluster, launcher detection and make_cluster.
#include "engine/dist/cluster.h"

#include <cstdio>
#include <cstdlib>

#include "common/error.h"
#include "engine/dist/mpi_cluster.h"

namespace triseg::engine {

void LocalCluster::abort(int code) {
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
}

bool launched_by_mpi() {
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
        if (std::getenv(var) != nullptr) {
            return true;
        }
    }
    return false;
}

int launcher_rank() {
    for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
        if (const char* value = std::getenv(var)) {
            return std::atoi(value);
        }
    }
    return 0;
}

ClusterKind parse_cluster_kind(const std::string& text, const std::string& key) {
    if (text == "auto") {
        return ClusterKind::Auto;
    }
    if (text == "local") {
        return ClusterKind::Local;
    }
    if (text == "mpi") {
        return ClusterKind::Mpi;
    }
    TRISEG_THROW(ConfigError, key << " must be one of auto, local, mpi; got '" << text << "'");
}

void check_slurm_world(int world_size) {
    if (world_size > 1 || std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr) {
        return;
    }
    const char* tasks_text = std::getenv("SLURM_STEP_NUM_TASKS");
    const char* procid = std::getenv("SLURM_PROCID");
    if (tasks_text == nullptr || procid == nullptr) {
        return;
    }
    const long tasks = std::strtol(tasks_text, nullptr, 10);
    TRISEG_CHECK(tasks <= 1, MpiError,
                 "srun started this process as task "
                     << procid << " of " << tasks << " (SLURM_STEP_NUM_TASKS=" << tasks_text
                     << "), but MPI sees a world of 1 process: srun has no PMI plugin for MPI "
                        "here, so the "
                     << tasks
                     << " tasks would each run alone and write the same files. Launch with "
                        "`srun --mpi=pmix ...` (`srun --mpi=list` shows the plugins), or set "
                        "`MpiDefault=pmix` in slurm.conf, or use `mpirun -np "
                     << tasks << " ...` inside the allocation");
}

std::unique_ptr<Cluster> make_cluster(ClusterKind kind, const std::string& command) {
    std::unique_ptr<Cluster> cluster;
    if (kind == ClusterKind::Mpi || (kind == ClusterKind::Auto && launched_by_mpi())) {
        cluster = std::make_unique<MpiCluster>(command);
    } else {
        cluster = std::make_unique<LocalCluster>();
    }
    check_slurm_world(cluster->size());
    return cluster;
}

} // namespace triseg::engine
