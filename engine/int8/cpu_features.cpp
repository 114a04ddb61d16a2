// CPU feature detection for the int8 kernels (CPUID, XCR0, Linux AMX permission).
#include "engine/int8/cpu_features.h"

#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define TRISEG_CPUID 1
#else
#define TRISEG_CPUID 0
#endif

#if TRISEG_CPUID && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#define TRISEG_ARCH_PRCTL 1
#else
#define TRISEG_ARCH_PRCTL 0
#endif

namespace triseg::engine {
namespace {

#if TRISEG_CPUID
uint64_t read_xcr0() {
    uint32_t lo = 0;
    uint32_t hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

bool bit(uint32_t reg, int n) {
    return ((reg >> n) & 1U) != 0;
}
#endif

CpuFeatures detect() {
    CpuFeatures f;
#if TRISEG_CPUID
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(1, &a, &b, &c, &d) == 0 || !bit(c, 27)) { // no CPUID 1 or no OSXSAVE
        return f;
    }
    const uint64_t xcr0 = read_xcr0();
    const bool os_avx = (xcr0 & 0x6U) == 0x6U; // SSE and AVX state
    f.fma = os_avx && bit(c, 12);
    f.os_avx512 = os_avx && (xcr0 & 0xE0U) == 0xE0U; // opmask, ZMM_Hi256, Hi16_ZMM
    f.os_amx = ((xcr0 >> 17) & 3U) == 3U;            // XTILECFG, XTILEDATA
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) {
        return f;
    }
    f.avx2 = os_avx && bit(b, 5);
    f.avx512f = f.os_avx512 && bit(b, 16);
    f.avx512bw = f.os_avx512 && bit(b, 30);
    f.avx512vl = f.os_avx512 && bit(b, 31);
    f.avx512vnni = f.os_avx512 && bit(c, 11);
    f.avx512vbmi = f.os_avx512 && bit(c, 1);
    f.amx_tile = bit(d, 24);
    f.amx_int8 = bit(d, 25);
    unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
    if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) != 0) {
        f.avx_vnni = os_avx && bit(a1, 4);
    }
#if TRISEG_ARCH_PRCTL
    if (f.amx_tile && f.amx_int8 && f.os_amx) {
        constexpr long kArchReqXcompPerm = 0x1023; // <asm/prctl.h>
        constexpr long kXfeatureXtiledata = 18;
        f.amx_permitted = syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
    }
#else
    f.amx_permitted = f.amx_tile && f.amx_int8 && f.os_amx; // no per-process permission step
#endif
#endif
    return f;
}

} // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures f = detect();
    return f;
}

std::string describe_cpu_features(const CpuFeatures& f) {
    std::string s;
    const auto add = [&s](bool on, const char* name) {
        if (on) {
            s += s.empty() ? "" : " ";
            s += name;
        }
    };
    add(f.avx2, "avx2");
    add(f.fma, "fma");
    add(f.avx512f, "avx512f");
    add(f.avx512bw, "avx512bw");
    add(f.avx512vl, "avx512vl");
    add(f.avx512vnni, "avx512vnni");
    add(f.avx512vbmi, "avx512vbmi");
    add(f.avx_vnni, "avx_vnni");
    if (s.empty()) {
        s = "no AVX2";
    }
    s += "; AMX-INT8: ";
    if (!f.amx_tile || !f.amx_int8) {
        s += "not in this CPU";
    } else if (!f.os_amx) {
        s += "in the CPU, but the OS does not enable the tile state (XCR0 bits 17/18)";
    } else if (!f.amx_permitted) {
        s += "in the CPU and XCR0, but arch_prctl(ARCH_REQ_XCOMP_PERM) was refused";
    } else {
        s += "usable (no AMX kernel yet: the conv runs on AVX-512 VNNI)";
    }
    return s;
}

} // namespace triseg::engine
