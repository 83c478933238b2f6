// fault [KIND]: do something a user program may not, so the kernel kills it
// and says why. The shell must survive.
#include "user.h"

#define USAGE "fault [store|load|exec|illegal|priv|kernel|badptr]"

#define UNMAPPED_VA   0x3000UL         // below USER_TEXT_BASE: never mapped
#define KERNEL_VA     0x80200000UL     // mapped, but without PTE_U

int main(int argc, char **argv)
{
    check_argc(argc, argv, 2, USAGE);
    const char *kind = argc > 1 ? argv[1] : "store";
    u64 v = 0;
    if (strcmp(kind, "store") == 0) {
        printf("fault: storing to unmapped address 0x%lx\n", UNMAPPED_VA);
        asm volatile("sd %0, 0(%1)" :: "r"(1UL), "r"(UNMAPPED_VA) : "memory");
    } else if (strcmp(kind, "load") == 0) {
        printf("fault: loading from unmapped address 0x%lx\n", UNMAPPED_VA);
        asm volatile("ld %0, 0(%1)" : "=r"(v) : "r"(UNMAPPED_VA) : "memory");
    } else if (strcmp(kind, "exec") == 0) {
        printf("fault: jumping to unmapped address 0x%lx\n", UNMAPPED_VA);
        asm volatile("jalr ra, 0(%0)" :: "r"(UNMAPPED_VA) : "ra", "memory");
    } else if (strcmp(kind, "illegal") == 0) {
        printf("fault: executing an illegal instruction\n");
        // unimp: "csrrw zero, cycle, zero", a write to a read-only CSR,
        // the canonical 32-bit illegal instruction.
        asm volatile("unimp");
    } else if (strcmp(kind, "priv") == 0) {
        printf("fault: reading sstatus from U-mode\n");
        asm volatile("csrr %0, sstatus" : "=r"(v));
    } else if (strcmp(kind, "kernel") == 0) {
        printf("fault: storing to kernel address 0x%lx\n", KERNEL_VA);
        asm volatile("sd %0, 0(%1)" :: "r"(1UL), "r"(KERNEL_VA) : "memory");
    } else if (strcmp(kind, "badptr") == 0) {
        // Not a fault: the kernel checks pointers and refuses.
        long r = write(1, (const void *)KERNEL_VA, 16);
        printf("fault: write() from kernel address 0x%lx returned %ld; not killed\n",
               KERNEL_VA, r);
        return 0;
    } else {
        printf("fault: unknown kind '%s'\nusage: %s\n", kind, USAGE);
        return 2;
    }
    printf("fault: survived (value 0x%lx): this is a bug\n", v);
    return 1;
}
