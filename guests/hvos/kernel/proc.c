// Processes: creation from an embedded program (spawn), exit, wait and kill.
//
// hvos runs on one hart and the kernel runs with interrupts off (except in
// the idle loop, which holds no process state), so the process table needs no
// locks: nothing else can run between two kernel statements.
#include "defs.h"
#include "memlayout.h"
#include "proc.h"
#include "pvops.h"
#include "sbi.h"

struct proc procs[NPROC];
struct proc *curproc;
static int next_pid = 1;
static u8 kstacks[NPROC][KSTACK_SIZE] __attribute__((aligned(16)));

static const char *const state_names[] = {
    [UNUSED] = "unused", [RUNNABLE] = "runnable", [RUNNING] = "running",
    [SLEEPING] = "sleeping", [ZOMBIE] = "zombie",
};

void proc_init(void)
{
    for (int i = 0; i < NPROC; i++) {
        procs[i].state = UNUSED;
        procs[i].kstack = kstacks[i];
        procs[i].asid = (u16)(i + 1);    // ASID 0 is the kernel's own table
    }
}

// The first time the scheduler switches to a process, swtch "returns" here,
// on the new process's kernel stack; from here it enters user mode.
static void proc_first_run(void)
{
    user_return(curproc);
}

static struct proc *proc_alloc(void)
{
    struct proc *p = NULL;
    for (int i = 0; i < NPROC; i++) {
        if (procs[i].state == UNUSED) {
            p = &procs[i];
            break;
        }
    }
    if (!p)
        return NULL;
    u8 *kstack = p->kstack;
    u16 asid = p->asid;
    memset(p, 0, sizeof(*p));
    p->kstack = kstack;
    p->asid = asid;
    p->pagetable = uvm_create();
    if (!p->pagetable)
        return NULL;
    p->pid = next_pid++;
    p->mmap_next = USER_MMAP_BASE;
    u64 ktop = (u64)kstack + KSTACK_SIZE;
    p->tf.kernel_sp = ktop;
    p->ctx.sp = ktop;
    p->ctx.ra = (u64)proc_first_run;
    return p;
}

void proc_free(struct proc *p)
{
    uvm_destroy(p);
    p->state = UNUSED;
}

// Lay out argc/argv at the top of the new stack, in the top page, which the
// kernel reaches through its identity map of RAM (no SUM needed):
//
//   USER_STACK_TOP ->  the argument strings
//                      argv[0..argc-1], NULL   (16-byte aligned)
//   sp             ->
static int push_args(struct proc *p, char **argv, int argc)
{
    u64 top_page = USER_STACK_TOP - PGSIZE;
    u8 *kpage = (u8 *)uvm_user_pa(p->pagetable, top_page);
    u64 uptrs[MAXARGS + 1];
    u64 off = PGSIZE;
    for (int i = argc - 1; i >= 0; i--) {
        u64 len = strlen(argv[i]) + 1;
        if (len > off)
            return E_INVAL;
        off -= len;
        memcpy(kpage + off, argv[i], len);
        uptrs[i] = top_page + off;
    }
    uptrs[argc] = 0;
    u64 bytes = (u64)(argc + 1) * sizeof(u64);
    if (bytes + 16 > off)
        return E_INVAL;
    off = (off - bytes) & ~15UL;
    memcpy(kpage + off, uptrs, bytes);
    p->tf.regs[REG_SP] = top_page + off;
    p->tf.regs[REG_A0] = (u64)argc;
    p->tf.regs[REG_A1] = top_page + off;
    return 0;
}

// Create a process running program `name` with arguments argv[0..argc-1].
// Returns its pid or a negative error.
int proc_spawn(struct proc *parent, const char *name, char **argv, int argc)
{
    const struct program *prog = program_find(name);
    if (!prog)
        return E_NOENT;
    struct proc *p = proc_alloc();
    if (!p)
        return E_AGAIN;
    strlcpy(p->name, name, sizeof(p->name));

    u64 entry;
    int err = elf_load(p, prog->start, (u64)(prog->end - prog->start), &entry);
    if (!err)
        err = uvm_alloc(p, USER_STACK_TOP - USER_STACK_PAGES * PGSIZE, USER_STACK_PAGES,
                        PTE_R | PTE_W);
    if (!err)
        err = push_args(p, argv, argc);
    if (err) {
        proc_free(p);
        return err;
    }
    p->tf.epc = entry;
    p->parent = parent;
    pv.flush_tlb_asid(p->asid);      // order the new PTEs before its first run

    // What the shell (pid 1) starts is a foreground job in its own process
    // group; a job's own children join its group, so Ctrl-C stops them all.
    if (!parent || parent->pid == 1) {
        p->pgid = p->pid;
        if (parent)
            console_set_foreground(p->pgid);
    } else {
        p->pgid = parent->pgid;
    }
    p->state = RUNNABLE;
    return p->pid;
}

