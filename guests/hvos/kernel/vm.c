// Sv39 virtual memory: the kernel's mappings and each process's address space.
//
// Every process has its own root table. Its slots 0 and 1 (0..2 GiB) hold the
// user's mappings; the remaining slots are copied from the kernel's root, so
// the kernel is mapped in every address space (global pages, not tagged by
// ASID) and a trap needs no satp switch. User pages carry PTE_U, which makes
// them inaccessible to the kernel unless sstatus.SUM is set (uaccess.c).
//
// Every PTE store goes through pv.set_pte, every PTE read through pv.read_pte
// and every TLB flush through pv.flush_*.
#include "defs.h"
#include "memlayout.h"
#include "proc.h"
#include "pvops.h"

extern char __text_end[], __data_start[], __kernel_end[];

static pagetable_t kernel_root;
u64 kernel_satp;
static int asid_bits;
static u64 cur_satp;

// Sv39 virtual address (§5.4.1):
//
//   38        30 29        21 20        12 11           0
//  |  VPN[2]    |  VPN[1]    |  VPN[0]    |  page offset  |
//
// Walk from the root (level 2) down to `level`, returning the address of the
// PTE for va at that level. With alloc set, missing tables are allocated
// (zeroed, so all their entries are invalid before they are linked in).
// Returns NULL if a table is missing (or cannot be allocated), or if a
// superpage leaf is in the way.
static pte_t *walk(pagetable_t root, u64 va, int level, int alloc)
{
    pagetable_t table = root;
    for (int l = 2; l > level; l--) {
        pte_t *pte = &table[PX(l, va)];
        pte_t e = pv.read_pte(pte);
        if (e & PTE_V) {
            if (e & PTE_LEAF_BITS)
                return NULL;
            table = (pagetable_t)PTE2PA(e);
        } else {
            if (!alloc)
                return NULL;
            pagetable_t next = kalloc();
            if (!next)
                return NULL;
            pv.alloc_table(next);
            pv.set_pte(pte, PA2PTE(next) | PTE_V);
            table = next;
        }
    }
    return &table[PX(level, va)];
}

// A leaf gets A (and D if writable) set up front: hvos does not use the
// accessed/dirty bits, and hardware that does not set them itself (Svade)
// would otherwise fault on the first access.
static pte_t leaf_bits(u64 perm)
{
    return perm | PTE_V | PTE_A | ((perm & PTE_W) ? PTE_D : 0);
}

// Map [va, va+size) to [pa, pa+size) in the kernel table, with 2 MiB
// megapages where alignment allows and 4 KiB pages elsewhere.
static void kmap(u64 va, u64 pa, u64 size, u64 perm)
{
    u64 end = va + size;
    while (va < end) {
        int level = ((va | pa) & (MEGAPAGE - 1)) == 0 && end - va >= MEGAPAGE &&
                    !(pv.mmu_flags & PVMMU_4K_ONLY) ? 1 : 0;
        pte_t *pte = walk(kernel_root, va, level, 1);
        if (!pte)
            panic("kmap: out of memory at %p", (void *)va);
        if (pv.read_pte(pte) & PTE_V)
            panic("kmap: remap %p", (void *)va);
        pv.set_pte(pte, PA2PTE(pa) | leaf_bits(perm | PTE_G));
        u64 step = level ? MEGAPAGE : PGSIZE;
        va += step;
        pa += step;
    }
}

// The kernel's address space: its image with per-section permissions, all
// RAM after it (identity mapped, so physical pages are directly usable), and
// the device registers high up.
void kvm_init(void)
{
    kernel_root = kalloc();
    pv.alloc_table(kernel_root);
    u64 text = KERNEL_BASE, rodata = (u64)__text_end, data = (u64)__data_start;
    u64 ram_end = plat.mem_base + plat.mem_size;
    if (plat.hugepages) {
        // `hugepages`: the image too in megapages (it starts 2 MiB-aligned), read, write and
        // execute, as a kernel that trades W^X for TLB reach does (Linux without
        // strict kernel RWX); every translation of the kernel is then a 2 MiB one.
        kmap(text, text, ram_end - text, PTE_R | PTE_W | PTE_X);
    } else {
        kmap(text, text, rodata - text, PTE_R | PTE_X);
        kmap(rodata, rodata, data - rodata, PTE_R);
        kmap(data, data, ram_end - data, PTE_R | PTE_W);
    }
    kmap(DEV_VA(PGROUNDDOWN(plat.uart_base)), PGROUNDDOWN(plat.uart_base), PGSIZE,
         PTE_R | PTE_W);
    // Priorities, enables and this hart's threshold/claim registers.
    u64 plic_size = PGROUNDUP(0x200000 + 0x1000 * (u64)(plat.plic_context + 1));
    kmap(DEV_VA(plat.plic_base), plat.plic_base, plic_size, PTE_R | PTE_W);
    // One register page per virtio-mmio slot and for emudisk (devices.c).
    for (int i = 0; i < plat.virtio_slots && i < MAX_VIRTIO_SLOTS; i++)
        if (plat.virtio_base[i])
            kmap(DEV_VA(PGROUNDDOWN(plat.virtio_base[i])), PGROUNDDOWN(plat.virtio_base[i]),
                 PGSIZE, PTE_R | PTE_W);
    if (plat.found_emudisk)
        kmap(DEV_VA(PGROUNDDOWN(plat.emudisk_base)), PGROUNDDOWN(plat.emudisk_base), PGSIZE,
             PTE_R | PTE_W);
    kernel_satp = MAKE_SATP(kernel_root, 0);
}

