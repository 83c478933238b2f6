// Loading L2's kernel: an ELF64 RISC-V executable (ELF specification; RISC-V ELF psABI),
// whose PT_LOAD segments are copied to their physical addresses in L2's RAM. The image is
// built in, but it is still checked as input: each segment must lie in L2's RAM.
#include "hvisor.h"

#define EI_CLASS_64  2
#define EI_DATA_LE   1
#define ET_EXEC      2
#define EM_RISCV     243
#define PT_LOAD      1

struct ehdr {
    u8 ident[16];
    u16 type, machine;
    u32 version;
    u64 entry, phoff, shoff;
    u32 flags;
    u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct phdr {
    u32 type, flags;
    u64 offset, vaddr, paddr, filesz, memsz, align;
};

int elf_load(const u8 *image, u64 size, u64 *entry)
{
    const struct ehdr *eh = (const struct ehdr *)image;
    if (size < sizeof *eh || image[0] != 0x7f || image[1] != 'E' || image[2] != 'L' ||
        image[3] != 'F' || eh->ident[4] != EI_CLASS_64 || eh->ident[5] != EI_DATA_LE ||
        eh->type != ET_EXEC || eh->machine != EM_RISCV || eh->phentsize != sizeof(struct phdr))
        return -1;
    if (eh->phoff > size || (u64)eh->phnum * sizeof(struct phdr) > size - eh->phoff)
        return -1;
    for (int i = 0; i < eh->phnum; i++) {
        struct phdr ph;
        memcpy(&ph, image + eh->phoff + i * sizeof(struct phdr), sizeof ph);
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        if (ph.filesz > ph.memsz || ph.offset > size || ph.filesz > size - ph.offset)
            return -1;
        u8 *dst = gpa_ptr(ph.paddr, ph.memsz);
        if (!dst)
            return -1;
        memcpy(dst, image + ph.offset, ph.filesz);
        memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
    }
    if (!gpa_ptr(eh->entry, 4))
        return -1;
    *entry = eh->entry;
    return 0;
}
