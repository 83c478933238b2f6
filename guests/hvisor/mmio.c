// L2's device accesses. The emulated UART and PLIC are not mapped in the G-stage, so each
// load or store L2 makes to them is a guest-page fault (21 load, 23 store) with the
// guest-physical address in htval. L1 finds the instruction (the transformed one in htinst
// when the hardware gives it, 8.6.3, else L2's own instruction read with HLVX), performs the
// access on the device model, writes a load's result to rd and steps L2's pc over it.
#include "hvisor.h"

static int in(u64 gpa, u64 base, u64 size)
{
    return gpa >= base && gpa - base < size;
}

// The 32-bit load or store a 16-bit one stands for (unprivileged spec 16.3 and 16.5), with
// only what the emulation reads: opcode, funct3 (the width), rd or rs2. The address comes
// from htval, so rs1 and the offset do not matter. 0 if it is no load or store.
static u32 expand_compressed(u32 c)
{
    u32 quadrant = c & 3, funct3 = (c >> 13) & 7;
    if (quadrant == 0) {                    // C.LW, C.LD, C.SW, C.SD: register x8 + bits 4:2
        u32 r = ((c >> 2) & 7) + 8;
        switch (funct3) {
        case 2: return OPCODE_LOAD | (r << 7) | (2 << 12);
        case 3: return OPCODE_LOAD | (r << 7) | (3 << 12);
        case 6: return OPCODE_STORE | (2 << 12) | (r << 20);
        case 7: return OPCODE_STORE | (3 << 12) | (r << 20);
        }
    } else if (quadrant == 2) {             // C.LWSP, C.LDSP (rd: bits 11:7), C.SWSP, C.SDSP (rs2: 6:2)
        u32 rd = (c >> 7) & 31, rs2 = (c >> 2) & 31;
        switch (funct3) {
        case 2: return rd ? OPCODE_LOAD | (rd << 7) | (2 << 12) : 0;
        case 3: return rd ? OPCODE_LOAD | (rd << 7) | (3 << 12) : 0;
        case 6: return OPCODE_STORE | (2 << 12) | (rs2 << 20);
        case 7: return OPCODE_STORE | (3 << 12) | (rs2 << 20);
        }
    }
    return 0;
}

// Returns 0 if gpa is no device's: the caller treats the access as outside L2's RAM.
int mmio_exit(struct vcpu *v, u64 cause, u64 gpa)
{
    int uart = in(gpa, L2_UART_GPA, L2_UART_SIZE), plic = in(gpa, L2_PLIC_GPA, L2_PLIC_SIZE);
    if (!uart && !plic)
        return 0;
    u32 insn = (u32)csr_read(htinst);
    int len = 4;
    if (insn & HTINST_TRANSFORMED) {
        stats[ST_HTINST]++;
        if (!(insn & HTINST_32BIT))
            len = 2;
        insn |= 3;
    } else if (insn != 0) {
        // A pseudoinstruction: L2's page-table walk itself touched the device. Nothing is
        // there to walk: an access fault, as for any address without memory.
        return 0;
    } else if (!read_guest_insn(v->pc, &insn, &len)) {
        // L2's instruction could not be read back: its mapping changed under it.
        return 0;
    } else if (len == 2 && (insn = expand_compressed(insn)) == 0) {
        return 0;
    }
    u32 opcode = insn & 0x7f, funct3 = (insn >> 12) & 7;
    u32 rd = (insn >> 7) & 31, rs2 = (insn >> 20) & 31;
    u64 width = UL(1) << (funct3 & 3);
    if ((cause == EXC_LOAD_GUEST_PAGE_FAULT && (opcode != OPCODE_LOAD || funct3 == 7)) ||
        (cause == EXC_STORE_GUEST_PAGE_FAULT && (opcode != OPCODE_STORE || funct3 > 3)) ||
        (gpa & (width - 1)))
        return 0;                           // not a plain aligned load or store: no device access
    if (cause == EXC_LOAD_GUEST_PAGE_FAULT) {
        u64 val;
        if (uart) {
            stats[ST_UART_READ]++;
            val = vuart_read(gpa - L2_UART_GPA);
        } else {
            stats[ST_PLIC_READ]++;
            val = width == 4 ? vplic_read(gpa - L2_PLIC_GPA) : 0;
        }
        // LB/LH/LW sign-extend, LBU/LHU/LWU zero-extend (funct3 bit 2).
        if (width < 8) {
            u64 shift = 64 - 8 * width;
            val = (funct3 & 4) ? (val << shift) >> shift : (u64)((i64)(val << shift) >> shift);
        }
        if (rd != 0)
            v->x[rd] = val;
    } else {
        u64 val = v->x[rs2];
        if (uart) {
            stats[ST_UART_WRITE]++;
            vuart_write(gpa - L2_UART_GPA, val & 0xff);
        } else {
            stats[ST_PLIC_WRITE]++;
            if (width == 4)
                vplic_write(gpa - L2_PLIC_GPA, val & 0xffffffff);
        }
    }
    v->pc += len;
    vplic_update();
    return 1;
}
