/* pv-abi: the hvlab PV extension (docs/pv-abi.md), function by function, with good and bad
 * arguments. Every refused call must return its documented error and change nothing: the
 * PTEs it was given keep their values, and the guest goes on as before.
 * A `pv` guest: hvlab only (pvguest.h). */
#include "pvguest.h"

#define U  tables[3]
#define U1 tables[4]
#define U0 tables[5]
#define T  tables[6]
#define NT tables[7]

#define USER_CODE 0x10000UL
#define USER_DATA 0x11000UL
#define SPARE_VA  0x803F0000UL     /* in K0's 2 MiB, above the image */
#define NEW_VA    0x80400000UL     /* the next 2 MiB: no L0 table yet */

static u64 handler_stack[512] __attribute__((aligned(16)));
static struct frame uf;

static u64 rdtime(void) { u64 t; asm volatile("rdtime %0" : "=r"(t)); return t; }

static void expect(const char *name, struct sbiret r, i64 err, i64 value)
{
    if (r.error != err) { check(name, (u64)r.error, (u64)err); return; }
    check(name, (u64)r.value, (u64)value);
}

static struct sbiret update1(u64 ptr, u64 val)
{
    static struct update u[1];
    u[0].ptr = ptr;
    u[0].val = val;
    return mmu_update(u, 1);
}

