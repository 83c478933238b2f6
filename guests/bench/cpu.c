/* cpu: the CPU benchmark. One iteration of the kernel runs an integer mix
 * (arithmetic, logic, shifts, data-dependent branches), multiply/divide, a
 * 256 KiB doubleword copy, and atomics (AMOADD and an LR/SC loop): about
 * 0.9 M instructions. ITERS iterations (a compile-time constant, see the
 * Makefile) run; the checksum catches emulation errors.
 *   cpu-bare:  M-mode, no paging.
 *   cpu-sv39:  S-mode, Sv39, the image and its buffers mapped with 4 KiB
 *              pages so the TLB is exercised (USE_SV39). */
#include "rt.h"

#ifndef ITERS
#define ITERS 1
#endif

#define COPY_WORDS (256 * 1024 / 8)
#define MIX_ROUNDS 20000
#define MULDIV_ROUNDS 8000
#define AMO_ROUNDS 10000

static u64 src[COPY_WORDS], dst[COPY_WORDS];
static volatile u64 counter;

static u64 int_mix(u64 seed)
{
    u64 x = seed | 1, acc = 0;
    for (int i = 0; i < MIX_ROUNDS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (x & 0x10)
            acc += x >> 3;
        else
            acc ^= (x << 5) | (u64)i;
        if ((s64)acc < 0)
            acc = (acc << 1) | 1;
        acc += (u32)x - ((u32)(x >> 32) & 0xffff);
    }
    return acc ^ x;
}

static u64 mul_div(u64 seed)
{
    u64 a = seed | 3, acc = 0;
    for (int i = 0; i < MULDIV_ROUNDS; i++) {
        u64 b = (a >> 40) | 7;
        acc += a * b;
        acc ^= a / b;
        acc += (u64)((s64)a % (s64)(b | 1));
        acc += (u64)((s32)a / (s32)((b & 0xff) | 1));
        a = a * 6364136223846793005UL + 1442695040888963407UL;
    }
    return acc;
}

static u64 copy(u64 seed)
{
    u64 sum = 0;
    src[seed % COPY_WORDS] += seed;
    for (int i = 0; i < COPY_WORDS; i++)
        dst[i] = src[i];
    for (int i = 0; i < COPY_WORDS; i += 64)
        sum += dst[i] ^ (u64)i;
    return sum;
}

static u64 atomics(void)
{
    u64 old = 0;
    for (int i = 0; i < AMO_ROUNDS; i++)
        asm volatile("amoadd.d %0, %2, (%1)" : "=r"(old) : "r"(&counter), "r"((u64)i) : "memory");
    for (int i = 0; i < AMO_ROUNDS; i++) {
        u64 v, fail;
        asm volatile("1: lr.d %0, (%2)\n\txori %0, %0, 0x5a\n\tsc.d %1, %0, (%2)\n\tbnez %1, 1b"
                     : "=&r"(v), "=&r"(fail) : "r"(&counter) : "memory");
    }
    return old + counter;
}

static u64 kernel(u64 iters)
{
    u64 sum = 0;
    for (int i = 0; i < COPY_WORDS; i++)
        src[i] = (u64)i * 0x9e3779b97f4a7c15UL;
    counter = 0;
    for (u64 it = 0; it < iters; it++) {
        sum = (sum << 7 | sum >> 57) ^ int_mix(sum + it);
        sum += mul_div(sum ^ it);
        sum ^= copy(sum);
        sum += atomics();
    }
    return sum;
}

#ifdef USE_SV39
extern char __image_end[];
#define L0_TABLES 4   /* 4 x 2 MiB mapped with 4 KiB pages */
static u64 root[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
static u64 l0[L0_TABLES][512] __attribute__((aligned(4096)));

static void map_ram_4k(void)
{
    const u64 perm = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D | PTE_V;
    u64 end = ((u64)__image_end + (1UL << 21) - 1) & ~((1UL << 21) - 1);
    if (end > RAM_BASE + L0_TABLES * (1UL << 21)) {
        println("cpu: image too large for the 4 KiB map");
        exit(2);
    }
    root[2] = (((u64)l1 >> PAGE_SHIFT) << PTE_PPN_SHIFT) | PTE_V;
    for (int t = 0; t < L0_TABLES; t++) {
        l1[t] = (((u64)l0[t] >> PAGE_SHIFT) << PTE_PPN_SHIFT) | PTE_V;
        for (int i = 0; i < 512; i++) {
            u64 pa = RAM_BASE + ((u64)t << 21) + ((u64)i << PAGE_SHIFT);
            l0[t][i] = ((pa >> PAGE_SHIFT) << PTE_PPN_SHIFT) | perm;
        }
    }
    csr_write(satp, SATP_MODE_SV39 | ((u64)root >> PAGE_SHIFT));
    asm volatile("sfence.vma" ::: "memory");
}
#endif

int main(void)
{
    u64 sum;
#ifdef USE_SV39
    println("cpu benchmark: S-mode, Sv39 with 4 KiB pages");
    map_ram_4k();
    sum = run_in_mode(PRV_S, kernel, ITERS);
    csr_write(satp, 0);
#else
    println("cpu benchmark: M-mode, no paging");
    sum = kernel(ITERS);
#endif
    print_kv("iterations", ITERS);
    print_kv("checksum", sum);
    println("done");
    return 0;
}
