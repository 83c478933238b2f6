// Loading a user program from an ELF64 image (System V gABI, "Program
// Loading"): each PT_LOAD segment gets fresh pages at its virtual address
// with its permissions; file bytes are copied and the rest stays zero (.bss).
#include "defs.h"
#include "memlayout.h"
#include "proc.h"

#define ELF_MAGIC   0x464C457FU   // "\x7FELF" little-endian
#define ELFCLASS64  2
#define EM_RISCV    243
#define ET_EXEC     2
#define PT_LOAD     1
#define PF_X        1
#define PF_W        2
#define PF_R        4

struct elf64_ehdr {
    u32 magic;
    u8  elf[12];
    u16 type, machine;
    u32 version;
    u64 entry, phoff, shoff;
    u32 flags;
    u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    u32 type, flags;
    u64 off, vaddr, paddr, filesz, memsz, align;
};

int elf_load(struct proc *p, const u8 *image, u64 size, u64 *entry)
{
    struct elf64_ehdr eh;
    if (size < sizeof(eh))
        return E_INVAL;
    memcpy(&eh, image, sizeof(eh));
    if (eh.magic != ELF_MAGIC || eh.elf[0] != ELFCLASS64 || eh.machine != EM_RISCV ||
        eh.type != ET_EXEC || eh.phentsize != sizeof(struct elf64_phdr) ||
        eh.phoff + (u64)eh.phnum * sizeof(struct elf64_phdr) > size)
        return E_INVAL;

    for (int i = 0; i < eh.phnum; i++) {
        struct elf64_phdr ph;
        memcpy(&ph, image + eh.phoff + (u64)i * sizeof(ph), sizeof(ph));
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        if (ph.filesz > ph.memsz || ph.off + ph.filesz > size ||
            ph.vaddr < USER_TEXT_BASE || ph.vaddr + ph.memsz > USER_MMAP_BASE)
            return E_INVAL;
        u64 perm = ((ph.flags & PF_R) ? PTE_R : 0) | ((ph.flags & PF_W) ? PTE_W : 0) |
                   ((ph.flags & PF_X) ? PTE_X : 0);
        u64 start = PGROUNDDOWN(ph.vaddr);
        u64 npages = (PGROUNDUP(ph.vaddr + ph.memsz) - start) / PGSIZE;
        int r = uvm_alloc(p, start, npages, perm);
        if (r < 0)
            return r;
        // Copy through the kernel's identity map of the new physical pages.
        for (u64 done = 0; done < ph.filesz;) {
            u64 va = ph.vaddr + done;
            u64 chunk = PGSIZE - (va & (PGSIZE - 1));
            if (chunk > ph.filesz - done)
                chunk = ph.filesz - done;
            memcpy((void *)uvm_user_pa(p->pagetable, va), image + ph.off + done, chunk);
            done += chunk;
        }
    }
    *entry = eh.entry;
    return 0;
}
