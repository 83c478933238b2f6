// SBI calls. Under hvlab the SBI is also the hypercall interface, so this is
// the one place where hvos talks to the layer below it.
#include "sbi.h"

struct sbiret sbi_call(u64 ext, u64 fid, u64 arg0, u64 arg1, u64 arg2)
{
    register u64 a0 asm("a0") = arg0;
    register u64 a1 asm("a1") = arg1;
    register u64 a2 asm("a2") = arg2;
    register u64 a6 asm("a6") = fid;
    register u64 a7 asm("a7") = ext;
    asm volatile("ecall"
                 : "+r"(a0), "+r"(a1)
                 : "r"(a2), "r"(a6), "r"(a7)
                 : "memory");
    struct sbiret r = { (i64)a0, (i64)a1 };
    return r;
}

int sbi_probe(u64 ext)
{
    struct sbiret r = sbi_call(SBI_EXT_BASE, SBI_BASE_PROBE_EXTENSION, ext, 0, 0);
    return r.error == SBI_SUCCESS && r.value != 0;
}
