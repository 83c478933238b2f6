// PV operations: hvos as a paravirtualized guest of hvlab (the `pv` mode,
// docs/pv-abi.md), after Linux's Xen PV support. The kernel runs in U-mode
// and never executes a privileged instruction: every operation of the pv
// table is a hypercall, or a load or store to the shared info page.
//
//  - Page tables hold machine frames. The kernel keeps building them with
//    physical addresses; set_pte translates through the hypervisor's
//    guest-to-machine table (p2m) and read_pte back through its
//    machine-to-guest table (m2p), both mapped read-only at fixed addresses.
//  - Live tables are read-only to the guest: PTE writes are queued and sent
//    in batches (mmu_update), before anything can depend on them: a return
//    to user mode, an address-space switch, a user-memory access, idling.
//    A batch that changes a valid entry flushes the TLB, so a page flush
//    after a queued update costs nothing.
//  - Page-table pages are mapped read-only in the kernel's map of RAM (with
//    4 KiB pages), or the hypervisor would refuse them as tables.
//  - Kernel and user address spaces are kept apart as in Xen's 64-bit PV:
//    each process has a second root, its "user root", holding only the user
//    slots of its root; the hypervisor runs user code on it.
//  - Traps from user mode are bounced by the hypervisor to pv_uservec with
//    the trap information in the shared page; iret returns to user mode.
//    Interrupts are masked by a store to the shared page.
//
// Under hardware assist (hvm-shadow, hvm-nested) only the console and the
// timer are paravirtualized (PV-on-HVM): pv_hvm_init().
#include "defs.h"
#include "memlayout.h"
#include "proc.h"
#include "pvops.h"
#include "sbi.h"

extern const struct pv_ops pv_native_ops;

// The shared info page (docs/pv-abi.md "Shared info page").
struct pv_shared {
    u64 mask;          // nonzero: virtual interrupts masked (guest writes)
    u64 pending;       // pending virtual interrupts, sip bits (hypervisor writes)
    u64 scratch;       // exchanged with sp when a user trap is bounced
    u64 cause, epc, tval;   // the last trap bounced
    u64 frames;        // guest frames; where p2m and m2p are mapped
    u64 p2m_va, m2p_va, m2p_first, m2p_entries;
    u64 evtchn_pending, evtchn_mask;   // ABI 1.2: a bit per event port
};
struct pv_shared pv_shared_page __attribute__((aligned(4096)));
#define SH (*(volatile struct pv_shared *)&pv_shared_page)

// trapvec_pv.S
void pv_uservec(void);
void pv_kernelvec(void);

static struct sbiret hv(u64 fid, u64 a0, u64 a1, u64 a2)
{
    return sbi_call(SBI_EXT_HVLAB, fid, a0, a1, a2);
}

// ---- frames -----------------------------------------------------------

static const u32 *p2m, *m2p;
static u64 nframes, m2p_first, m2p_entries;

static u64 to_machine_addr(u64 pa)
{
    u64 gfn = (pa - RAM_BASE) >> PGSHIFT;
    if (pa < RAM_BASE || gfn >= nframes)
        return pa;                       // a device: assigned, at its own address
    return ((u64)p2m[gfn] << PGSHIFT) | (pa & (PGSIZE - 1));
}

static u64 to_guest_addr(u64 ma)
{
    u64 i = (ma >> PGSHIFT) - m2p_first;
    if ((ma >> PGSHIFT) < m2p_first || i >= m2p_entries || m2p[i] == 0xFFFFFFFFu)
        return ma;
    return RAM_BASE + ((u64)m2p[i] << PGSHIFT) + (ma & (PGSIZE - 1));
}

// A PTE as the kernel builds it -> as the hardware walks it. Leaves get U
// (the kernel runs in U-mode) and lose G (kernel and user roots must not
// share TLB entries).
static pte_t to_machine_pte(pte_t pte)
{
    if (!(pte & PTE_V))
        return pte;
    pte_t m = (pte & 0x3FF) | PA2PTE(to_machine_addr(PTE2PA(pte)));
    if (pte & PTE_LEAF_BITS)
        m = (m | PTE_U) & ~PTE_G;
    return m;
}

