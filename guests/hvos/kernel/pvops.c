// The pv table the whole kernel calls through (see pvops.h).
#include "pvops.h"
#include "sbi.h"

extern const struct pv_ops pv_native_ops;
void pv_init(void);
void pv_hvm_init(void);

struct pv_ops pv;

// Called first thing at boot. Like Linux on Xen or KVM, probe the SBI for
// hvlab's PV extension: in the `pv` mode every operation becomes a hypercall
// (pvops_pv.c); under hardware assist the console and the timer do
// (PV-on-HVM); on bare metal, on QEMU and under trap-and-emulate (which runs
// an unmodified kernel) the native operations stay.
void pvops_init(void)
{
    pv = pv_native_ops;
    if (!sbi_probe(SBI_EXT_HVLAB))
        return;
    struct sbiret info = sbi_call(SBI_EXT_HVLAB, SBI_HVLAB_INFO, 0, 0, 0);
    if (info.error)
        return;
    if (info.value == HVLAB_MODE_PV)
        pv_init();
    else if (info.value == HVLAB_MODE_HVM_SHADOW || info.value == HVLAB_MODE_HVM_NESTED)
        pv_hvm_init();
}