// Turn paging on, and find out how many ASID bits the hart implements by
// writing all ones and reading back (§5.1.11): fewer than we need and every
// address-space switch must flush the whole TLB instead.
void kvm_enable(void)
{
    pv.set_satp(kernel_satp);
    pv.flush_tlb_all();
    pv.set_satp(MAKE_SATP(kernel_root, SATP_ASID_MASK));
    u64 asids = (pv.get_satp() >> SATP_ASID_SHIFT) & SATP_ASID_MASK;
    pv.set_satp(kernel_satp);
    pv.flush_tlb_all();
    cur_satp = kernel_satp;
    while (asids & 1) {
        asid_bits++;
        asids >>= 1;
    }
}

int vm_asids(void)
{
    return (1 << asid_bits) > NPROC;
}

void vm_switch(struct proc *p)
{
    u64 satp = p ? MAKE_SATP(p->pagetable, vm_asids() ? p->asid : 0) : kernel_satp;
    if (satp == cur_satp)
        return;
    cur_satp = satp;
    pv.set_satp(satp);
    if (!vm_asids())
        pv.flush_tlb_all();
}

// A new address space: an empty user half and the shared kernel half.
pagetable_t uvm_create(void)
{
    pagetable_t root = kalloc();
    if (!root)
        return NULL;
    pv.alloc_table(root);
    for (int i = USER_ROOT_SLOTS; i < 512; i++) {
        pte_t e = pv.read_pte(&kernel_root[i]);
        if (e & PTE_V)
            pv.set_pte(&root[i], e);
    }
    return root;
}

// Map npages fresh zeroed pages at va with permissions perm (PTE_R/W/X).
// All or nothing: on failure nothing stays mapped.
int uvm_alloc(struct proc *p, u64 va, u64 npages, u64 perm)
{
    for (u64 i = 0; i < npages; i++) {
        u64 a = va + i * PGSIZE;
        pte_t *pte = walk(p->pagetable, a, 0, 1);
        void *page = NULL;
        if (!pte || (pv.read_pte(pte) & PTE_V) || !(page = kalloc())) {
            uvm_unmap(p, va, i);
            return pte && (pv.read_pte(pte) & PTE_V) ? E_INVAL : E_NOMEM;
        }
        pv.set_pte(pte, PA2PTE(page) | leaf_bits(perm | PTE_U));
        p->pages++;
        // Even an invalid-to-valid change needs sfence.vma: it is what orders
        // the PTE store before the hart's later page walks (privileged spec,
        // "Supervisor Memory-Management Fence Instruction"). A process that is
        // not running yet gets one fence for its whole ASID (proc_spawn).
        if (p == curproc)
            pv.flush_tlb_page(a, p->asid);
    }
    return 0;
}

// Unmap and free npages at va (pages not mapped are skipped). The page-table
// pages stay, so a later map at the same place rewrites only leaf PTEs.
void uvm_unmap(struct proc *p, u64 va, u64 npages)
{
    for (u64 i = 0; i < npages; i++) {
        u64 a = va + i * PGSIZE;
        pte_t *pte = walk(p->pagetable, a, 0, 0);
        pte_t e = pte ? pv.read_pte(pte) : 0;
        if (!(e & PTE_V))
            continue;
        u64 pa = PTE2PA(e);
        pv.set_pte(pte, 0);
        pv.flush_tlb_page(a, p->asid);
        kfree((void *)pa);
        p->pages--;
    }
}

static void free_pages(u64 pa, u64 n)
{
    for (u64 k = 0; k < n; k++)
        kfree((void *)(pa + k * PGSIZE));
}

// ---- `hugepages`: the user heap (map) in megapages ----------------------------
//
// Each 2 MiB-aligned stretch a map call covers whole gets one level-1 leaf over
// 2 MiB from kalloc_huge; the rest, and any stretch kalloc_huge cannot serve, gets
// 4 KiB pages. pv keeps 4 KiB pages (PVMMU_4K_ONLY: its hypervisor validates
// frame by frame). An unmap that covers a megapage whole frees it; one that
// covers part of it splits it first into 512 4 KiB leaves.

static int huge_ok(u64 a, u64 left)
{
    return (a & (MEGAPAGE - 1)) == 0 && left >= MEGAPAGE / PGSIZE && !(pv.mmu_flags & PVMMU_4K_ONLY);
}

