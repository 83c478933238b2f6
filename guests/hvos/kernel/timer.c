// Time: the time CSR counts at the timebase frequency from the device tree
// (10 MHz on QEMU virt and hvlab), and SBI TIME raises one S-mode timer
// interrupt at a chosen deadline.
//
// hvos keeps a periodic tick (every 1/TICK_HZ s) only while some process is
// runnable, to preempt it; when idle it arms the timer only for the earliest
// sleeper, or not at all. A machine waiting for input is then truly idle
// (WFI with no timer), which is what hvlab waits for before it delivers the
// next line of scripted input.
#include "defs.h"
#include "param.h"
#include "pvops.h"

static u64 boot_ticks;
static u64 armed = TIME_NEVER;

void timer_init(void)
{
    if (plat.timebase_hz == 0)
        plat.timebase_hz = 10000000;
    boot_ticks = pv.read_time();
    pv.set_timer(TIME_NEVER);
}

u64 timer_now(void)
{
    return pv.read_time();
}

u64 timer_us(void)
{
    u64 t = timer_now() - boot_ticks, hz = plat.timebase_hz;
    return t / hz * 1000000 + t % hz * 1000000 / hz;
}

u64 timer_ms_to_ticks(u64 ms)
{
    return ms * (plat.timebase_hz / 1000);
}

u64 timer_slice(void)
{
    return plat.timebase_hz / TICK_HZ;
}

u64 timer_armed(void)
{
    return armed;
}

// Program the next timer interrupt; an SBI call only if the deadline changed.
void timer_arm(u64 deadline)
{
    if (deadline == armed)
        return;
    armed = deadline;
    pv.set_timer(deadline);
}

// The timer fired. SBI set_timer is the only way to clear the pending bit,
// so disarm first, then wake sleepers; the scheduler re-arms.
void timer_interrupt(void)
{
    timer_arm(TIME_NEVER);
    wake_sleepers(timer_now());
}
