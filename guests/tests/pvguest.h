/* pvguest.h: what the pv guests share (guests/tests/pv-abi.c, hostile-pv.c).
 *
 * A pv guest is a kernel made for hvlab's `pv` mode (docs/pv-abi.md): it starts in U-mode on
 * the hypervisor's boot address space (its RAM at its guest-physical addresses) and never
 * executes a privileged instruction. It prints through the PV console, builds page tables
 * that hold machine frames (translated through the p2m table the hypervisor maps at a fixed
 * address), and takes traps through the handlers in pvguest.S. It runs only under hvlab in
 * `pv`: not natively, not on QEMU.
 *
 * Checks print "ok NAME" or "FAIL NAME got=0x.. want=0x.."; the last line is the summary. */
#ifndef PVGUEST_H
#define PVGUEST_H

typedef unsigned long u64;
typedef unsigned int u32;
typedef long i64;

#define EID_BASE      0x10UL
#define EID_HVLAB     0x08484C56UL
#define EID_SRST      0x53525354UL

/* PV extension functions (docs/pv-abi.md). */
enum { PV_INFO, PV_VERSION, PV_MMU_UPDATE, PV_PIN, PV_UNPIN, PV_SET_ROOT, PV_TLB_FLUSH,
       PV_SET_CALLBACKS, PV_IRET, PV_SHARED_INFO, PV_SET_TIMER, PV_YIELD, PV_BLOCK,
       PV_CONSOLE_WRITE, PV_SET_FP_STATE, PV_GRANT_TABLE_OP, PV_EVENT_CHANNEL_OP, PV_FID_COUNT };

/* set_fp_state's values: mstatus.FS (privileged spec 3.1.6.6). */
enum { FS_OFF, FS_INITIAL, FS_CLEAN, FS_DIRTY };

#define SBI_SUCCESS                0L
#define SBI_ERR_NOT_SUPPORTED     -2L
#define SBI_ERR_INVALID_PARAM     -3L
#define SBI_ERR_DENIED            -4L
#define SBI_ERR_INVALID_ADDRESS   -5L
#define SBI_ERR_ALREADY_AVAILABLE -6L

#define MODE_PV    4
#define RAM_BASE   0x80000000UL
#define RAM_SIZE   (128UL << 20)            /* the tests give the VM 128 MiB */
#define RAM_END    (RAM_BASE + RAM_SIZE)
#define PAGE       4096UL

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define VPN(level, va) (((va) >> (12 + 9 * (level))) & 511)

#define CAUSE_INTERRUPT (1UL << 63)
#define CAUSE_ILLEGAL_INST 2
#define CAUSE_ECALL_U 8
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15
#define IRQ_TIMER 5
#define SIP_STIP (1UL << 5)

struct sbiret { i64 error; i64 value; };

static inline struct sbiret sbi(u64 eid, u64 fid, u64 arg0, u64 arg1, u64 arg2)
{
    register u64 a0 asm("a0") = arg0;
    register u64 a1 asm("a1") = arg1;
    register u64 a2 asm("a2") = arg2;
    register u64 a6 asm("a6") = fid;
    register u64 a7 asm("a7") = eid;
    asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){ (i64)a0, (i64)a1 };
}

static inline struct sbiret pv(u64 fid, u64 a0, u64 a1, u64 a2) { return sbi(EID_HVLAB, fid, a0, a1, a2); }

/* A PV call with all six SBI argument registers (grant_table_op, event_channel_op). */
static inline struct sbiret pv6(u64 fid, u64 arg0, u64 arg1, u64 arg2, u64 arg3, u64 arg4, u64 arg5)
{
    register u64 a0 asm("a0") = arg0;
    register u64 a1 asm("a1") = arg1;
    register u64 a2 asm("a2") = arg2;
    register u64 a3 asm("a3") = arg3;
    register u64 a4 asm("a4") = arg4;
    register u64 a5 asm("a5") = arg5;
    register u64 a6 asm("a6") = fid;
    register u64 a7 asm("a7") = EID_HVLAB;
    asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){ (i64)a0, (i64)a1 };
}

/* The shared info page (docs/pv-abi.md "Shared info page"). */
struct shared_info {
    u64 mask, pending, scratch, cause, epc, tval;
    u64 frames, p2m_va, m2p_va, m2p_first, m2p_entries;
    u64 evtchn_pending, evtchn_mask;         /* ABI 1.2: bit n = event port n */
};
extern volatile struct shared_info shared;   /* page-aligned, in pvguest.S's .bss */

/* The iret frame: x1..x31 at 8 * n, the pc at 256. */
struct frame { u64 x[32]; u64 pc; };

/* pvguest.S */
void pv_user_entry(void);
void pv_kernel_entry(void);
extern char __image_end[];

