// hvisor: a small L1 hypervisor. It runs in HS-mode and boots one L2 guest (hvos) in
// VS-mode on the H extension. Cross-file declarations, grouped by file.
#ifndef HVISOR_H
#define HVISOR_H

#include "riscv.h"
#include "layout.h"

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long i64;

#define csr_read(csr) ({ u64 v_; asm volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, val) asm volatile("csrw " #csr ", %0" :: "r"((u64)(val)))
#define csr_set(csr, val) asm volatile("csrs " #csr ", %0" :: "r"((u64)(val)))
#define csr_clear(csr, val) asm volatile("csrc " #csr ", %0" :: "r"((u64)(val)))

// The L2 vCPU: its registers while L1 runs. entry.S saves x1..x31 at x[1..31] (x[0] stays 0
// so a decoded rd or rs2 of 0 reads zero) and finds L1's stack in hv_sp.
struct vcpu {
    u64 x[32];
    u64 hv_sp;          // offset 256: L1's stack for exits (entry.S)
    u64 pc;             // sepc of the exit; written back before returning
};

// Exit counters, printed at shutdown (exit.c, stats_print).
enum {
    ST_EXITS, ST_IRQ_TIMER, ST_IRQ_EXT, ST_IRQ_OTHER,
    ST_SBI_BASE, ST_SBI_TIME, ST_SBI_SRST, ST_SBI_DBCN, ST_SBI_UNSUPPORTED,
    ST_UART_READ, ST_UART_WRITE, ST_PLIC_READ, ST_PLIC_WRITE, ST_OUTSIDE,
    ST_HTINST, ST_HLVX, ST_WFI, ST_REFLECTED, ST_INJECT_TIMER, ST_INJECT_EXT,
    ST_COUNT
};
extern u64 stats[ST_COUNT];
extern u64 exc_stats[EXC_COUNT];

// entry.S
void hv_enter(struct vcpu *v) __attribute__((noreturn));
extern char hv_trap_vector[];

// main.c
extern int user_traps_to_l1;

// console.c: L1's own output on the real UART (polled), and its input
void cons_init(void);
void cons_putc(int c);
int cons_getc(void);            // -1 when no byte waits
void cons_rx_irq(int on);
void printf(const char *fmt, ...);
void panic(const char *fmt, ...) __attribute__((noreturn));

// fdt.c: what L1 reads from its own device tree
struct l1_boot { u64 mem_base, mem_size; const char *bootargs; };
int fdt_read(const void *fdt, struct l1_boot *out);
int bootarg(const char *args, const char *word);

// gstage.c: L2's Sv39x4 G-stage table
void gstage_map(u64 gpa, u64 hpa, u64 size);
u64 gstage_hgatp(void);
int gstage_translate(u64 gpa, u64 *hpa);
void *gpa_ptr(u64 gpa, u64 len);    // 0 unless [gpa, gpa+len) is L2 RAM
u64 gstage_pages(void);

// load.c: L2's kernel image
int elf_load(const u8 *image, u64 size, u64 *entry);

// exit.c: the exit dispatcher
void hv_exit(struct vcpu *v);
void hv_self_trap(u64 *regs);
void reflect(struct vcpu *v, u64 cause, u64 tval);
void stats_print(void);
void hv_shutdown(u64 reason) __attribute__((noreturn));
int read_guest_insn(u64 va, u32 *insn, int *len);

// sbi.c: calls to L1's firmware, and L2's calls to L1
struct sbiret { i64 error; i64 value; };
struct sbiret sbi_call(u64 eid, u64 fid, u64 a0, u64 a1, u64 a2);
void sbi_set_timer(u64 t);
void sbi_shutdown(u64 reason) __attribute__((noreturn));
void sbi_from_l2(struct vcpu *v);
void vtimer_fire(void);

// mmio.c: device accesses of L2 (guest-page faults in the devices' ranges)
int mmio_exit(struct vcpu *v, u64 cause, u64 gpa);

// vuart.c: the emulated 16550A
u64 vuart_read(u64 off);
void vuart_write(u64 off, u64 val);
void vuart_rx_poll(void);
int vuart_irq_line(void);
int vuart_rx_pop(u8 *c);

// vplic.c: the emulated PLIC
u64 vplic_read(u64 off);
void vplic_write(u64 off, u64 val);
void vplic_update(void);
void l1_plic_init(void);
void l1_external_irq(void);

// lib
void *memcpy(void *d, const void *s, u64 n);
void *memset(void *d, int c, u64 n);
u64 strlen(const char *s);

#endif
