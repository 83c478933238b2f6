// System calls: the number in a7, arguments in a0..a5, the result in a0.
// Every pointer from user space is checked (uaccess.c) before it is used.
#include "defs.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"
#include "sbi.h"

static u64 arg(struct trapframe *tf, int n)
{
    return tf->regs[REG_A0 + n];
}

static i64 sys_write(struct trapframe *tf)
{
    u64 fd = arg(tf, 0);
    if (fd != 1 && fd != 2)
        return E_INVAL;
    return console_write(arg(tf, 1), arg(tf, 2));
}

static i64 sys_read(struct trapframe *tf)
{
    if (arg(tf, 0) != 0)
        return E_INVAL;
    return console_read(arg(tf, 1), arg(tf, 2));
}

static i64 sys_exit(struct trapframe *tf)
{
    proc_exit((int)(arg(tf, 0) & 0xFF));
}

// spawn(name, argv): argv is a NULL-terminated array of string pointers.
static i64 sys_spawn(struct trapframe *tf)
{
    char name[MAXNAME];
    char strings[MAXARGLEN];
    char *argv[MAXARGS + 1];
    int r = copyinstr(name, arg(tf, 0), sizeof(name));
    if (r < 0)
        return r == E_INVAL ? E_NOENT : r;   // a name that long names nothing
    u64 uargv = arg(tf, 1);
    int argc = 0;
    u64 used = 0;
    for (;; argc++) {
        u64 uarg;
        if (copyin(&uarg, uargv + (u64)argc * sizeof(u64), sizeof(uarg)) < 0)
            return E_FAULT;
        if (uarg == 0)
            break;
        if (argc == MAXARGS)
            return E_INVAL;
        int len = copyinstr(strings + used, uarg, MAXARGLEN - used);
        if (len < 0)
            return len;
        argv[argc] = strings + used;
        used += (u64)len + 1;
    }
    argv[argc] = NULL;
    return proc_spawn(curproc, name, argv, argc);
}

static i64 sys_wait(struct trapframe *tf)
{
    return proc_wait((int)arg(tf, 0), arg(tf, 1));
}

static i64 sys_getpid(struct trapframe *tf)
{
    (void)tf;
    return curproc->pid;
}

static i64 sys_yield(struct trapframe *tf)
{
    (void)tf;
    yield();
    return 0;
}

static i64 sys_sleep(struct trapframe *tf)
{
    u64 ms = arg(tf, 0);
    if (ms > 24UL * 3600 * 1000)
        return E_INVAL;
    u64 deadline = timer_now() + timer_ms_to_ticks(ms);
    while (timer_now() < deadline) {
        if (curproc->killed)
            return E_INTR;
        sleep_until(deadline);
    }
    return 0;
}

// map(va, len): len rounded up to pages. va == 0 lets the kernel choose, from
// a pointer that only moves up (simple; address space is plentiful).
static i64 sys_map(struct trapframe *tf)
{
    u64 va = arg(tf, 0), len = arg(tf, 1);
    u64 npages = (len + PGSIZE - 1) / PGSIZE;
    if (len == 0 || npages > MAX_MAP_PAGES || (va & (PGSIZE - 1)))
        return E_INVAL;
    struct proc *p = curproc;
    int chosen = va == 0;
    if (chosen)
        va = p->mmap_next;
    if (va < USER_MMAP_BASE || va + npages * PGSIZE > USER_MMAP_TOP)
        return chosen ? E_NOMEM : E_INVAL;
    int r = plat.hugepages ? uvm_alloc_huge(p, va, npages, PTE_R | PTE_W)
                           : uvm_alloc(p, va, npages, PTE_R | PTE_W);
    if (r < 0)
        return r;
    if (chosen)
        p->mmap_next = va + npages * PGSIZE;
    return (i64)va;
}

static i64 sys_unmap(struct trapframe *tf)
{
    u64 va = arg(tf, 0), len = arg(tf, 1);
    u64 npages = (len + PGSIZE - 1) / PGSIZE;
    if ((va & (PGSIZE - 1)) || npages > MAX_MAP_PAGES || va < USER_MMAP_BASE ||
        va + npages * PGSIZE > USER_MMAP_TOP)
        return E_INVAL;
    if (plat.hugepages)
        uvm_unmap_huge(curproc, va, npages);
    else
        uvm_unmap(curproc, va, npages);
    return 0;
}

static i64 sys_time(struct trapframe *tf)
{
    (void)tf;
    return (i64)timer_us();
}

static i64 sys_ps(struct trapframe *tf)
{
    return proc_list(arg(tf, 0), (int)arg(tf, 1));
}

static i64 sys_poweroff(struct trapframe *tf)
{
    (void)tf;
    kprintf("hvos: powering off\n");
    console_drain();
    sbi_call(SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, SBI_SRST_TYPE_SHUTDOWN,
             SBI_SRST_REASON_NONE, 0);
    panic("sys_poweroff: SBI shutdown returned");
}

static i64 sys_blkinfo(struct trapframe *tf)
{
    return blk_info(arg(tf, 0));
}

static i64 sys_blkread(struct trapframe *tf)
{
    return blk_rw(0, arg(tf, 0), arg(tf, 1), arg(tf, 2));
}

static i64 sys_blkwrite(struct trapframe *tf)
{
    return blk_rw(1, arg(tf, 0), arg(tf, 1), arg(tf, 2));
}

static i64 sys_blkflush(struct trapframe *tf)
{
    (void)tf;
    return blk_flush();
}

static i64 sys_random(struct trapframe *tf)
{
    return rng_read(arg(tf, 0), arg(tf, 1));
}

// consput(domid, buf, len): a driver domain queues input for the console of
// frontend `domid` (split.c, consback). At most 256 bytes a call.
static i64 sys_consput(struct trapframe *tf)
{
    char buf[256];
    u64 n = arg(tf, 2);
    if (arg(tf, 0) > 0xFFFF || n > sizeof(buf))
        return E_INVAL;
    if (copyin(buf, arg(tf, 1), n) < 0)
        return E_FAULT;
    return cons_back_put((u32)arg(tf, 0), buf, (u32)n);
}

static i64 (*const syscalls[])(struct trapframe *) = {
    [SYS_write] = sys_write,
    [SYS_read] = sys_read,
    [SYS_exit] = sys_exit,
    [SYS_spawn] = sys_spawn,
    [SYS_wait] = sys_wait,
    [SYS_getpid] = sys_getpid,
    [SYS_yield] = sys_yield,
    [SYS_sleep] = sys_sleep,
    [SYS_map] = sys_map,
    [SYS_unmap] = sys_unmap,
    [SYS_time] = sys_time,
    [SYS_ps] = sys_ps,
    [SYS_poweroff] = sys_poweroff,
    [SYS_blkinfo] = sys_blkinfo,
    [SYS_blkread] = sys_blkread,
    [SYS_blkwrite] = sys_blkwrite,
    [SYS_blkflush] = sys_blkflush,
    [SYS_random] = sys_random,
    [SYS_consput] = sys_consput,
};

void syscall(struct trapframe *tf)
{
    u64 n = tf->regs[REG_A7];
    i64 r = E_NOSYS;
    if (n < ARRAY_SIZE(syscalls) && syscalls[n])
        r = syscalls[n](tf);
    tf->regs[REG_A0] = (u64)r;
}
