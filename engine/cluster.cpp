// LocalCluster, launcher detection and make_cluster.
#include "engine/cluster.h"

#include <cstdio>
#include <cstdlib>

#include "common/error.h"
#include "engine/mpi_cluster.h"

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

std::unique_ptr<Cluster> make_cluster(ClusterKind kind) {
    if (kind == ClusterKind::Mpi || (kind == ClusterKind::Auto && launched_by_mpi())) {
        return std::make_unique<MpiCluster>();
    }
    return std::make_unique<LocalCluster>();
}

} // namespace triseg::engine
