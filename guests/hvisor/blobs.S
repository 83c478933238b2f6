# What hvisor carries for its L2: the kernel (hvos's committed image), the hostile test
# kernel (l2evil, chosen with the boot argument l2=evil) and the L2 device tree, all embedded
# at build time. The Makefile passes the directories with -Wa,-I.
    .section .rodata
    .balign 8
    .globl hvos_image, hvos_image_end
hvos_image:
    .incbin "hvos.elf"
hvos_image_end:
    .balign 8
    .globl evil_image, evil_image_end
evil_image:
    .incbin "l2evil.elf"
evil_image_end:
    .balign 8
    .globl l2_dtb, l2_dtb_end
l2_dtb:
    .incbin "l2.dtb"
l2_dtb_end:
