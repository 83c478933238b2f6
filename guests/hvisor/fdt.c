// L1's device tree (Devicetree Specification v0.4, chapter 5: the flattened format): the
// size of its RAM (/memory) and its boot arguments (/chosen/bootargs). The tree comes from
// the firmware and is not trusted to be well formed: every offset is checked against the
// blob's size, and a bad tree is an error, not a read out of bounds.
#include "hvisor.h"

#define FDT_MAGIC      0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define FDT_END        9

static u32 be32(const u8 *p)
{
    return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static int starts(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

// Returns 0 on success, -1 if the blob is not a device tree we can read.
int fdt_read(const void *fdt, struct l1_boot *out)
{
    const u8 *b = fdt;
    if (!b || be32(b) != FDT_MAGIC)
        return -1;
    u32 total = be32(b + 4), off_struct = be32(b + 8), off_strings = be32(b + 12);
    u32 size_struct = be32(b + 36);
    if (total > (64u << 20) || off_struct > total || size_struct > total - off_struct ||
        off_strings > total)
        return -1;
    u32 addr_cells = 2, size_cells = 2;
    int depth = 0, in_memory = 0, in_chosen = 0;
    u32 p = off_struct, end = off_struct + size_struct;
    out->mem_base = out->mem_size = 0;
    out->bootargs = "";
    while (p + 4 <= end) {
        u32 tok = be32(b + p);
        p += 4;
        if (tok == FDT_BEGIN_NODE) {
            const char *name = (const char *)(b + p);
            u32 n = 0;
            while (p + n < end && name[n])
                n++;
            if (p + n >= end)
                return -1;
            depth++;
            if (depth == 2) {
                in_memory = starts(name, "memory");
                in_chosen = streq(name, "chosen");
            }
            p += (n + 1 + 3) & ~3u;
        } else if (tok == FDT_END_NODE) {
            if (depth == 2)
                in_memory = in_chosen = 0;
            if (--depth < 0)
                return -1;
        } else if (tok == FDT_PROP) {
            if (p + 8 > end)
                return -1;
            u32 len = be32(b + p), nameoff = be32(b + p + 4);
            p += 8;
            if (len > end - p || nameoff >= total - off_strings)
                return -1;
            const char *pname = (const char *)(b + off_strings + nameoff);
            const u8 *val = b + p;
            if (depth == 1 && streq(pname, "#address-cells") && len == 4)
                addr_cells = be32(val);
            else if (depth == 1 && streq(pname, "#size-cells") && len == 4)
                size_cells = be32(val);
            else if (depth == 2 && in_memory && streq(pname, "reg") && out->mem_size == 0 &&
                     addr_cells >= 1 && addr_cells <= 2 && size_cells >= 1 && size_cells <= 2 &&
                     len >= 4 * (addr_cells + size_cells)) {
                u64 base = be32(val), size = be32(val + 4 * addr_cells);
                if (addr_cells == 2)
                    base = (base << 32) | be32(val + 4);
                if (size_cells == 2)
                    size = (size << 32) | be32(val + 4 * addr_cells + 4);
                out->mem_base = base;
                out->mem_size = size;
            } else if (depth == 2 && in_chosen && streq(pname, "bootargs") && len > 0 &&
                       val[len - 1] == 0)
                out->bootargs = (const char *)val;
            p += (len + 3) & ~3u;
        } else if (tok == FDT_NOP) {
            continue;
        } else if (tok == FDT_END) {
            return out->mem_size ? 0 : -1;
        } else {
            return -1;
        }
    }
    return -1;
}

// Is `word` one of the space-separated words of `args`?
int bootarg(const char *args, const char *word)
{
    while (*args) {
        while (*args == ' ')
            args++;
        const char *w = word, *a = args;
        while (*w && *a == *w)
            a++, w++;
        if (*w == 0 && (*a == ' ' || *a == 0))
            return 1;
        while (*args && *args != ' ')
            args++;
    }
    return 0;
}
