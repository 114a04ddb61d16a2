// Which conv kernel runs: KernelIsa names, the TRISEG_KERNEL_ISA cap, and what this CPU can run.
#include "engine/int8/int8_kernels.h"

#include <cstdlib>
#include <string>

#include "common/error.h"
#include "engine/int8/cpu_features.h"

namespace triseg::engine {
namespace {

bool cpu_has_avx2() {
    return cpu_features().avx2;
}

bool cpu_has_vnni() {
    const CpuFeatures& f = cpu_features();
    return f.avx2 && f.avx512vl && f.avx512vnni;
}

bool cpu_has_zmm() {
    const CpuFeatures& f = cpu_features();
    return cpu_has_vnni() && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni;
}

} // namespace

const char* kernel_isa_name(KernelIsa isa) {
    switch (isa) {
    case KernelIsa::Portable:
        return "portable";
    case KernelIsa::Avx2:
        return "AVX2";
    case KernelIsa::Avx512Vnni:
        return "AVX-512 VNNI";
    case KernelIsa::Avx512Zmm:
        return "AVX-512 VNNI zmm";
    }
    return "unknown";
}

KernelIsa parse_kernel_isa_cap(const char* value) {
    const std::string v = value == nullptr ? "" : value;
    if (v.empty() || v == "avx512zmm") {
        return KernelIsa::Avx512Zmm;
    }
    if (v == "avx512vnni") {
        return KernelIsa::Avx512Vnni;
    }
    if (v == "avx2") {
        return KernelIsa::Avx2;
    }
    TRISEG_CHECK(
        v == "portable", ConfigError,
        "TRISEG_KERNEL_ISA must be portable, avx2, avx512vnni or avx512zmm (or unset), got '"
            << v << "'");
    return KernelIsa::Portable;
}

bool kernel_isa_supported(KernelIsa isa) {
    static const KernelIsa cap = parse_kernel_isa_cap(std::getenv("TRISEG_KERNEL_ISA"));
    if (static_cast<int>(isa) > static_cast<int>(cap)) {
        return false;
    }
    return isa == KernelIsa::Portable || (isa == KernelIsa::Avx2 && cpu_has_avx2()) ||
           (isa == KernelIsa::Avx512Vnni && cpu_has_vnni()) ||
           (isa == KernelIsa::Avx512Zmm && cpu_has_zmm());
}

KernelIsa best_kernel_isa() {
    if (kernel_isa_supported(KernelIsa::Avx512Zmm)) {
        return KernelIsa::Avx512Zmm;
    }
    if (kernel_isa_supported(KernelIsa::Avx512Vnni)) {
        return KernelIsa::Avx512Vnni;
    }
    return kernel_isa_supported(KernelIsa::Avx2) ? KernelIsa::Avx2 : KernelIsa::Portable;
}

} // namespace triseg::engine
