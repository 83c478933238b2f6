// Functions shared across kernel files, grouped by the file that defines them.
#ifndef HVOS_DEFS_H
#define HVOS_DEFS_H
#include "../lib/types.h"
#include "../lib/str.h"
#include "riscv.h"

struct proc;
struct trapframe;
struct context;

// console.c: the line discipline
void console_init(void);
void console_putc(int c);                 // with "\n" -> "\r\n"
void console_flush(void);                 // send buffered output (virtio-console)
void console_drain(void);                 // before power-off: until the device took it all
void console_rx(int c);                   // from the UART interrupt
int  console_read(u64 user_dst, u64 n);
int  console_write(u64 user_src, u64 n);
void console_set_foreground(int pgid);
int  console_foreground(void);
int  console_rx_room(void);

// devices.c: the I/O devices beyond the UART (virtio, emudisk)
void devices_init(void);
int  devices_intr(u32 irq);               // 1 if irq belongs to one of them

// blk.c: the block device (virtio-blk, else emudisk) for the system calls
#define SECTOR_SIZE 512
#define BLK_REQ_SECTORS 8                 // one request moves at most 4 KiB
struct blkdev {
    const char *driver;
    u64 sectors;
    u32 block_size;                       // the device's preferred unit (bytes)
    int readonly;
    char id[24];
    // Move count (1..BLK_REQ_SECTORS) sectors between the disk and buf, a
    // kernel page. 0 or a negative E_ code.
    int (*rw)(int write, u64 sector, void *buf, u32 count);
    int (*flush)(void);                   // NULL: nothing to flush
};
int blk_register(struct blkdev *b);       // 1 if it becomes the block device
int blk_info(u64 user_info);
int blk_rw(int write, u64 sector, u64 user_buf, u64 count);
int blk_flush(void);
int blk_backend_rw(int write, u64 sector, void *buf, u32 count, u64 *sectors, int *readonly);

// emudisk.c
void emudisk_init(void);

// virtio_console.c
extern int vcon_active;                   // the console is on virtio-console
void vcon_putc(int c);
void vcon_flush(void);
void vcon_drain(void);
void vcon_rx_resume(void);

// virtio_rng.c
int rng_read(u64 user_buf, u64 n);

// elf.c
int elf_load(struct proc *p, const u8 *image, u64 size, u64 *entry);

// fdt.c: what hvos learned from the device tree
#define MAX_VIRTIO_SLOTS 8
struct platform_info {
    u64 mem_base, mem_size;
    u64 uart_base; u32 uart_irq;
    u64 plic_base; u32 plic_context;
    u64 timebase_hz;
    int virtio_slots;
    int found_uart, found_plic, found_memory;
    u64 virtio_base[MAX_VIRTIO_SLOTS]; u32 virtio_irq[MAX_VIRTIO_SLOTS];
    u64 emudisk_base; int found_emudisk;
    u32 split_backend, split_port; int found_split;   // hvlab,split-blk: a blkfront (split.c)
    u32 cons_backend, cons_port; int found_cons;      // hvlab,split-console: a consfront (split.c)
    char bootargs[128];            // /chosen/bootargs (copied: the tree's memory is reused)
    int hugepages;                 // bootarg `hugepages`: kernel and user heap in 2 MiB pages
};
extern struct platform_info plat;
int fdt_parse(u64 dtb_pa, u64 hartid);

// split.c: Xen-style split drivers (blkfront/blkback, consfront/consback) over grants and events
void split_init(void);
void split_intr(void);
extern int cons_front_active;             // the console goes to the driver domain
void cons_front_putc(int c);
void cons_front_flush(void);
void cons_front_rx_resume(void);
int  cons_back_put(u32 domid, const char *buf, u32 n);

// pvops_pv.c: grant tables and event channels (docs/pv-abi.md, ABI 1.2)
struct sbiret pv_split_call(u64 fid, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5);
int  pv_is_pv(void);
u64  pv_events_take(void);
long pv_grant_map_over(void *page, u64 domid, u64 ref);
void pv_grant_unmap_over(void *page, long handle);

// kalloc.c
void  kalloc_init(u64 start, u64 end);
void *kalloc(void);                       // one zeroed page, or NULL
void *kalloc_huge(void);                  // 512 zeroed pages, 2 MiB-aligned, or NULL
void  kfree(void *page);
u64   kalloc_free_pages(void);

// platform.c
void platform_detect(void);
extern int hvlab_mode;                    // -1: not under hvlab

// plic.c
void plic_init(void);
void plic_enable(u32 irq);
u32  plic_claim(void);
void plic_complete(u32 irq);

// printf.c
void kprintf(const char *fmt, ...);
void panic(const char *fmt, ...) __attribute__((noreturn));

// proc.c
extern struct proc *curproc;
void proc_init(void);
int  proc_spawn(struct proc *parent, const char *name, char **argv, int argc);
void proc_exit(int status) __attribute__((noreturn));
int  proc_wait(int pid, u64 user_status);
void proc_kill_group(int pgid, int status);
void proc_free(struct proc *p);
int  proc_list(u64 user_buf, int max);
const char *fault_name(u64 scause);

// programs.S
struct program {
    const char *name;
    const u8 *start;
    const u8 *end;
};
extern const struct program programs[];
const struct program *program_find(const char *name);

// sched.c
void scheduler(void) __attribute__((noreturn));
void sched(void);
void yield(void);
void sleep_on(void *chan);
void wakeup(void *chan);
void sleep_until(u64 deadline);
void wake_sleepers(u64 now);

// swtch.S
void swtch(struct context *old, struct context *new);

// syscall.c
void syscall(struct trapframe *tf);

// timer.c
void timer_init(void);
u64  timer_now(void);                     // timebase ticks
u64  timer_us(void);                      // microseconds since boot
u64  timer_ms_to_ticks(u64 ms);
void timer_arm(u64 deadline);
void timer_interrupt(void);
u64  timer_slice(void);
u64  timer_armed(void);
#define TIME_NEVER U64_MAX

// trap.c
void trap_init(void);
void usertrap(struct trapframe *tf) __attribute__((noreturn));
void kerneltrap(void);
void user_return(struct proc *p) __attribute__((noreturn));

// trapvec.S
void uservec(void);
void kernelvec(void);
void native_userret(struct trapframe *tf) __attribute__((noreturn));

// uaccess.c
int copyin(void *dst, u64 user_src, u64 n);
int copyout(u64 user_dst, const void *src, u64 n);
int copyinstr(char *dst, u64 user_src, u64 max);

// uart.c
void uart_early_init(void);
void uart_init(void);
void uart_putc(int c);
void uart_intr(void);
void uart_rx_enable(int on);

// vm.c
extern u64 kernel_satp;
void  kvm_init(void);
void  kvm_enable(void);
pagetable_t uvm_create(void);
int   uvm_alloc(struct proc *p, u64 va, u64 npages, u64 perm);
void  uvm_unmap(struct proc *p, u64 va, u64 npages);
int   uvm_alloc_huge(struct proc *p, u64 va, u64 npages, u64 perm);
void  uvm_unmap_huge(struct proc *p, u64 va, u64 npages);
void  uvm_destroy(struct proc *p);
pte_t *uvm_lookup(pagetable_t pt, u64 va);
u64   uvm_user_pa(pagetable_t pt, u64 va);
int   uvm_range_ok(pagetable_t pt, u64 va, u64 len, int write);
void  vm_switch(struct proc *p);
int   vm_asids(void);

// SBI (sbi.c) is declared in sbi.h.

#endif
