// A flattened device tree reader: just enough to find memory, the UART, the
// PLIC (and our hart's S-mode context in it), the timebase frequency, the
// virtio-mmio slots and hvlab's emudisk. Format: Devicetree Specification v0.4, chapter 5.
//
// The blob is big-endian. Its structure block is a stream of tokens:
//   BEGIN_NODE name\0 (padded to 4)   PROP len nameoff value (padded)
//   END_NODE   NOP   END
// Properties come before subnodes, so a node's #address-cells is known before
// its children's reg properties are read.
#include "defs.h"
#include "pvops.h"

#define FDT_MAGIC      0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define FDT_END        9
#define FDT_MAX_DEPTH  8

struct platform_info plat;

static u32 be32(const u8 *p)
{
    return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

// Reads `cells` 32-bit cells as one number.
static u64 read_cells(const u8 *p, u32 cells)
{
    u64 v = 0;
    for (u32 i = 0; i < cells; i++)
        v = (v << 32) | be32(p + 4 * i);
    return v;
}

// Is `want` one of the NUL-separated strings in a compatible property?
static int has_string(const char *list, u32 len, const char *want)
{
    u32 i = 0;
    while (i < len) {
        if (strcmp(list + i, want) == 0)
            return 1;
        i += strlen(list + i) + 1;
    }
    return 0;
}

struct node {
    const char *name;
    u32 addr_cells, size_cells;    // for this node's children
    u64 reg_addr, reg_size;        // first reg entry
    int has_reg;
    const char *compat; u32 compat_len;
    const char *devtype;
    u32 interrupt;                 // first cell of "interrupts"
    u32 phandle;
    const u8 *irq_ext; u32 irq_ext_len;   // "interrupts-extended"
    u64 timebase;
    u32 backend, port;             // "hvlab,backend", "hvlab,port" (hvlab,split-blk, hvlab,split-console)
};

static u32 hart_intc_phandle;        // our hart's local interrupt controller
static const u8 *plic_irq_ext;
static u32 plic_irq_ext_len;

static void node_done(struct node *n, struct node *parent, u64 hartid)
{
    if (n->has_reg && ((n->devtype && strcmp(n->devtype, "memory") == 0) ||
                       strncmp(n->name, "memory@", 7) == 0) && !plat.found_memory) {
        plat.mem_base = n->reg_addr;
        plat.mem_size = n->reg_size;
        plat.found_memory = 1;
    }
    if (n->timebase && !plat.timebase_hz)
        plat.timebase_hz = n->timebase;
    if (!n->compat)
        return;
    if (!plat.found_uart && n->has_reg && has_string(n->compat, n->compat_len, "ns16550a")) {
        plat.uart_base = n->reg_addr;
        plat.uart_irq = n->interrupt;
        plat.found_uart = 1;
    }
    if (!plat.found_plic && n->has_reg &&
        (has_string(n->compat, n->compat_len, "riscv,plic0") ||
         has_string(n->compat, n->compat_len, "sifive,plic-1.0.0"))) {
        plat.plic_base = n->reg_addr;
        plic_irq_ext = n->irq_ext;
        plic_irq_ext_len = n->irq_ext_len;
        plat.found_plic = 1;
    }
    if (has_string(n->compat, n->compat_len, "virtio,mmio")) {
        // Each slot is probed for its DeviceID later (devices.c).
        if (n->has_reg && plat.virtio_slots < MAX_VIRTIO_SLOTS) {
            plat.virtio_base[plat.virtio_slots] = n->reg_addr;
            plat.virtio_irq[plat.virtio_slots] = n->interrupt;
        }
        plat.virtio_slots++;
    }
    if (!plat.found_split && has_string(n->compat, n->compat_len, "hvlab,split-blk")) {
        plat.split_backend = n->backend;
        plat.split_port = n->port;
        plat.found_split = 1;
    }
    if (!plat.found_cons && has_string(n->compat, n->compat_len, "hvlab,split-console")) {
        plat.cons_backend = n->backend;
        plat.cons_port = n->port;
        plat.found_cons = 1;
    }
    if (!plat.found_emudisk && n->has_reg && has_string(n->compat, n->compat_len, "hvlab,emudisk")) {
        plat.emudisk_base = n->reg_addr;
        plat.found_emudisk = 1;
    }
    // A hart's interrupt controller is the child of its cpu@N node, whose
    // reg is the hart ID: remember its phandle to find our PLIC context.
    if (parent && parent->has_reg && parent->reg_addr == hartid &&
        strncmp(parent->name, "cpu@", 4) == 0 &&
        has_string(n->compat, n->compat_len, "riscv,cpu-intc"))
        hart_intc_phandle = n->phandle;
}

static void prop(struct node *n, struct node *parent, const char *name, const u8 *val, u32 len)
{
    if (strcmp(name, "#address-cells") == 0 && len >= 4)
        n->addr_cells = be32(val);
    else if (strcmp(name, "#size-cells") == 0 && len >= 4)
        n->size_cells = be32(val);
    else if (strcmp(name, "bootargs") == 0 && strcmp(n->name, "chosen") == 0 && len > 0) {
        u32 k = len < sizeof plat.bootargs ? len : sizeof plat.bootargs - 1;
        memcpy(plat.bootargs, val, k);
        plat.bootargs[k] = 0;
        // Read here, and only from a command line that is not empty, so that a boot without
        // one runs (nearly) the instructions it ran before the switch existed.
        if (plat.bootargs[0])
            plat.hugepages = cmdline_has(plat.bootargs, "hugepages");
    }
    else if (strcmp(name, "reg") == 0 && parent) {
        u32 ac = parent->addr_cells, sc = parent->size_cells;
        if (len >= 4 * (ac + sc) && ac <= 2 && sc <= 2) {
            n->reg_addr = read_cells(val, ac);
            n->reg_size = read_cells(val + 4 * ac, sc);
            n->has_reg = 1;
        }
    } else if (strcmp(name, "compatible") == 0) {
        n->compat = (const char *)val;
        n->compat_len = len;
    } else if (strcmp(name, "device_type") == 0)
        n->devtype = (const char *)val;
    else if (strcmp(name, "interrupts") == 0 && len >= 4)
        n->interrupt = be32(val);
    else if (strcmp(name, "phandle") == 0 && len >= 4)
        n->phandle = be32(val);
    else if (strcmp(name, "interrupts-extended") == 0) {
        n->irq_ext = val;
        n->irq_ext_len = len;
    } else if (strcmp(name, "hvlab,backend") == 0 && len >= 4)
        n->backend = be32(val);
    else if (strcmp(name, "hvlab,port") == 0 && len >= 4)
        n->port = be32(val);
    else if (strcmp(name, "timebase-frequency") == 0 && len >= 4)
        n->timebase = read_cells(val, len >= 8 ? 2 : 1);
}

// Fills `plat`. Returns 0 on success, -1 if dtb_pa does not hold a device tree
// (the caller then assumes QEMU virt defaults).
int fdt_parse(u64 dtb_pa, u64 hartid)
{
    const u8 *fdt = (const u8 *)dtb_pa;
    if (dtb_pa == 0 || (dtb_pa & 3) || be32(fdt) != FDT_MAGIC)
        return -1;
    u32 total = be32(fdt + 4);
    const u8 *p = fdt + be32(fdt + 8);
    const u8 *end = p + be32(fdt + 36);
    const char *strings = (const char *)fdt + be32(fdt + 12);
    if (be32(fdt + 8) >= total || be32(fdt + 12) >= total)
        return -1;

    struct node stack[FDT_MAX_DEPTH];
    int depth = -1;
    while (p + 4 <= end) {
        u32 tok = be32(p);
        p += 4;
        if (tok == FDT_BEGIN_NODE) {
            const char *name = (const char *)p;
            p += ((strlen(name) + 1 + 3) & ~3UL);
            if (++depth >= FDT_MAX_DEPTH)
                return -1;
            struct node *n = &stack[depth];
            memset(n, 0, sizeof(*n));
            n->name = name;
            n->addr_cells = 2;      // defaults from the specification, §2.3.5
            n->size_cells = 1;
        } else if (tok == FDT_PROP) {
            if (depth < 0)
                return -1;
            u32 len = be32(p), nameoff = be32(p + 4);
            const u8 *val = p + 8;
            p = val + ((len + 3) & ~3U);
            prop(&stack[depth], depth > 0 ? &stack[depth - 1] : NULL, strings + nameoff, val, len);
        } else if (tok == FDT_END_NODE) {
            if (depth < 0)
                return -1;
            node_done(&stack[depth], depth > 0 ? &stack[depth - 1] : NULL, hartid);
            depth--;
        } else if (tok == FDT_NOP) {
            continue;
        } else {
            break;      // FDT_END or garbage
        }
    }

    // The PLIC's interrupts-extended lists <phandle irq> per context; ours is
    // the one naming our hart's controller with the S-mode external interrupt.
    plat.plic_context = 2 * hartid + 1;     // QEMU virt's layout, if not found
    for (u32 i = 0; i + 8 <= plic_irq_ext_len; i += 8) {
        if (be32(plic_irq_ext + i) == hart_intc_phandle &&
            be32(plic_irq_ext + i + 4) == IRQ_S_EXT) {
            plat.plic_context = i / 8;
            break;
        }
    }
    return 0;
}
