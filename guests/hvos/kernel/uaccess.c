// Copying between the kernel and user memory. User pages are mapped with
// PTE_U, which the kernel cannot touch unless sstatus.SUM is set ("permit
// Supervisor User Memory access", §5.1.1.2). We check the range against the
// user's page table first, then open SUM only for the copy itself, so a
// stray kernel pointer into user memory faults everywhere else.
#include "defs.h"
#include "proc.h"
#include "pvops.h"

int copyin(void *dst, u64 user_src, u64 n)
{
    if (!uvm_range_ok(curproc->pagetable, user_src, n, 0))
        return E_FAULT;
    pv.sstatus_set(SSTATUS_SUM);
    memcpy(dst, (const void *)user_src, n);
    pv.sstatus_clear(SSTATUS_SUM);
    return 0;
}

int copyout(u64 user_dst, const void *src, u64 n)
{
    if (!uvm_range_ok(curproc->pagetable, user_dst, n, 1))
        return E_FAULT;
    pv.sstatus_set(SSTATUS_SUM);
    memcpy((void *)user_dst, src, n);
    pv.sstatus_clear(SSTATUS_SUM);
    return 0;
}

// Copy a NUL-terminated string of at most max-1 characters. Returns its
// length, E_FAULT for a bad pointer, E_INVAL if it is too long. The string
// may cross pages: each page is checked before SUM opens it.
int copyinstr(char *dst, u64 user_src, u64 max)
{
    u64 i = 0;
    while (i < max) {
        u64 a = user_src + i;
        u64 n = PGSIZE - (a & (PGSIZE - 1));       // bytes left in this page
        if (n > max - i)
            n = max - i;
        if (!uvm_range_ok(curproc->pagetable, a, 1, 0))
            return E_FAULT;
        pv.sstatus_set(SSTATUS_SUM);
        const volatile char *src = (const volatile char *)a;
        u64 k = 0;
        while (k < n && (dst[i + k] = src[k]) != 0)
            k++;
        pv.sstatus_clear(SSTATUS_SUM);
        if (k < n)
            return (int)(i + k);
        i += n;
    }
    return E_INVAL;
}
