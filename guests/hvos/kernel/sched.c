// The scheduler: round robin over the process table, preempted by the timer.
//
// The scheduler runs on the boot stack in its own context. A process gives up
// the CPU by calling sched() (from yield, sleep_on or exit), which switches
// to the scheduler; the scheduler picks the next runnable process after the
// one it ran last, switches to its address space and to its kernel context.
#include "defs.h"
#include "proc.h"
#include "pvops.h"

extern struct proc procs[NPROC];
static struct context sched_ctx;
static int sleep_chan;               // the channel of sleep()ing processes

static struct proc *pick_next(int *last)
{
    for (int k = 1; k <= NPROC; k++) {
        int i = (*last + k) % NPROC;
        if (procs[i].state == RUNNABLE) {
            *last = i;
            return &procs[i];
        }
    }
    return NULL;
}

static u64 next_wake(void)
{
    u64 t = TIME_NEVER;
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == SLEEPING && procs[i].wake_time && procs[i].wake_time < t)
            t = procs[i].wake_time;
    return t;
}

void scheduler(void)
{
    int last = NPROC - 1;
    for (;;) {
        struct proc *p = pick_next(&last);
        u64 wake = next_wake();
        if (!p) {
            // Nothing to run: no periodic tick, only the next sleeper.
            timer_arm(wake);
            pv.idle();
            continue;
        }
        // Keep the running tick if one is armed (a slice is a tick period,
        // not per process: it costs no SBI call per switch), else start one.
        u64 tick = timer_armed() != TIME_NEVER ? timer_armed() : timer_now() + timer_slice();
        timer_arm(wake < tick ? wake : tick);

        p->state = RUNNING;
        curproc = p;
        vm_switch(p);
        swtch(&sched_ctx, &p->ctx);
        curproc = NULL;
    }
}

// Switch from the current process to the scheduler. The caller has already
// changed curproc->state.
void sched(void)
{
    swtch(&curproc->ctx, &sched_ctx);
}

void yield(void)
{
    curproc->state = RUNNABLE;
    sched();
}

// Sleep until wakeup(chan). Callers re-check their condition in a loop.
void sleep_on(void *chan)
{
    curproc->chan = chan;
    curproc->state = SLEEPING;
    sched();
    curproc->chan = NULL;
}

void wakeup(void *chan)
{
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == SLEEPING && procs[i].chan == chan)
            procs[i].state = RUNNABLE;
}

void sleep_until(u64 deadline)
{
    curproc->wake_time = deadline;
    sleep_on(&sleep_chan);
    curproc->wake_time = 0;
}

void wake_sleepers(u64 now)
{
    for (int i = 0; i < NPROC; i++) {
        struct proc *p = &procs[i];
        if (p->state == SLEEPING && p->wake_time && p->wake_time <= now)
            p->state = RUNNABLE;
    }
}
