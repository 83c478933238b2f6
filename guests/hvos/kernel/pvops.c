// The pv table the whole kernel calls through (see pvops.h).
#include "pvops.h"
#include "sbi.h"

#include "defs.h"

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

// Whether the command line has `word` as one of its space-separated words.
static inline __attribute__((always_inline)) int has_word(const char *line, const char *word)
{
    usize n = strlen(word);
    for (const char *p = line; *p;) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if ((usize)(e - p) == n && strncmp(p, word, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}

// has_word for the other files (fdt.c's `hugepages`); pvops_cmdline keeps its own
// inlined copy, so a boot without the new switch runs the instructions it ran.
int cmdline_has(const char *line, const char *word)
{
    return has_word(line, word);
}

// The kernel command line (/chosen/bootargs), read once the device tree is.
// `nopv` keeps the native operations under hardware assist, as Linux's
// xen_nopv does: the console then goes through the UART again, so the I/O
// benchmarks can set the emulated UART against virtio (docs/io.md). The pv
// mode cannot do without its operations: there the word is refused.
void pvops_cmdline(const char *args)
{
    if (!has_word(args, "nopv"))
        return;
    if (strcmp(pv.name, "pv-on-hvm") == 0) {
        pv = pv_native_ops;
        kprintf("pv: nopv: PV-on-HVM off, native operations\n");
    } else if (strcmp(pv.name, pv_native_ops.name) != 0) {
        kprintf("pv: nopv ignored: the %s kernel needs its PV operations\n", pv.name);
    }
}
