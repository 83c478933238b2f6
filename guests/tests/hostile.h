/* hostile.h: what the hostile guests share (guests/tests/hostile-*.c).
 *
 * The hostile guests are S-mode kernels for the builtin firmware, linked at 0x80200000 and
 * entered through sbi-crt.S like the sbi guest. They run unchanged in every execution mode
 * (native, trap-emulate, hvm-shadow, hvm-nested) and do what a malicious or broken kernel
 * would: garbage page tables, PTEs and satp pointing outside their RAM, jumps into nothing,
 * illegal and hypervisor-only instructions, SBI calls with bad buffers, wrongly sized device
 * accesses, endless loops. Each must get the architecturally right guest-visible trap (its own
 * handler runs, with the right scause and stval) or a clean stop: never a host exception and
 * never a byte of memory that is not its own.
 *
 * A loaded value is printed as "read NAME=0x..": the host test fills the hypervisor's memory
 * with a pattern and checks that the pattern never shows up on the console. */
#ifndef HOSTILE_H
#define HOSTILE_H

#include "rt.h"

#define UNUSED __attribute__((unused))

#define EID_BASE   0x10UL
#define EID_DBCN   0x4442434EUL
#define EID_HVLAB  0x08484C56UL
#define DBCN_WRITE 0
#define DBCN_READ  1
#define SBI_ERR_NOT_SUPPORTED -2L
#define SBI_ERR_INVALID_PARAM -3L

#define RAM_SIZE   (128UL << 20)            /* the tests give the VM 128 MiB */
#define RAM_END    (RAM_BASE + RAM_SIZE)
#define SENTINEL   0x5e7715e7715e7715UL      /* a destination register's value before a load */
#define NO_TRAP    (~0UL)

struct sbiret { long error; long value; };

static inline struct sbiret sbi(u64 eid, u64 fid, u64 arg0, u64 arg1, u64 arg2)
{
    register u64 a0 asm("a0") = arg0;
    register u64 a1 asm("a1") = arg1;
    register u64 a2 asm("a2") = arg2;
    register u64 a6 asm("a6") = fid;
    register u64 a7 asm("a7") = eid;
    asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){ (long)a0, (long)a1 };
}

/* Running under hvlab's hypervisor (the PV extension is offered to VMs only)? The guest
 * uses this only where the architecture itself differs: natively the kernel runs in HS-mode,
 * where the H-extension instructions are legal. */
static inline int in_vm(void) { return sbi(EID_BASE, 3, EID_HVLAB, 0, 0).value == 1; }

/* The last trap: the guest's own S-mode handler (strap_hook) records it. */
static volatile u64 h_cause = NO_TRAP, h_tval, h_epc, h_count;

/* Every trap here is one the guest provoked: record it and resume. A fetch fault resumes at
 * ra (the jump was a call: hostile_jump, or a call through a function pointer); anything
 * else at the next instruction. */
static UNUSED int hostile_trap(struct frame *f, u64 cause)
{
    h_cause = cause;
    h_tval = csr_read(stval);
    h_epc = csr_read(sepc);
    h_count++;
    if (cause & CAUSE_INTERRUPT) {
        print_kv("UNEXPECTED interrupt", cause);
        summary();
        exit(125);
    }
    if (cause == CAUSE_FETCH_ACCESS || cause == CAUSE_FETCH_PAGE_FAULT)
        csr_write(sepc, f->regs[1]);
    else
        csr_write(sepc, h_epc + 4);
    return 1;
}

static inline void hostile_init(void) { strap_hook = hostile_trap; }

static inline void arm(void) { h_cause = NO_TRAP; h_tval = 0; h_count = 0; }

/* Checks that exactly one trap with `cause` and stval `tval` happened since arm(). */
static UNUSED void check_fault(const char *name, u64 cause, u64 tval)
{
    if (h_count != 1) { check(name, h_count, 1); return; }
    if (h_cause != cause) { check(name, h_cause, cause); return; }
    check(name, h_tval, tval);
}

static UNUSED void check_no_fault(const char *name)
{
    check(name, h_count == 0 ? NO_TRAP : h_cause, NO_TRAP);
}

/* "read NAME=0x..": what a load gave (SENTINEL when it faulted). */
static UNUSED void show(const char *name, u64 v)
{
    print("read ");
    print_kv(name, v);
}

static inline u64 ld64(u64 a) { u64 v = SENTINEL; asm volatile("ld %0, 0(%1)" : "+r"(v) : "r"(a) : "memory"); return v; }
static inline u64 lw32(u64 a) { u64 v = SENTINEL; asm volatile("lw %0, 0(%1)" : "+r"(v) : "r"(a) : "memory"); return v; }
static inline u64 lh16(u64 a) { u64 v = SENTINEL; asm volatile("lh %0, 0(%1)" : "+r"(v) : "r"(a) : "memory"); return v; }
static inline u64 lb8(u64 a) { u64 v = SENTINEL; asm volatile("lbu %0, 0(%1)" : "+r"(v) : "r"(a) : "memory"); return v; }
static inline void sd64(u64 a, u64 v) { asm volatile("sd %0, 0(%1)" :: "r"(v), "r"(a) : "memory"); }
static inline void sw32(u64 a, u64 v) { asm volatile("sw %0, 0(%1)" :: "r"(v), "r"(a) : "memory"); }
static inline void sb8(u64 a, u64 v) { asm volatile("sb %0, 0(%1)" :: "r"(v), "r"(a) : "memory"); }
static inline u64 amoadd32(u64 a, u64 v)
{
    u64 old = SENTINEL;
    asm volatile("amoadd.w %0, %2, (%1)" : "+r"(old) : "r"(a), "r"(v) : "memory");
    return old;
}

/* Load `a` (8 bytes), expecting a trap `cause` with stval = `tval`; the value read must be
 * the untouched SENTINEL. */
static UNUSED void load_faults(const char *name, u64 a, u64 cause, u64 tval)
{
    u64 v;
    arm();
    v = ld64(a);
    show(name, v);
    if (h_count == 1 && h_cause == cause && h_tval == tval)
        check(name, v, SENTINEL);
    else
        check_fault(name, cause, tval);
}

static UNUSED void store_faults(const char *name, u64 a, u64 cause, u64 tval)
{
    arm();
    sd64(a, 0xbad0bad0bad0bad0UL);
    check_fault(name, cause, tval);
}

/* Jump to `target` (a call: ra returns to the caller); a fetch fault resumes at ra, a
 * misaligned target traps on the jump itself and resumes at the `ret` after it. */
void hostile_jump(u64 target);
asm(".text\n"
    ".balign 4\n"
    ".globl hostile_jump\n"
    "hostile_jump:\n"
    "    jr a0\n"
    "    ret\n");

static UNUSED void jump_faults(const char *name, u64 target, u64 cause, u64 tval)
{
    arm();
    hostile_jump(target);
    check_fault(name, cause, tval);
}

/* The platform line (the host test normalises it): where the guest runs. */
static UNUSED void platform_line(void)
{
    struct sbiret r = sbi(EID_HVLAB, 0, 0, 0, 0);
    if (r.error == 0) print_kv("platform: vm mode", (u64)r.value);
    else println("platform: native");
}

#endif