static void probe_and_boot(void)
{
    expect("probe", sbi(EID_BASE, 3, EID_HVLAB, 0, 0), SBI_SUCCESS, 1);
    expect("info", pv(PV_INFO, 0, 0, 0), SBI_SUCCESS, MODE_PV);
    expect("version", pv(PV_VERSION, 0, 0, 0), SBI_SUCCESS, 0x10002);
    expect("unknown-function", pv(PV_FID_COUNT, 0, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    /* Grants and event channels are between VMs of one Host: a VM alone has neither. */
    expect("grant-table-op-alone", pv(PV_GRANT_TABLE_OP, 2, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    expect("event-channel-op-alone", pv(PV_EVENT_CHANNEL_OP, 6, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);

    expect("shared-misaligned", pv(PV_SHARED_INFO, (u64)&shared + 8, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("shared-not-ram", pv(PV_SHARED_INFO, 0x1000, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("shared-past-ram", pv(PV_SHARED_INFO, RAM_END, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    pv_start();
    check("shared-frames", shared.frames, RAM_SIZE / PAGE);
    check("shared-mask", shared.mask, 1);
    /* p2m and m2p are inverse; neighbouring guest frames are not neighbouring machine frames. */
    volatile const u32 *m2p = (volatile const u32 *)shared.m2p_va;
    check("m2p-inverts-p2m", m2p[p2m[5] - shared.m2p_first], 5);
    check_true("frames-scattered", p2m[1] != p2m[0] + 1);

    expect("console-not-ram", pv(PV_CONSOLE_WRITE, 0x1000, 4, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("console-wraps", pv(PV_CONSOLE_WRITE, ~0UL - 2, 8, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("console-write", pv(PV_CONSOLE_WRITE, (u64)"console\n", 8, 0), SBI_SUCCESS, 8);

    expect("callbacks-misaligned", pv(PV_SET_CALLBACKS, (u64)pv_user_entry + 2, (u64)pv_kernel_entry, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect("callbacks", pv(PV_SET_CALLBACKS, (u64)pv_user_entry, (u64)pv_kernel_entry, 0), SBI_SUCCESS, 0);
    expect("yield", pv(PV_YIELD, 0, 0, 0), SBI_SUCCESS, 0);

    /* The boot address space maps every frame writable: nothing can be pinned in it. */
    expect("pin-on-boot", pv(PV_PIN, ma((u64)T), 0, 0), SBI_ERR_DENIED, 0);
    uf.pc = USER_CODE;
    expect("iret-without-user-root", pv(PV_IRET, (u64)&uf, 0, 0), SBI_ERR_DENIED, 0);
}

static void set_own_root(void)
{
    build_kernel_space();
    expect("root-misaligned", pv(PV_SET_ROOT, ma((u64)K) + 8, 0, 1), SBI_ERR_INVALID_ADDRESS, 0);
    expect("root-hypervisor-frame", pv(PV_SET_ROOT, RAM_BASE, 0, 1), SBI_ERR_INVALID_ADDRESS, 0);
    expect("root-asid-too-big", pv(PV_SET_ROOT, ma((u64)K), 0, 0x10000), SBI_ERR_INVALID_PARAM, 0);
    /* A root whose tables map one of its own table pages writable is refused... */
    u64 slot = VPN(0, (u64)K0), good = K0[slot];
    K0[slot] = good | PTE_W;
    expect("root-maps-its-table-writable", pv(PV_SET_ROOT, ma((u64)K), 0, 1), SBI_ERR_DENIED, 0);
    K0[slot] = good;
    /* ...and leaves the guest where it was: still on the boot tables. */
    expect("still-on-boot", pv(PV_PIN, ma((u64)T), 0, 0), SBI_ERR_DENIED, 0);
    expect("set-root", pv(PV_SET_ROOT, ma((u64)K), 0, 1), SBI_SUCCESS, 0);
    print("on its own tables\n");

    /* Its tables are read-only now: a store to one is a page fault, bounced to the kernel
     * handler, and the PTE keeps its value. */
    u64 before = K0[500];
    arm();
    *(volatile u64 *)&K0[500] = 0xbadUL;
    check("store-to-table-faults", k_cause, CAUSE_STORE_PAGE_FAULT);
    check("store-to-table-tval", k_tval, (u64)&K0[500]);
    check("store-to-table-unchanged", K0[500], before);
}

static void updates(void)
{
    u64 *spare = &K0[VPN(0, SPARE_VA)];
    data[2][0] = 0x2222;
    data[3][0] = 0x3333;
    expect("update-map", update1(ma((u64)spare), pte_leaf((u64)data[2], PTE_R | PTE_W)), SBI_SUCCESS, 1);
    check("update-map-reads", *(volatile u64 *)SPARE_VA, 0x2222);
    /* Changing a valid entry: the hypervisor flushes the TLB after the batch. */
    expect("update-remap", update1(ma((u64)spare), pte_leaf((u64)data[3], PTE_R | PTE_W)), SBI_SUCCESS, 1);
    check("update-remap-reads", *(volatile u64 *)SPARE_VA, 0x3333);

    /* A batch stops at its first bad entry and says how many it applied. */
    static struct update b[3];
    u64 *e = &K0[VPN(0, SPARE_VA) + 1];
    b[0] = (struct update){ ma((u64)&e[0]), pte_leaf((u64)data[2], PTE_R) };
    b[1] = (struct update){ ma((u64)&e[1]), (RAM_BASE >> 12) << 10 | PTE_V | PTE_R | PTE_U };
    b[2] = (struct update){ ma((u64)&e[2]), pte_leaf((u64)data[2], PTE_R) };
    expect("batch-stops-at-bad-entry", mmu_update(b, 3), SBI_ERR_INVALID_ADDRESS, 1);
    check("batch-first-applied", e[0], b[0].val);
    check("batch-bad-not-applied", e[1], 0);
    check("batch-rest-not-applied", e[2], 0);

    u64 t = VPN(0, SPARE_VA) + 4, *p = &K0[t];
    expect("ptr-misaligned", update1(ma((u64)p) + 4, pte_leaf((u64)data[2], PTE_R)), SBI_ERR_INVALID_ADDRESS, 0);
    expect("ptr-hypervisor-frame", update1(RAM_BASE + 8, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("leaf-hypervisor-frame", update1(ma((u64)p), (RAM_BASE >> 12) << 10 | PTE_V | PTE_R | PTE_U),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect("leaf-no-such-frame", update1(ma((u64)p), (0x1UL << 10) | PTE_V | PTE_R | PTE_U), SBI_ERR_INVALID_ADDRESS, 0);
    expect("leaf-clint", update1(ma((u64)p), (0x2000UL << 10) | PTE_V | PTE_R | PTE_W | PTE_U),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect("leaf-own-table-writable", update1(ma((u64)p), pte_leaf((u64)K0, PTE_R | PTE_W)), SBI_ERR_DENIED, 0);
    expect("leaf-without-u", update1(ma((u64)p), pte_leaf((u64)data[2], PTE_R) & ~PTE_U), SBI_ERR_INVALID_PARAM, 0);
    expect("leaf-global", update1(ma((u64)p), pte_leaf((u64)data[2], PTE_R | PTE_G)), SBI_ERR_INVALID_PARAM, 0);
    expect("leaf-write-only", update1(ma((u64)p), pte_leaf((u64)data[2], PTE_W)), SBI_ERR_INVALID_PARAM, 0);
    expect("leaf-reserved-bits", update1(ma((u64)p), pte_leaf((u64)data[2], PTE_R) | (1UL << 60)),
           SBI_ERR_INVALID_PARAM, 0);
    check("refused-updates-changed-nothing", *p, 0);
    expect("leaf-uart-assigned", update1(ma((u64)p), (0x10000UL << 10) | PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D),
           SBI_SUCCESS, 1);
    expect("leaf-unmap", update1(ma((u64)p), 0), SBI_SUCCESS, 1);

    u64 *k1 = &K1[VPN(1, NEW_VA)];
    expect("superpage-refused", update1(ma((u64)k1), pte_leaf(0x80400000UL, PTE_R)), SBI_ERR_INVALID_PARAM, 0);
    expect("table-mapped-writable", update1(ma((u64)k1), pte_table((u64)data[3])), SBI_ERR_DENIED, 0);
    expect("table-wrong-level", update1(ma((u64)k1), pte_table((u64)K1)), SBI_ERR_INVALID_PARAM, 0);
    expect("table-pointer-with-u", update1(ma((u64)k1), pte_table((u64)NT) | PTE_U), SBI_ERR_INVALID_PARAM, 0);
    check("refused-tables-changed-nothing", *k1, 0);
    /* A new table: validated when linked, then used, then unlinked (an ordinary page again). */
    /* NT is read-only in the guest's map, but an ordinary page to the hypervisor: an update
     * to it is a plain write. */
    expect("table-fill-plain", update1(ma((u64)&NT[0]), pte_leaf((u64)data[3], PTE_R)), SBI_SUCCESS, 1);
    expect("table-link", update1(ma((u64)k1), pte_table((u64)NT)), SBI_SUCCESS, 1);
    check("table-link-reads", *(volatile u64 *)NEW_VA, 0x3333);
    expect("table-unlink", update1(ma((u64)k1), 0), SBI_SUCCESS, 1);
    expect("table-plain-again", update1(ma((u64)&NT[1]), 0x1234), SBI_SUCCESS, 1);
    check("table-plain-again-value", NT[1], 0x1234);

    expect("root-slot-511", update1(ma((u64)&K[511]), 0), SBI_ERR_DENIED, 0);
    expect("batch-too-big", mmu_update(b, 513), SBI_ERR_INVALID_PARAM, 0);
    expect("batch-list-not-ram", pv(PV_MMU_UPDATE, 0x1000, 1, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("batch-list-misaligned", pv(PV_MMU_UPDATE, (u64)b + 4, 1, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("batch-empty", mmu_update(b, 0), SBI_SUCCESS, 0);
}

static void pins_and_flushes(void)
{
    expect("pin-misaligned", pv(PV_PIN, ma((u64)T) + 8, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("pin-level-3", pv(PV_PIN, ma((u64)T), 3, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("pin-hypervisor-frame", pv(PV_PIN, RAM_BASE, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("pin-writable-page", pv(PV_PIN, ma((u64)data[3]), 0, 0), SBI_ERR_DENIED, 0);
    expect("pin", pv(PV_PIN, ma((u64)T), 0, 0), SBI_SUCCESS, 0);
    expect("pin-again", pv(PV_PIN, ma((u64)T), 0, 0), SBI_ERR_ALREADY_AVAILABLE, 0);
    expect("pinned-table-mapped-writable", update1(ma((u64)&K0[VPN(0, SPARE_VA) + 8]),
           pte_leaf((u64)T, PTE_R | PTE_W)), SBI_ERR_DENIED, 0);
    expect("unpin", pv(PV_UNPIN, ma((u64)T), 0, 0), SBI_SUCCESS, 0);
    expect("unpin-not-pinned", pv(PV_UNPIN, ma((u64)T), 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("pin-root", pv(PV_PIN, ma((u64)K), 2, 0), SBI_SUCCESS, 0);
    expect("unpin-root-in-use", pv(PV_UNPIN, ma((u64)K), 0, 0), SBI_ERR_DENIED, 0);

    expect("flush-page", pv(PV_TLB_FLUSH, 0, SPARE_VA, 0), SBI_SUCCESS, 0);
    expect("flush-asid", pv(PV_TLB_FLUSH, 1, 1, 0), SBI_SUCCESS, 0);
    expect("flush-all", pv(PV_TLB_FLUSH, 2, 0, 0), SBI_SUCCESS, 0);
    expect("flush-bad-kind", pv(PV_TLB_FLUSH, 3, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("flush-bad-asid", pv(PV_TLB_FLUSH, 1, 0x10000, 0), SBI_ERR_INVALID_PARAM, 0);
}

static void virtual_interrupts(void)
{
    /* block returns the pending virtual interrupts once there is one. */
    expect("timer", pv(PV_SET_TIMER, rdtime() + 1000, 0, 0), SBI_SUCCESS, 0);
    expect("block-until-timer", pv(PV_BLOCK, 0, 0, 0), SBI_SUCCESS, SIP_STIP);
    pv(PV_SET_TIMER, ~0UL, 0, 0);
    /* Masked (a store to the shared page): the interrupt stays pending, nothing is delivered. */
    arm();
    shared.mask = 1;
    pv(PV_SET_TIMER, 0, 0, 0);
    pv(PV_YIELD, 0, 0, 0);
    check("masked-not-delivered", k_count, 0);
    check("masked-pending", shared.pending & SIP_STIP, SIP_STIP);
    /* Unmasked: the next exit delivers it to the kernel handler. */
    shared.mask = 0;
    expect("unmasked-yield", pv(PV_YIELD, 0, 0, 0), SBI_SUCCESS, 0);
    check("unmasked-delivered", k_cause, CAUSE_INTERRUPT | IRQ_TIMER);
    check("unmasked-delivered-once", k_count, 1);
}

/* User programs (machine code, in data[0], mapped at USER_CODE in the user root only). */
static const u32 user_code[] = {
    0x00150513, 0x00000073, 0x0000006f, 0,  /* 0x00: addi a0, a0, 1; ecall; j . */
    0x00003303, 0x0000006f, 0, 0,           /* 0x10: ld t1, 0(zero); j . */
    0x0000006f, 0, 0, 0,                    /* 0x20: j . */
    0x00100313, 0x01f31313, 0x00033383, 0x0000006f, /* 0x30: t1 = 0x80000000; ld t2, 0(t1); j . */
    0x02007053, 0x0000006f, 0, 0,           /* 0x40: fadd.d ft0, ft0, ft0; j . */
};
#define USER_FADD 0x02007053U

static void build_user_space(void)
{
    for (u64 i = 0; i < sizeof(user_code) / sizeof(u32); i++)
        ((u32 *)data[0])[i] = user_code[i];
    asm volatile("fence.i" ::: "memory");
    /* The user root and its tables are ordinary pages until pinned: updates are plain writes. */
    static struct update b[4];
    b[0] = (struct update){ ma((u64)&U[0]), pte_table((u64)U1) };
    b[1] = (struct update){ ma((u64)&U1[0]), pte_table((u64)U0) };
    b[2] = (struct update){ ma((u64)&U0[VPN(0, USER_CODE)]), pte_leaf((u64)data[0], PTE_R | PTE_X) };
    b[3] = (struct update){ ma((u64)&U0[VPN(0, USER_DATA)]), pte_leaf((u64)data[1], PTE_R | PTE_W) };
    expect("user-tables", mmu_update(b, 4), SBI_SUCCESS, 4);
    expect("pin-user-root", pv(PV_PIN, ma((u64)U), 2, 0), SBI_SUCCESS, 0);
    expect("set-root-with-user", pv(PV_SET_ROOT, ma((u64)K), ma((u64)U), 1), SBI_SUCCESS, 0);
}

static void run_user(u64 pc)
{
    for (int i = 1; i < 32; i++)
        uf.x[i] = 0;
    uf.x[2] = USER_DATA + PAGE;      /* sp */
    uf.x[10] = 41;                   /* a0 */
    uf.pc = pc;
    shared.scratch = (u64)&handler_stack[512];
    struct sbiret r = pv(PV_IRET, (u64)&uf, 0, 0);
    check("iret-returned", (u64)r.error, 0);
    finish();
}

static int ustep;

void user_trapped(struct frame *f)
{
    switch (ustep++) {
    case 0:
        check("syscall-bounced", shared.cause, CAUSE_ECALL_U);
        check("syscall-epc", shared.epc, USER_CODE + 4);
        check("syscall-a0", f->x[10], 42);
        check("syscall-user-sp", shared.scratch, USER_DATA + PAGE);
        check("syscall-masked", shared.mask, 1);
        run_user(USER_CODE + 0x10);
        break;
    case 1:
        check("user-fault-bounced", shared.cause, CAUSE_LOAD_PAGE_FAULT);
        check("user-fault-tval", shared.tval, 0);
        check("user-fault-epc", shared.epc, USER_CODE + 0x10);
        run_user(USER_CODE + 0x30);
        break;
    case 2:
        /* The user root holds nothing of the kernel. */
        check("user-cannot-see-kernel", shared.cause, CAUSE_LOAD_PAGE_FAULT);
        check("user-cannot-see-kernel-tval", shared.tval, RAM_BASE);
        pv(PV_SET_TIMER, 0, 0, 0);   /* pending now: delivered as soon as the user runs */
        run_user(USER_CODE + 0x20);
        break;
    case 3:
        check("user-interrupt-bounced", shared.cause, CAUSE_INTERRUPT | IRQ_TIMER);
        check("user-interrupt-epc", shared.epc, USER_CODE + 0x20);
        pv(PV_SET_TIMER, ~0UL, 0, 0);
        uf.pc = USER_CODE + 1;  /* IALIGN = 16: only an odd pc is misaligned */
        expect("iret-misaligned-pc", pv(PV_IRET, (u64)&uf, 0, 0), SBI_ERR_INVALID_PARAM, 0);
        expect("iret-misaligned-frame", pv(PV_IRET, (u64)&uf + 4, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
        expect("iret-frame-not-ram", pv(PV_IRET, 0x1000, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
        expect("iret-bad-mode", pv(PV_IRET, (u64)&uf, 2, 0), SBI_ERR_INVALID_PARAM, 0);
        /* The kernel's virtual FS covers its user programs too: with FS Off a user FADD is an
         * illegal instruction bounced to the user handler (where a kernel would load the
         * program's f registers and set the state Clean). */
        expect("fs-off-for-user", pv(PV_SET_FP_STATE, FS_OFF, 0, 0), SBI_SUCCESS, FS_INITIAL);
        run_user(USER_CODE + 0x40);
        break;
    case 4:
        check("user-fp-off-bounced", shared.cause, CAUSE_ILLEGAL_INST);
        check("user-fp-off-tval", shared.tval, USER_FADD);
        check("user-fp-off-epc", shared.epc, USER_CODE + 0x40);
        expect("user-fp-off-unchanged", pv(PV_SET_FP_STATE, FS_INITIAL, 0, 0), SBI_SUCCESS, FS_OFF);
        finish();
    }
    finish();
}

/* The PV ABI has no sstatus: the virtual FS (set_fp_state) is Initial from boot, so the FP
 * unit is on (docs/pv-abi.md "Floating point"). FP instructions and fflags run in the kernel
 * without any exit. */
static void fp_available(void)
{
    u64 r, flags;
    asm volatile("li t0, 0x3ff8000000000000\n\tfmv.d.x ft0, t0\n\tfadd.d ft1, ft0, ft0\n\t"
                 "fmv.x.d %0, ft1\n\tfcvt.d.l ft2, zero\n\tcsrw fflags, zero\n\t"
                 "fdiv.d ft3, ft0, ft2\n\tcsrr %1, fflags"
                 : "=r"(r), "=r"(flags) :: "t0", "ft0", "ft1", "ft2", "ft3");
    check("fp-kernel-fadd", r, 0x4008000000000000UL);
    check("fp-kernel-fflags-dz", flags, 0x8);
}

/* set_fp_state: the kernel's virtual FS (docs/pv-abi.md "Floating point"), the mstatus.FS
 * encoding (privileged spec 3.1.6.6), with the previous value returned. Off makes every F/D
 * instruction and FP CSR access an illegal instruction for the kernel handler (which resumes
 * after it: pv-abi is built without C, so each is 4 bytes); a write makes the state Dirty; a
 * read (FMV.X.D, FSD, an fcsr read) keeps it Clean. Registers t0..t2 and ft0..ft5 only. */
#define FADD_FT3     0x020071d3U   /* fadd.d ft3, ft0, ft0 */
#define CSRR_FCSR_T0 0x003022f3U   /* csrrs t0, fcsr, zero */
#define FSD_FT0      0x00033027U   /* fsd ft0, 0(t1) */
#define FMVXD_T0     0xe20002d3U   /* fmv.x.d t0, ft0 */

static u64 fs_set(u64 fs) { return (u64)pv(PV_SET_FP_STATE, fs, 0, 0).value; }

/* Run an FP instruction that must trap with FS Off; check cause, tval and epc. */
#define EXPECT_FP_TRAP(name, insn, want)                                                   \
    do {                                                                                   \
        u64 at;                                                                            \
        arm();                                                                             \
        asm volatile("la %0, 1f\n\t" insn "\n1:" : "=&r"(at) : "r"(&fp_mem[2])           \
                     : "t0", "t1", "ft0", "ft3", "memory");                                \
        check(name "-cause", k_cause, CAUSE_ILLEGAL_INST);                                  \
        check(name "-tval", k_tval, want);                                                 \
        check(name "-epc", k_epc + 4, at);                                                 \
    } while (0)

static volatile u64 fp_mem[4];

static void fp_state(void)
{
    /* fp_available() wrote f registers: the state is Dirty when the kernel switches FP off. */
    expect("fs-off", pv(PV_SET_FP_STATE, FS_OFF, 0, 0), SBI_SUCCESS, FS_DIRTY);
    EXPECT_FP_TRAP("fs-off-fadd", "mv t1, %1\n\tfadd.d ft3, ft0, ft0", FADD_FT3);
    EXPECT_FP_TRAP("fs-off-fcsr-read", "mv t1, %1\n\tcsrr t0, fcsr", CSRR_FCSR_T0);
    EXPECT_FP_TRAP("fs-off-fsd", "mv t1, %1\n\tfsd ft0, 0(t1)", FSD_FT0);
    EXPECT_FP_TRAP("fs-off-fmv-x-d", "mv t1, %1\n\tfmv.x.d t0, ft0", FMVXD_T0);
    check("fs-off-fsd-stored-nothing", fp_mem[2], 0);
    check("fs-off-trap-count", k_count, 1);

    /* A bad value is refused and leaves FS alone (still Off: the next call returns it). */
    expect("fs-bad-4", pv(PV_SET_FP_STATE, 4, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("fs-bad-all-ones", pv(PV_SET_FP_STATE, ~0UL, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("fs-bad-high-bits", pv(PV_SET_FP_STATE, (1UL << 32) | FS_CLEAN, 0, 0), SBI_ERR_INVALID_PARAM, 0);

    /* Initial: FP works again, and the registers are as Off left them (the FADD that trapped
     * wrote nothing: ft3 still holds fp_available()'s 1.5 / 0 = +inf). */
    expect("fs-initial", pv(PV_SET_FP_STATE, FS_INITIAL, 0, 0), SBI_SUCCESS, FS_OFF);
    u64 r, inf;
    asm volatile("fmv.x.d %0, ft3" : "=r"(inf));
    check("fs-off-wrote-nothing", inf, 0x7ff0000000000000UL);
    check("fs-initial-read-stays", fs_set(FS_INITIAL), FS_INITIAL);
    asm volatile("fadd.d ft3, ft0, ft0\n\tfmv.x.d %0, ft3" : "=r"(r) :: "ft3");
    check("fs-initial-fadd", r, 0x4008000000000000UL);
    /* The write made it Dirty: the call that sets Clean says so (the kernel saves then). */
    expect("fs-clean-after-write", pv(PV_SET_FP_STATE, FS_CLEAN, 0, 0), SBI_SUCCESS, FS_DIRTY);

    /* Clean: reads of the f registers and fcsr keep it Clean... */
    u64 fcsr;
    asm volatile("fmv.x.d %0, ft0\n\tfsd ft0, 0(%2)\n\tcsrr %1, fcsr"
                 : "=&r"(r), "=&r"(fcsr) : "r"(&fp_mem[0]) : "memory");
    check("fs-clean-fmv-x-d", r, 0x3ff8000000000000UL);
    check("fs-clean-fsd", fp_mem[0], 0x3ff8000000000000UL);
    check("fs-clean-fcsr", fcsr, 0x8);
    expect("fs-clean-after-reads", pv(PV_SET_FP_STATE, FS_CLEAN, 0, 0), SBI_SUCCESS, FS_CLEAN);
    /* ...a write of an f register makes it Dirty... */
    asm volatile("li t0, 0x4000000000000000\n\tfmv.d.x ft4, t0" ::: "t0", "ft4");
    expect("fs-clean-fmv-d-x-dirty", pv(PV_SET_FP_STATE, FS_CLEAN, 0, 0), SBI_SUCCESS, FS_DIRTY);
    /* ...and so does a write of fcsr (fflags cleared: the tests after this one start clean). */
    asm volatile("csrw fflags, zero");
    expect("fs-clean-fflags-write-dirty", pv(PV_SET_FP_STATE, FS_INITIAL, 0, 0), SBI_SUCCESS, FS_DIRTY);
}

int main(void)
{
    print("pv-abi: the hvlab PV extension, function by function\n");
    probe_and_boot();
    fp_available();
    fp_state();
    set_own_root();
    updates();
    pins_and_flushes();
    virtual_interrupts();
    build_user_space();
    run_user(USER_CODE);
    return 0;
}