int uvm_alloc_huge(struct proc *p, u64 va, u64 npages, u64 perm)
{
    u64 i = 0;
    while (i < npages) {
        u64 a = va + i * PGSIZE;
        void *big = NULL;
        if (huge_ok(a, npages - i)) {
            pte_t *pte = walk(p->pagetable, a, 1, 1);
            if (pte && !(pv.read_pte(pte) & PTE_V) && (big = kalloc_huge()) != NULL) {
                pv.set_pte(pte, PA2PTE(big) | leaf_bits(perm | PTE_U));
                p->pages += MEGAPAGE / PGSIZE;
                if (p == curproc)
                    pv.flush_tlb_page(a, p->asid);
                i += MEGAPAGE / PGSIZE;
                continue;
            }
        }
        int r = uvm_alloc(p, a, 1, perm);
        if (r < 0) {
            uvm_unmap_huge(p, va, i);
            return r;
        }
        i++;
    }
    return 0;
}

void uvm_unmap_huge(struct proc *p, u64 va, u64 npages)
{
    u64 i = 0;
    while (i < npages) {
        u64 a = va + i * PGSIZE;
        pte_t *pte = walk(p->pagetable, a, 1, 0);
        pte_t e = pte ? pv.read_pte(pte) : 0;
        if ((e & PTE_V) && (e & PTE_LEAF_BITS)) {
            u64 base = a & ~(u64)(MEGAPAGE - 1);
            if (a == base && npages - i >= MEGAPAGE / PGSIZE) {
                pv.set_pte(pte, 0);
                pv.flush_tlb_page(a, p->asid);
                free_pages(PTE2PA(e), MEGAPAGE / PGSIZE);
                p->pages -= MEGAPAGE / PGSIZE;
                i += MEGAPAGE / PGSIZE;
                continue;
            }
            // Part of a megapage: 512 leaves with its rights in a new table, then as usual.
            pagetable_t t = kalloc();
            if (!t)
                panic("uvm_unmap_huge: out of memory splitting %p", (void *)base);
            pv.alloc_table(t);
            for (u64 k = 0; k < 512; k++)
                pv.set_pte(&t[k], PA2PTE(PTE2PA(e) + k * PGSIZE) | (e & PTE_FLAG_BITS));
            pv.set_pte(pte, PA2PTE(t) | PTE_V);
            pv.flush_tlb_page(base, p->asid);
        }
        uvm_unmap(p, a, 1);
        i++;
    }
}

static void free_table(pagetable_t table, int level)
{
    for (int i = 0; i < 512; i++) {
        pte_t pte = pv.read_pte(&table[i]);
        if (!(pte & PTE_V))
            continue;
        if (level > 0 && !(pte & PTE_LEAF_BITS))
            free_table((pagetable_t)PTE2PA(pte), level - 1);
        else if (level > 0)
            free_pages(PTE2PA(pte), MEGAPAGE / PGSIZE);   // a megapage (`hugepages`)
        else
            kfree((void *)PTE2PA(pte));
    }
    kfree(table);
}

// Free every user page, every user page-table page and the root. The caller
// must not be running on this address space.
void uvm_destroy(struct proc *p)
{
    pagetable_t root = p->pagetable;
    if (!root)
        return;
    pv.release_tables(root);
    for (int i = 0; i < USER_ROOT_SLOTS; i++) {
        pte_t e = pv.read_pte(&root[i]);
        if (e & PTE_V)
            free_table((pagetable_t)PTE2PA(e), 1);
    }
    kfree(root);
    p->pagetable = NULL;
    p->pages = 0;
    pv.flush_tlb_asid(p->asid);
}

pte_t *uvm_lookup(pagetable_t pt, u64 va)
{
    if (va >= USER_TOP)
        return NULL;
    pte_t *pte = walk(pt, va, 0, 0);
    if (!pte && plat.hugepages) {
        // A megapage in the way: its level-1 leaf has the rights for the whole 2 MiB.
        pte = walk(pt, va, 1, 0);
        if (pte && !(pv.read_pte(pte) & PTE_LEAF_BITS))
            pte = NULL;
    }
    return pte && (pv.read_pte(pte) & PTE_V) ? pte : NULL;
}

u64 uvm_user_pa(pagetable_t pt, u64 va)
{
    pte_t *pte = uvm_lookup(pt, va);
    return pte ? PTE2PA(pv.read_pte(pte)) | (va & (PGSIZE - 1)) : 0;
}

// May the kernel access [va, va+len) on the user's behalf? Checked page by
// page against the user's own permissions before any access with SUM set.
int uvm_range_ok(pagetable_t pt, u64 va, u64 len, int write)
{
    if (len == 0)
        return 1;
    if (va + len < va || va + len > USER_TOP)
        return 0;
    for (u64 a = PGROUNDDOWN(va); a < va + len; a += PGSIZE) {
        pte_t *pte = uvm_lookup(pt, a);
        pte_t e = pte ? pv.read_pte(pte) : 0;
        if (!(e & PTE_U) || !(e & (write ? PTE_W : PTE_R)))
            return 0;
    }
    return 1;
}
