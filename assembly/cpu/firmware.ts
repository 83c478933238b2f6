// Firmware choices (DESIGN.md "Machine"): `none` starts the image at its entry in M-mode;
// `builtin` plays the part of an M-mode SBI firmware such as OpenSBI, implemented by the core
// itself (hv/sbi.ts): the kernel starts in S-mode and its ecalls are served without any M-mode
// code running.
export const FIRMWARE_NONE: u32 = 0;
export const FIRMWARE_BUILTIN: u32 = 1;
