// run_collectively and abort_job.
#include "engine/dist/collective.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "common/error.h"
#include "common/out_of_memory.h"

namespace triseg::engine {

namespace {

Bytes to_bytes(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

} // namespace

void run_collectively(Cluster& cluster, const std::function<void()>& step) {
    std::exception_ptr failure;
    int code = 0;
    std::string message;
    try {
        step();
    } catch (const Error& e) {
        failure = std::current_exception();
        code = e.exit_code();
        message = e.what();
    } catch (const std::exception& e) {
        failure = std::current_exception();
        const OutOfMemory oom = out_of_memory(e);
        code = static_cast<int>(oom.found ? ExitCode::Io : ExitCode::Internal);
        message = oom.found ? out_of_memory_text(oom) : e.what();
    }
    if (cluster.size() == 1) {
        if (failure) {
            std::rethrow_exception(failure);
        }
        return;
    }
    // Rank-ordered: the first failing rank's code and message win on every rank.
    const int64_t any = cluster.all_max(code != 0 ? 1 : 0);
    if (any == 0) {
        return;
    }
    const std::string record = std::to_string(code) + "\n" + message;
    const auto all = cluster.gather(to_bytes(record));
    Bytes first;
    if (cluster.is_root()) {
        for (const auto& r : all) {
            if (!r.empty() && r[0] != '0') {
                first = r;
                break;
            }
        }
        // Also report which rank it was.
        for (size_t i = 0; i < all.size(); ++i) {
            if (all[i] == first) {
                const std::string prefix = std::to_string(i) + "\n";
                first.insert(first.begin(), prefix.begin(), prefix.end());
                break;
            }
        }
    }
    cluster.broadcast(first);
    const std::string text(first.begin(), first.end());
    const size_t a = text.find('\n');
    const size_t b = text.find('\n', a + 1);
    const int first_rank = std::stoi(text.substr(0, a));
    const int first_code = std::stoi(text.substr(a + 1, b - a - 1));
    if (failure && first_rank == cluster.rank()) {
        std::rethrow_exception(failure);
    }
    throw Error("rank " + std::to_string(first_rank) + " of " + std::to_string(cluster.size()) +
                    " failed: " + text.substr(b + 1),
                static_cast<ExitCode>(first_code));
}

void abort_job(Cluster& cluster, const std::string& command, const std::string& what, int code) {
    if (cluster.size() > 1) {
        std::fprintf(stderr, "triseg %s [rank %d of %d]: error: %s\n", command.c_str(),
                     cluster.rank(), cluster.size(), what.c_str());
    } else {
        std::fprintf(stderr, "triseg %s: error: %s\n", command.c_str(), what.c_str());
    }
    cluster.abort(code);
    std::_Exit(code); // not reached: abort() does not return
}

} // namespace triseg::engine