// Machine frames that are neither the VM's nor a device are the
// hypervisor's (root slot 511): they read as empty, so the kernel never
// copies or changes them.
static pte_t to_guest_pte(pte_t pte)
{
    if (!(pte & PTE_V))
        return pte;
    u64 ma = PTE2PA(pte), pa = to_guest_addr(ma);
    if (pa == ma && ma >= RAM_BASE)
        return 0;
    return (pte & 0x3FF) | PA2PTE(pa);
}

// ---- the update queue -------------------------------------------------

#define PV_BATCH 64
static struct { u64 ptr, val; } batch[PV_BATCH];
static int nbatch;
static u64 queued_pages;         // a bit per page (hashed, by address) with a queued update
static int on_boot = 1;          // still in the hypervisor's boot address space

static u64 page_bit(u64 pa) { return 1UL << ((pa >> PGSHIFT) & 63); }

static void pv_flush(void)
{
    if (!nbatch)
        return;
    struct sbiret r = hv(SBI_HVLAB_MMU_UPDATE, (u64)batch, (u64)nbatch, 0);
    if (r.error)
        panic("pv_flush: mmu_update refused entry %ld (ptr 0x%lx val 0x%lx): error %ld",
              r.value, batch[r.value].ptr, batch[r.value].val, r.error);
    nbatch = 0;
    queued_pages = 0;
}

// Queue the update of the PTE at kernel address ptep.
static void queue(pte_t *ptep, u64 val)
{
    if (nbatch == PV_BATCH)
        pv_flush();
    batch[nbatch].ptr = to_machine_addr((u64)ptep);
    batch[nbatch].val = val;
    nbatch++;
    queued_pages |= page_bit((u64)ptep);
}

// Each process root has a user root beside it: the same user slots, nothing
// of the kernel. Registered when the root is first used, freed with it.
static struct twin { pagetable_t root, user; } twins[NPROC + 1];

static struct twin *twin_of(pagetable_t root)
{
    for (int i = 0; i < NPROC + 1; i++)
        if (twins[i].root == root)
            return &twins[i];
    return NULL;
}

static void pv_set_pte(pte_t *ptep, pte_t pte)
{
    pte_t m = to_machine_pte(pte);
    if (on_boot) {
        // Nothing is a page table for the hypervisor yet: ordinary memory.
        *(volatile pte_t *)ptep = m;
        return;
    }
    queue(ptep, m);
    u64 slot = ((u64)ptep & (PGSIZE - 1)) / sizeof(pte_t);
    if (slot < USER_ROOT_SLOTS) {
        struct twin *t = twin_of((pagetable_t)PGROUNDDOWN((u64)ptep));
        if (t && t->user)
            queue(&t->user[slot], m);
    }
}

// The queue holds the newest value of a PTE not yet sent (searched only if
// an update to its page may be queued).
static pte_t pv_read_pte(pte_t *ptep)
{
    if (queued_pages & page_bit((u64)ptep)) {
        u64 ma = to_machine_addr((u64)ptep);
        for (int i = nbatch - 1; i >= 0; i--)
            if (batch[i].ptr == ma)
                return to_guest_pte(batch[i].val);
    }
    return to_guest_pte(*(volatile pte_t *)ptep);
}

// ---- the kernel's map of RAM --------------------------------------------

static pagetable_t kernel_root(void)
{
    return (pagetable_t)((kernel_satp & ((1UL << 44) - 1)) << PGSHIFT);
}

// The leaf of the kernel's map that maps kernel address va (4 KiB pages).
static pte_t *kmap_leaf(u64 va)
{
    pagetable_t t = kernel_root();
    for (int l = 2; l > 0; l--) {
        pte_t e = pv_read_pte(&t[PX(l, va)]);
        if (!(e & PTE_V) || (e & PTE_LEAF_BITS))
            panic("kmap_leaf: no 4 KiB mapping of %p", (void *)va);
        t = (pagetable_t)PTE2PA(e);
    }
    return &t[PX(0, va)];
}

static void set_writable(void *page, int writable)
{
    pte_t *leaf = kmap_leaf((u64)page);
    pte_t e = pv_read_pte(leaf);
    pv_set_pte(leaf, writable ? e | PTE_W | PTE_D : e & ~PTE_W);
}

