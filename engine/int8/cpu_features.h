// What this CPU and OS offer the int8 kernels: AVX2, FMA, AVX-512 (F/BW/VL/VNNI/VBMI),
// AMX-INT8. The one place triseg reads CPU features (every kernel choice asks it).
#pragma once

#include <string>

namespace triseg::engine {

/// CPU features the int8 engine looks at, read once from CPUID, XCR0 and (for AMX, on Linux)
/// arch_prctl. Everything false on a non-x86 build.
struct CpuFeatures {
    bool avx2 = false;
    bool fma = false;
    bool avx512f = false;
    bool avx512bw = false;
    bool avx512vl = false;
    bool avx512vnni = false;
    bool avx512vbmi = false;    ///< vpermb (the 512-bit kernel's im2col)
    bool avx_vnni = false;      ///< the VEX-encoded 256-bit VNNI (no AVX-512 needed)
    bool os_avx512 = false;     ///< XCR0 enables the opmask and zmm state (bits 5, 6, 7)
    bool amx_tile = false;      ///< CPUID.(7,0):EDX[24]
    bool amx_int8 = false;      ///< CPUID.(7,0):EDX[25]
    bool os_amx = false;        ///< XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA) are set
    bool amx_permitted = false; ///< Linux granted ARCH_REQ_XCOMP_PERM for XTILEDATA

    /// Whether an AMX-INT8 kernel could run here: CPU, OS state and permission.
    bool amx_usable() const { return amx_tile && amx_int8 && os_amx && amx_permitted; }
};

/// This machine's features (detected on the first call; the AMX permission request, a
/// harmless arch_prctl, is made then, and only when the CPU and XCR0 report AMX).
const CpuFeatures& cpu_features();

/// One line for messages and `triseg --version`, e.g.
/// "avx2 avx512f avx512bw avx512vl avx512vnni; AMX-INT8: not in this CPU".
std::string describe_cpu_features(const CpuFeatures& f);

} // namespace triseg::engine
