// L2's G-stage table: Sv39x4 (privileged spec 8.5.1), guest-physical -> L1-physical, in
// 4 KiB pages only. The root covers 41 bits of guest-physical address and is four times an
// ordinary table (2048 entries, 16 KiB, 16 KiB aligned); the two levels below are ordinary.
//
//   gPA  40        30 29     21 20     12 11        0
//       | VPN[2] (11) | VPN[1] | VPN[0] | page offset |
//
// Only L2's RAM is mapped: the emulated devices' addresses and everything else fault
// (guest-page faults 20, 21, 23), which is how L1 sees L2's device accesses at all.
#include "hvisor.h"

#define ROOT_ENTRIES 2048
#define TABLE_ENTRIES 512
// 32 MiB of 4 KiB pages need 16 leaf tables under one middle table.
#define POOL_TABLES ((L2_RAM_SIZE >> 21) + 2)

static u64 root[ROOT_ENTRIES] __attribute__((aligned(16384)));
static u64 pool[POOL_TABLES][TABLE_ENTRIES] __attribute__((aligned(4096)));
static int pool_used;
static u64 mapped_pages;

static u64 *table_alloc(void)
{
    if (pool_used == POOL_TABLES)
        panic("gstage: out of table pages");
    u64 *t = pool[pool_used++];
    memset(t, 0, PAGE_SIZE);
    return t;
}

static u64 vpn(u64 gpa, int level)
{
    return (gpa >> (PAGE_SHIFT + 9 * level)) & (level == 2 ? ROOT_ENTRIES - 1 : TABLE_ENTRIES - 1);
}

// The leaf PTE for gpa; with alloc, creates the missing tables. 0 if there is none.
static u64 *walk(u64 gpa, int alloc)
{
    u64 *t = root;
    for (int level = 2; level > 0; level--) {
        u64 *pte = &t[vpn(gpa, level)];
        if (!(*pte & PTE_V)) {
            if (!alloc)
                return 0;
            u64 *next = table_alloc();
            *pte = (((u64)next >> PAGE_SHIFT) << PTE_PPN_SHIFT) | PTE_V;
        }
        t = (u64 *)((*pte >> PTE_PPN_SHIFT) << PAGE_SHIFT);
    }
    return &t[vpn(gpa, 0)];
}

void gstage_map(u64 gpa, u64 hpa, u64 size)
{
    for (u64 off = 0; off < size; off += PAGE_SIZE) {
        u64 *pte = walk(gpa + off, 1);
        if (*pte & PTE_V)
            panic("gstage_map: remap of gpa %x", gpa + off);
        // A and D preset: L1 does not track L2's accesses, and hardware that faults on
        // clear A/D bits (Svade) would otherwise exit on every first touch.
        *pte = (((hpa + off) >> PAGE_SHIFT) << PTE_PPN_SHIFT) |
               PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D;
        mapped_pages++;
    }
}

u64 gstage_hgatp(void)
{
    return HGATP_MODE_SV39X4 | ((u64)L2_VMID << HGATP_VMID_SHIFT) | ((u64)root >> PAGE_SHIFT);
}

u64 gstage_pages(void)
{
    return mapped_pages;
}

// gPA -> L1-physical through the table, as the hardware's G-stage would.
int gstage_translate(u64 gpa, u64 *hpa)
{
    if (gpa >> 41)
        return 0;
    u64 *pte = walk(gpa, 0);
    if (!pte || !(*pte & PTE_V))
        return 0;
    *hpa = ((*pte >> PTE_PPN_SHIFT) << PAGE_SHIFT) | (gpa & (PAGE_SIZE - 1));
    return 1;
}

// An L1 pointer to L2's [gpa, gpa + len), or 0 unless all of it is mapped guest RAM. Pages
// are translated one by one and must be contiguous in L1 (they are: L2's RAM is carved as
// one block), so a range is never read past a page L2 does not own.
void *gpa_ptr(u64 gpa, u64 len)
{
    u64 first, hpa;
    if (len == 0 || gpa + len < gpa || !gstage_translate(gpa, &first))
        return 0;
    for (u64 page = (gpa & ~(PAGE_SIZE - 1)) + PAGE_SIZE; page < gpa + len; page += PAGE_SIZE)
        if (!gstage_translate(page, &hpa) || hpa != first + (page - gpa))
            return 0;
    return (void *)first;
}
