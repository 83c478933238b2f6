/* rt.h: the small runtime every test guest links: UART output, named checks
 * with a pass/fail summary, CSR access, and trap recording.
 *
 * A check prints "ok NAME" or "FAIL NAME got=0x.. want=0x..". Values are
 * printed in hex so QEMU and hvlab output can be compared byte for byte. */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include "encoding.h"

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long s64;

#define NULL ((void *)0)

#define STR_(x) #x
#define STR(x) STR_(x)
#define csr_read(csr) ({ u64 v_; asm volatile("csrr %0, " STR(csr) : "=r"(v_) :: "memory"); v_; })
#define csr_write(csr, val) asm volatile("csrw " STR(csr) ", %0" :: "rK"((u64)(val)) : "memory")
#define csr_set(csr, val) asm volatile("csrs " STR(csr) ", %0" :: "rK"((u64)(val)) : "memory")
#define csr_clear(csr, val) asm volatile("csrc " STR(csr) ", %0" :: "rK"((u64)(val)) : "memory")
#define csr_swap(csr, val) ({ u64 v_; asm volatile("csrrw %0, " STR(csr) ", %1" : "=r"(v_) : "rK"((u64)(val)) : "memory"); v_; })

static inline u8 mmio_read8(u64 a) { return *(volatile u8 *)a; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline u64 mmio_read64(u64 a) { return *(volatile u64 *)a; }
static inline void mmio_write8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline void mmio_write64(u64 a, u64 v) { *(volatile u64 *)a = v; }

/* Saved registers at trap entry: regs[i] is xi (regs[0] unused). */
struct frame { u64 regs[32]; };

/* What the last recorded trap looked like. */
struct trap_info {
    u64 count;      /* traps recorded since trap_expect() */
    u64 cause;
    u64 tval;
    u64 epc;
    u64 taken_in;   /* PRV_M or PRV_S: the mode whose handler ran */
    u64 from;       /* privilege mode the trap came from (MPP/SPP) */
};
extern volatile struct trap_info trap;
extern volatile u64 boot_hartid, boot_dtb;

/* Optional per-guest handlers, tried first; return 1 when handled. */
extern int (*mtrap_hook)(struct frame *f, u64 cause);
extern int (*strap_hook)(struct frame *f, u64 cause);

void putc(char c);
void print(const char *s);
void print_hex(u64 v);
void println(const char *s);
void print_kv(const char *key, u64 v);   /* "key=0x..\n" */

void check(const char *name, u64 got, u64 want);
void check_true(const char *name, int cond);
int summary(void);                        /* returns the number of failures */
void __attribute__((noreturn)) exit(int code);

/* Trap expectations: call trap_expect(), run an instruction that traps, then
 * check_trap(). By default the handler resumes at epc + 4; trap_resume_at()
 * sets an explicit resume address for the next trap. */
void trap_expect(void);
void trap_resume_at(u64 addr);
extern volatile u64 trap_resume;   /* resume pc for the next trap, 0 = epc + 4 */
void check_trap(const char *name, u64 cause, u64 tval);
void check_trap_cause(const char *name, u64 cause);
void check_no_trap(const char *name);

/* Call fn(arg) in mode PRV_U or PRV_S; returns its result in M-mode. */
u64 run_in_mode(u64 mode, u64 (*fn)(u64), u64 arg);
/* Same, with the trampoline (and fn, given already aliased) at image + delta. */
u64 run_in_mode_va(u64 mode, u64 (*fn)(u64), u64 arg, u64 delta);

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

#endif
