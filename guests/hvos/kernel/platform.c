// Who are we running on? Like Linux, ask the firmware who implements the SBI
// and probe for a hypervisor's paravirtualization interface.
#include "defs.h"
#include "sbi.h"

int hvlab_mode = -1;

static const char *const mode_names[] = {
    [HVLAB_MODE_NATIVE] = "native",
    [HVLAB_MODE_TRAP_EMULATE] = "trap-emulate",
    [HVLAB_MODE_HVM_SHADOW] = "hvm-shadow",
    [HVLAB_MODE_HVM_NESTED] = "hvm-nested",
    [HVLAB_MODE_PV] = "pv",
};

void platform_detect(void)
{
    struct sbiret spec = sbi_call(SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0, 0, 0);
    struct sbiret id = sbi_call(SBI_EXT_BASE, SBI_BASE_GET_IMPL_ID, 0, 0, 0);
    struct sbiret ver = sbi_call(SBI_EXT_BASE, SBI_BASE_GET_IMPL_VERSION, 0, 0, 0);

    // Spec version: major in bits 30:24, minor in 23:0 (SBI §4.1). The
    // implementation version is implementation-defined; OpenSBI (and hvlab)
    // put the major version in bits 31:16 and the minor in 15:0.
    const char *impl = id.value == SBI_IMPL_OPENSBI ? "OpenSBI"
                     : id.value == SBI_IMPL_HVLAB   ? "hvlab" : NULL;
    if (impl)
        kprintf("SBI: %s", impl);
    else
        kprintf("SBI: implementation %ld", id.value);
    kprintf(" v%lu.%lu (spec v%lu.%lu)\n",
            ((u64)ver.value >> 16) & 0xFFFF, (u64)ver.value & 0xFFFF,
            ((u64)spec.value >> 24) & 0x7F, (u64)spec.value & 0xFFFFFF);

    if (!sbi_probe(SBI_EXT_TIME))
        panic("platform_detect: SBI TIME extension missing");
    if (!sbi_probe(SBI_EXT_SRST))
        panic("platform_detect: SBI SRST extension missing");

    if (sbi_probe(SBI_EXT_HVLAB)) {
        struct sbiret info = sbi_call(SBI_EXT_HVLAB, SBI_HVLAB_INFO, 0, 0, 0);
        if (info.error == SBI_SUCCESS && info.value >= 0 &&
            (u64)info.value < ARRAY_SIZE(mode_names))
            hvlab_mode = (int)info.value;
    }
    if (hvlab_mode > HVLAB_MODE_NATIVE)
        kprintf("Hypervisor detected: hvlab (%s)\n", mode_names[hvlab_mode]);
    else if (hvlab_mode == HVLAB_MODE_NATIVE)
        kprintf("No hypervisor detected (hvlab machine, native mode)\n");
    else
        kprintf("No hypervisor detected\n");
}