/* Called by pvguest.S: a trap of user mode (on the handler stack, never returns), and one of
 * the kernel (the frame is restored by iret when it returns). */
void user_trapped(struct frame *user);
void kernel_trapped(struct frame *f);

/* ---- output and checks ---- */

static u64 slen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
static void write_all(const char *s, u64 n)
{
    while (n) {
        struct sbiret r = pv(PV_CONSOLE_WRITE, (u64)s, n, 0);
        if (r.error || r.value <= 0) return;
        s += r.value;
        n -= (u64)r.value;
    }
}
static void print(const char *s) { write_all(s, slen(s)); }
static void print_hex(u64 v)
{
    char b[19];
    b[0] = '0'; b[1] = 'x';
    int n = 2, started = 0;
    for (int sh = 60; sh >= 0; sh -= 4) {
        int d = (v >> sh) & 15;
        if (d || started || sh == 0) { b[n++] = "0123456789abcdef"[d]; started = 1; }
    }
    write_all(b, (u64)n);
}

static u64 n_ok, n_fail;
static void check(const char *name, u64 got, u64 want)
{
    if (got == want) { print("ok "); print(name); print("\n"); n_ok++; return; }
    print("FAIL "); print(name); print(" got="); print_hex(got); print(" want="); print_hex(want); print("\n");
    n_fail++;
}
static __attribute__((unused)) void check_true(const char *name, int cond) { check(name, cond ? 1 : 0, 1); }

static void __attribute__((noreturn)) finish(void)
{
    print("summary: "); print_hex(n_ok); print(" ok, "); print_hex(n_fail); print(" failed\n");
    sbi(EID_SRST, 0, 0, n_fail ? 1 : 0, 0);   /* shutdown: reason none, or system failure */
    for (;;)
        ;
}

/* ---- frames and page tables ---- */

static volatile const u32 *p2m;
static u64 p2m_frames;

/* Machine address of guest-physical pa (RAM only). */
static u64 ma(u64 pa) { return ((u64)p2m[(pa - RAM_BASE) >> 12] << 12) | (pa & (PAGE - 1)); }
static u64 pte_leaf(u64 pa, u64 perm) { return ((ma(pa) >> 12) << 10) | perm | PTE_V | PTE_U | PTE_A | PTE_D; }
static u64 pte_table(u64 pa) { return ((ma(pa) >> 12) << 10) | PTE_V; }

/* Pages that become page tables (read-only in the guest's own map) and pages that stay data. */
#define NTABLES 12
#define NDATA   4
static u64 tables[NTABLES][512] __attribute__((aligned(4096)));
static u64 data[NDATA][512] __attribute__((aligned(4096), unused));

static int is_table_page(u64 pa)
{
    return pa >= (u64)tables && pa < (u64)tables + sizeof(tables);
}

/* A batch for mmu_update. */
struct update { u64 ptr, val; };

static __attribute__((unused)) struct sbiret mmu_update(struct update *u, u64 n) { return pv(PV_MMU_UPDATE, (u64)u, n, 0); }

/* The kernel address space of the tests: root tables[0] -> tables[1] (slot 2) -> tables[2],
 * mapping the image 4 KiB at a time, table pages read-only and everything else writable. */
#define K  tables[0]
#define K1 tables[1]
#define K0 tables[2]

static void build_kernel_space(void)
{
    u64 base = 0x80200000UL, end = (u64)__image_end;
    K[VPN(2, base)] = pte_table((u64)K1);
    K1[VPN(1, base)] = pte_table((u64)K0);
    for (u64 a = base; a < end; a += PAGE)
        K0[VPN(0, a)] = pte_leaf(a, is_table_page(a) ? PTE_R : PTE_R | PTE_W | PTE_X);
}

/* Register the shared page and the handlers: every pv guest does this first. */
static void pv_start(void)
{
    pv(PV_SHARED_INFO, (u64)&shared, 0, 0);
    p2m = (volatile const u32 *)shared.p2m_va;
    p2m_frames = shared.frames;
    pv(PV_SET_CALLBACKS, (u64)pv_user_entry, (u64)pv_kernel_entry, 0);
}

/* The kernel handler records what it saw; an exception resumes after the instruction. */
static volatile u64 k_cause, k_tval, k_epc, k_count;
static void arm(void) { k_cause = ~0UL; k_tval = 0; k_count = 0; }

void kernel_trapped(struct frame *f)
{
    k_cause = shared.cause;
    k_tval = shared.tval;
    k_epc = shared.epc;
    k_count++;
    if (k_cause & CAUSE_INTERRUPT)
        pv(PV_SET_TIMER, ~0UL, 0, 0);        /* the timer was the test's: quiet it */
    else
        f->pc += 4;
    shared.mask = 1;                         /* as it was when the trap came */
}

#endif