void proc_exit(int status)
{
    struct proc *p = curproc;
    if (p->pid == 1) {
        kprintf("hvos: init (%s) exited with status %d, powering off\n", p->name, status);
        console_drain();
        sbi_call(SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, SBI_SRST_TYPE_SHUTDOWN,
                 SBI_SRST_REASON_NONE, 0);
        panic("proc_exit: SBI shutdown returned");
    }
    // Orphans are detached: a zombie one is freed now, a live one frees
    // itself when it exits (below).
    for (int i = 0; i < NPROC; i++) {
        struct proc *c = &procs[i];
        if (c->parent == p && c->state != UNUSED) {
            c->parent = NULL;
            if (c->state == ZOMBIE)
                proc_free(c);
        }
    }
    if (console_foreground() == p->pgid && p->pgid == p->pid)
        console_set_foreground(0);

    // Leave our address space before freeing it.
    vm_switch(NULL);
    uvm_destroy(p);
    p->xstatus = status;
    if (p->parent) {
        p->state = ZOMBIE;
        wakeup(p->parent);
    } else {
        // Nobody will wait for us. Our kernel stack is still in use until
        // sched() switches away, but nothing can reuse the slot before then:
        // no other code runs in between.
        p->state = UNUSED;
    }
    sched();
    panic("proc_exit: zombie %d ran", p->pid);
}

// Wait for the child `pid` (or any child if pid is -1) to exit; store its
// status at user_status (if nonzero) and return its pid.
int proc_wait(int pid, u64 user_status)
{
    struct proc *p = curproc;
    for (;;) {
        int found = 0;
        for (int i = 0; i < NPROC; i++) {
            struct proc *c = &procs[i];
            if (c->parent != p || c->state == UNUSED || (pid != -1 && c->pid != pid))
                continue;
            found = 1;
            if (c->state == ZOMBIE) {
                int cpid = c->pid;
                int status = c->xstatus;
                proc_free(c);
                if (user_status && copyout(user_status, &status, sizeof(status)) < 0)
                    return E_FAULT;
                return cpid;
            }
        }
        if (!found)
            return E_CHILD;
        if (p->killed)
            return E_INTR;
        sleep_on(p);
    }
}

// Mark every process in group pgid to exit with `status`; sleepers wake to
// notice (each sleeping system call checks `killed`).
void proc_kill_group(int pgid, int status)
{
    for (int i = 0; i < NPROC; i++) {
        struct proc *p = &procs[i];
        if (p->pgid != pgid || p->state == UNUSED || p->state == ZOMBIE)
            continue;
        p->killed = status;
        if (p->state == SLEEPING)
            p->state = RUNNABLE;
    }
}

int proc_list(u64 user_buf, int max)
{
    int n = 0;
    for (int i = 0; i < NPROC && n < max; i++) {
        struct proc *p = &procs[i];
        if (p->state == UNUSED)
            continue;
        struct procinfo info;
        memset(&info, 0, sizeof(info));
        info.pid = p->pid;
        info.ppid = p->parent ? p->parent->pid : 0;
        strlcpy(info.state, state_names[p->state], sizeof(info.state));
        strlcpy(info.name, p->name, sizeof(info.name));
        info.pages = p->pages;
        if (copyout(user_buf + (u64)n * sizeof(info), &info, sizeof(info)) < 0)
            return E_FAULT;
        n++;
    }
    return n;
}

const char *fault_name(u64 scause)
{
    switch (scause) {
    case EXC_INST_MISALIGNED:  return "instruction address misaligned";
    case EXC_INST_ACCESS:      return "instruction access fault";
    case EXC_ILLEGAL_INST:     return "illegal instruction";
    case EXC_BREAKPOINT:       return "breakpoint";
    case EXC_LOAD_MISALIGNED:  return "load address misaligned";
    case EXC_LOAD_ACCESS:      return "load access fault";
    case EXC_STORE_MISALIGNED: return "store address misaligned";
    case EXC_STORE_ACCESS:     return "store access fault";
    case EXC_ECALL_S:          return "environment call from S-mode";
    case EXC_INST_PAGE_FAULT:  return "instruction page fault";
    case EXC_LOAD_PAGE_FAULT:  return "load page fault";
    case EXC_STORE_PAGE_FAULT: return "store page fault";
    default:                   return "unknown exception";
    }
}