// Make (or unmake) every table page of a tree read-only in the kernel's map:
// the root, and the tables below its slots [first, last).
static void protect_tree(pagetable_t table, int level, int first, int last, int writable)
{
    for (int i = first; level > 0 && i < last; i++) {
        pte_t e = pv_read_pte(&table[i]);
        if ((e & PTE_V) && !(e & PTE_LEAF_BITS))
            protect_tree((pagetable_t)PTE2PA(e), level - 1, 0, 512, writable);
    }
    set_writable(table, writable);
}

static void pv_alloc_table(pagetable_t page)
{
    // On the boot tables the kernel's map does not exist yet: its tables are
    // protected all at once when it is first used (pv_set_satp).
    if (!on_boot)
        set_writable(page, 0);
}

static void pv_release_tables(pagetable_t root)
{
    pv_flush();
    struct twin *t = twin_of(root);
    if (t) {
        struct sbiret r = hv(SBI_HVLAB_UNPIN, to_machine_addr((u64)root), 0, 0);
        struct sbiret u = hv(SBI_HVLAB_UNPIN, to_machine_addr((u64)t->user), 0, 0);
        if (r.error || u.error)
            panic("pv_release_tables: unpin refused: %ld %ld", r.error, u.error);
    }
    // Ordinary pages again: the kernel may write (and free) them.
    protect_tree(root, 2, 0, USER_ROOT_SLOTS, 1);
    if (t)
        set_writable(t->user, 1);
    pv_flush();
    if (t) {
        kfree(t->user);
        t->root = t->user = NULL;
    }
}

// ---- address spaces ---------------------------------------------------

static u64 cur_satp;

static void pv_set_satp(u64 satp)
{
    pagetable_t root = (pagetable_t)((satp & ((1UL << 44) - 1)) << PGSHIFT);
    u64 asid = (satp >> SATP_ASID_SHIFT) & SATP_ASID_MASK;
    pagetable_t user = NULL;
    if (on_boot) {
        // Leaving the boot tables: the kernel's own tables become read-only
        // in its map of RAM, then the hypervisor validates them.
        protect_tree(root, 2, 0, 511, 0);
        on_boot = 0;
    }
    pv_flush();
    if (root != kernel_root()) {
        struct twin *t = twin_of(root);
        if (!t) {
            t = twin_of(NULL);
            if (!t)
                panic("pv_set_satp: no room for a user root");
            pagetable_t u = kalloc();
            if (!u)
                panic("pv_set_satp: out of memory");
            set_writable(u, 0);
            for (int i = 0; i < USER_ROOT_SLOTS; i++)
                pv_set_pte(&u[i], pv_read_pte(&root[i]));
            pv_flush();
            struct sbiret a = hv(SBI_HVLAB_PIN, to_machine_addr((u64)root), 2, 0);
            struct sbiret b = hv(SBI_HVLAB_PIN, to_machine_addr((u64)u), 2, 0);
            if (a.error || b.error)
                panic("pv_set_satp: pin refused: %ld %ld", a.error, b.error);
            t->root = root;
            t->user = u;
        }
        user = t->user;
    }
    struct sbiret r = hv(SBI_HVLAB_SET_ROOT, to_machine_addr((u64)root),
                         user ? to_machine_addr((u64)user) : 0, asid);
    if (r.error)
        panic("pv_set_satp: set_root refused: %ld", r.error);
    if (root == kernel_root() && !twin_of(root)) {
        // Keep the kernel's tables validated while processes run.
        twins[NPROC].root = root;
        hv(SBI_HVLAB_PIN, to_machine_addr((u64)root), 2, 0);
    }
    cur_satp = satp;
}

static u64 pv_get_satp(void)
{
    return cur_satp;
}

// A queued update carries its flush (the hypervisor flushes after a batch
// that changed a valid entry), so a page flush only needs the queue sent
// before the page is used: see the sync points above.
static void pv_flush_tlb_page(u64 va, u64 asid)
{
    (void)asid;
    if (!nbatch)
        hv(SBI_HVLAB_TLB_FLUSH, PV_FLUSH_PAGE, va, 0);
}

static void pv_flush_tlb_asid(u64 asid)
{
    pv_flush();
    hv(SBI_HVLAB_TLB_FLUSH, PV_FLUSH_ASID, asid, 0);
}

static void pv_flush_tlb_all(void)
{
    pv_flush();
    hv(SBI_HVLAB_TLB_FLUSH, PV_FLUSH_ALL, 0, 0);
}

