// The physical page allocator: 4 KiB pages from the end of the kernel image
// to the end of RAM.
//
// Pages never handed out yet come from a bump pointer; freed pages go on a
// free list threaded through the pages themselves. So boot costs nothing
// (no pass over 128 MiB to build a list), and a page is zeroed only when it
// is allocated, which also guarantees no process sees another's data.
#include "defs.h"

struct run {
    struct run *next;
};

static struct run *freelist;
static u64 bump, limit;
static u64 nfree;
static u64 lo;

void kalloc_init(u64 start, u64 end)
{
    lo = bump = PGROUNDUP(start);
    limit = PGROUNDDOWN(end);
    nfree = (limit - bump) / PGSIZE;
}

void *kalloc(void)
{
    void *page;
    if (freelist) {
        page = freelist;
        freelist = freelist->next;
    } else if (bump < limit) {
        page = (void *)bump;
        bump += PGSIZE;
    } else {
        return NULL;
    }
    nfree--;
    memset(page, 0, PGSIZE);
    return page;
}

void kfree(void *page)
{
    u64 pa = (u64)page;
    if ((pa & (PGSIZE - 1)) || pa < lo || pa >= bump)
        panic("kfree: bad page %p", page);
    struct run *r = page;
    r->next = freelist;
    freelist = r;
    nfree++;
}

// 2 MiB of zeroed, physically contiguous pages aligned to 2 MiB, for a megapage
// (`hugepages`). Taken from the bump pointer only: the free list is not sorted, so
// it seldom holds 512 neighbours. The pages skipped to reach the alignment go on
// the free list. They are freed one by one (kfree), like any others.
void *kalloc_huge(void)
{
    u64 a = (bump + MEGAPAGE - 1) & ~(u64)(MEGAPAGE - 1);
    if (a + MEGAPAGE > limit || a + MEGAPAGE < a)
        return NULL;
    while (bump < a) {
        struct run *r = (struct run *)bump;
        r->next = freelist;
        freelist = r;
        bump += PGSIZE;
    }
    bump += MEGAPAGE;
    nfree -= MEGAPAGE / PGSIZE;
    memset((void *)a, 0, MEGAPAGE);
    return (void *)a;
}

u64 kalloc_free_pages(void)
{
    return nfree;
}
