// The Supervisor Binary Interface: calls from S-mode to the firmware or
// hypervisor (SBI specification v2.0). An ecall with the extension ID in a7,
// the function ID in a6 and arguments in a0..a5 returns an error in a0 and
// a value in a1.
#ifndef HVOS_SBI_H
#define HVOS_SBI_H
#include "../lib/types.h"

// Extension IDs (§3..§12)
#define SBI_EXT_BASE   0x10
#define SBI_EXT_TIME   0x54494D45   // "TIME"
#define SBI_EXT_SRST   0x53525354   // "SRST"
// hvlab's paravirtualization extension, in the experimental range
// 0x0800_0000..0x08FF_FFFF; the low bytes spell "HLV".
#define SBI_EXT_HVLAB  0x08484C56

// Base extension functions (§4)
#define SBI_BASE_GET_SPEC_VERSION 0
#define SBI_BASE_GET_IMPL_ID      1
#define SBI_BASE_GET_IMPL_VERSION 2
#define SBI_BASE_PROBE_EXTENSION  3

#define SBI_TIME_SET_TIMER        0
#define SBI_SRST_SYSTEM_RESET     0
#define SBI_SRST_TYPE_SHUTDOWN    0
#define SBI_SRST_REASON_NONE      0

// The hvlab PV extension's functions (docs/pv-abi.md)
#define SBI_HVLAB_INFO            0   // -> value: the hvlab execution mode
#define SBI_HVLAB_VERSION         1
#define SBI_HVLAB_MMU_UPDATE      2   // (list, count) -> value: updates applied
#define SBI_HVLAB_PIN             3   // (table, level)
#define SBI_HVLAB_UNPIN           4   // (table)
#define SBI_HVLAB_SET_ROOT        5   // (kernel root, user root, asid)
#define SBI_HVLAB_TLB_FLUSH       6   // (kind, arg)
#define SBI_HVLAB_SET_CALLBACKS   7   // (user trap handler, kernel trap handler)
#define SBI_HVLAB_IRET            8   // (frame, to_kernel)
#define SBI_HVLAB_SHARED_INFO     9   // (page)
#define SBI_HVLAB_SET_TIMER       10  // (deadline)
#define SBI_HVLAB_YIELD           11
#define SBI_HVLAB_BLOCK           12  // -> value: pending virtual interrupts
#define SBI_HVLAB_CONSOLE_WRITE   13  // (buffer, length) -> value: bytes written
#define SBI_HVLAB_GRANT_TABLE_OP  15  // (cmd, ...): Xen's GNTTABOP_* (ABI 1.2)
#define SBI_HVLAB_EVENT_CHANNEL_OP 16 // (cmd, ...): Xen's EVTCHNOP_* (ABI 1.2)
#define PV_FLUSH_PAGE 0
#define PV_FLUSH_ASID 1
#define PV_FLUSH_ALL  2

// hvlab execution modes reported by SBI_HVLAB_INFO
#define HVLAB_MODE_NATIVE       0
#define HVLAB_MODE_TRAP_EMULATE 1
#define HVLAB_MODE_HVM_SHADOW   2
#define HVLAB_MODE_HVM_NESTED   3
#define HVLAB_MODE_PV           4

// Implementation IDs (§4.9)
#define SBI_IMPL_OPENSBI  1
#define SBI_IMPL_HVLAB    0x48564C42   // "HVLB"

#define SBI_SUCCESS              0
#define SBI_ERR_NOT_SUPPORTED   -2

struct sbiret {
    i64 error;
    i64 value;
};

struct sbiret sbi_call(u64 ext, u64 fid, u64 a0, u64 a1, u64 a2);
int sbi_probe(u64 ext);   // 1 if the extension exists

#endif