// ---- trap state: the shared page ----------------------------------------

static u64 pv_read_sstatus(void)
{
    return SH.mask ? 0 : SSTATUS_SIE;
}

static void pv_sstatus_set(u64 bits)
{
    if (bits & SSTATUS_SUM)
        pv_flush();                      // the kernel is about to touch user pages
    if (bits & SSTATUS_SIE) {
        SH.mask = 0;
        if (SH.pending)
            hv(SBI_HVLAB_YIELD, 0, 0, 0);   // an exit delivers what is pending
    }
}

static void pv_sstatus_clear(u64 bits)
{
    if (bits & SSTATUS_SIE)
        SH.mask = 1;
}

// Both virtual interrupts are always enabled; masking is SH.mask. The trap
// handlers are registered once (pv_init), so stvec has nothing to switch.
static void pv_write_sie(u64 bits)      { (void)bits; }
static void pv_write_stvec(u64 addr)    { (void)addr; }
static void pv_write_sscratch(u64 v)    { SH.scratch = v; }
static u64 pv_read_sepc(void)           { return SH.epc; }
static void pv_write_sepc(u64 v)        { SH.epc = v; }
static u64 pv_read_scause(void)         { return SH.cause; }
static u64 pv_read_stval(void)          { return SH.tval; }

// ---- console and time ---------------------------------------------------

static char conbuf[128];
static u64 conlen;

static void console_sync(void)
{
    u64 done = 0;
    while (done < conlen) {
        struct sbiret r = hv(SBI_HVLAB_CONSOLE_WRITE, (u64)conbuf + done, conlen - done, 0);
        if (r.error)
            break;
        done += (u64)r.value;
    }
    conlen = 0;
}

// Output is sent a line at a time (and before the kernel waits or returns
// to user mode), not a byte per exit as a UART costs.
static void pv_console_putc(int c)
{
    conbuf[conlen++] = (char)c;
    if (c == '\n' || conlen == sizeof(conbuf))
        console_sync();
}

static void pv_set_timer(u64 deadline)
{
    hv(SBI_HVLAB_SET_TIMER, deadline, 0, 0);
}

static u64 pv_read_time(void)
{
    return csr_read(time);               // a user-level counter: no trap
}

static void __attribute__((noreturn)) pv_return_to_user(struct trapframe *tf)
{
    pv_flush();
    console_sync();
    SH.scratch = (u64)tf;                // pv_uservec's sp on the next trap
    struct sbiret r = hv(SBI_HVLAB_IRET, (u64)tf, 0, 0);
    panic("pv_return_to_user: iret refused: %ld", r.error);
}

// Wait for a virtual interrupt: block returns the pending ones, and each is
// handled as native idle's one-trap window would.
static void pv_idle(void)
{
    pv_flush();
    console_sync();
    struct sbiret r = hv(SBI_HVLAB_BLOCK, 0, 0, 0);
    u64 pending = (u64)r.value;
    if (pending & SIE_SEIE) {
        SH.cause = SCAUSE_INTERRUPT | IRQ_S_EXT;
        kerneltrap();
    }
    if (pending & SIE_STIE) {
        SH.cause = SCAUSE_INTERRUPT | IRQ_S_TIMER;
        kerneltrap();
    }
    if (pending & SIE_SSIE) {            // an event from another VM (split.c)
        SH.cause = SCAUSE_INTERRUPT | IRQ_S_SOFT;
        kerneltrap();
    }
}

static const struct pv_ops pv_pv_ops = {
    .name = "pv",
    .set_satp = pv_set_satp,
    .get_satp = pv_get_satp,
    .set_pte = pv_set_pte,
    .flush_tlb_page = pv_flush_tlb_page,
    .flush_tlb_asid = pv_flush_tlb_asid,
    .flush_tlb_all = pv_flush_tlb_all,
    .read_pte = pv_read_pte,
    .alloc_table = pv_alloc_table,
    .release_tables = pv_release_tables,
    .mmu_flags = PVMMU_4K_ONLY,
    .read_sstatus = pv_read_sstatus,
    .sstatus_set = pv_sstatus_set,
    .sstatus_clear = pv_sstatus_clear,
    .write_sie = pv_write_sie,
    .write_stvec = pv_write_stvec,
    .write_sscratch = pv_write_sscratch,
    .read_sepc = pv_read_sepc,
    .write_sepc = pv_write_sepc,
    .read_scause = pv_read_scause,
    .read_stval = pv_read_stval,
    .return_to_user = pv_return_to_user,
    .read_time = pv_read_time,
    .set_timer = pv_set_timer,
    .idle = pv_idle,
    .console_putc = pv_console_putc,
};

// The `pv` mode: register the shared page and the trap handlers, learn
// where p2m and m2p are, and install the table. Runs first thing at boot,
// still on the hypervisor's boot address space.
void pv_init(void)
{
    if (hv(SBI_HVLAB_SHARED_INFO, (u64)&pv_shared_page, 0, 0).error)
        return;                          // stays native: it will fault visibly
    p2m = (const u32 *)SH.p2m_va;
    m2p = (const u32 *)SH.m2p_va;
    nframes = SH.frames;
    m2p_first = SH.m2p_first;
    m2p_entries = SH.m2p_entries;
    hv(SBI_HVLAB_SET_CALLBACKS, (u64)pv_uservec, (u64)pv_kernelvec, 0);
    pv = pv_pv_ops;
}

// ---- grant tables and event channels (docs/pv-abi.md, ABI 1.2; split.c) -----

struct sbiret pv_split_call(u64 fid, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
    register u64 r0 asm("a0") = a0;
    register u64 r1 asm("a1") = a1;
    register u64 r2 asm("a2") = a2;
    register u64 r3 asm("a3") = a3;
    register u64 r4 asm("a4") = a4;
    register u64 r5 asm("a5") = a5;
    register u64 r6 asm("a6") = fid;
    register u64 r7 asm("a7") = SBI_EXT_HVLAB;
    asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7)
                 : "memory");
    return (struct sbiret){ (long)r0, (long)r1 };
}

int pv_is_pv(void) { return pv.set_pte == pv_set_pte; }

// The events that came (their pending bits), taken: the bits are cleared.
u64 pv_events_take(void)
{
    u64 e = SH.evtchn_pending;
    SH.evtchn_pending = 0;
    return e;
}

// Map another VM's grant `ref` over the kernel page `page` (a page of the
// kernel's map of RAM, now unused): its leaf is cleared, then the
// hypervisor writes the granted frame into that same entry (the entry is
// the mapping's slot: GNTMAP_contains_pte). Returns the handle, or < 0.
long pv_grant_map_over(void *page, u64 domid, u64 ref)
{
    pte_t *leaf = kmap_leaf((u64)page);
    pte_t keep = pv_read_pte(leaf);
    pv_set_pte(leaf, 0);
    pv_flush();
    struct sbiret r = pv_split_call(SBI_HVLAB_GRANT_TABLE_OP, 0 /* GNTTABOP_map_grant_ref */, domid, ref,
                                    to_machine_addr((u64)leaf), 0, 0);
    if (r.error) {
        pv_set_pte(leaf, keep);
        pv_flush();
        return r.error;
    }
    return r.value;
}

// End mapping `handle` over `page` and give the page its own frame back.
void pv_grant_unmap_over(void *page, long handle)
{
    pv_split_call(SBI_HVLAB_GRANT_TABLE_OP, 1 /* GNTTABOP_unmap_grant_ref */, (u64)handle, 0, 0, 0, 0);
    pv_set_pte(kmap_leaf((u64)page), PA2PTE((u64)page) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D | PTE_G);
    pv_flush();
}

// ---- PV-on-HVM ----------------------------------------------------------

static void pvh_idle(void)
{
    console_sync();
    pv_native_ops.idle();
}

static void __attribute__((noreturn)) pvh_return_to_user(struct trapframe *tf)
{
    console_sync();
    pv_native_ops.return_to_user(tf);
}

// Under hardware assist the MMU and the trap state are the hardware's; the
// console (a line per exit instead of UART register exits) and the timer
// are worth a hypercall.
void pv_hvm_init(void)
{
    pv = pv_native_ops;
    pv.name = "pv-on-hvm";
    pv.console_putc = pv_console_putc;
    pv.set_timer = pv_set_timer;
    pv.idle = pvh_idle;
    pv.return_to_user = pvh_return_to_user;
}
