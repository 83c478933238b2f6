// The walk recorder: while a traced translation runs (mmu/walktrace.ts), the one page walk
// (mmu/walk.ts) records every PTE it reads here instead of counting it, and leaves A/D alone.
// Kept apart from walktrace.ts so that walk.ts can import it without a cycle.
//
//   record (40 bytes): stage u32 | level u32 | outcome u32 | 0 u32 | input u64 | ptePa u64 | pte u64
//   input: the address this walk translates (gVA, gPA, VA); ptePa: the PTE's address in the
//   stage's physical space (gPA for the VS and guest stages, host-physical otherwise).

import { Counter } from '../counter-ids';

export const TRACE_MAX: u32 = 32;
export const TRACE_RECORD_BYTES: u32 = 40;
// All of the trace's state is one block of static data (1.4 KiB, copied by each world switch
// with the rest, docs/multi-vm.md): the recorder's state, the result, then the records. Only a
// trace writes it, so a snapshot differs after a trace in this block alone (the tests check).
const STATE_BYTES: usize = 16;
/** Bytes walktrace.ts keeps at TRACE_SCRATCH + TRACE_RESULT_OFFSET (its TraceResult and more). */
export const TRACE_RESULT_BYTES: usize = 80;
export const TRACE_SCRATCH_BYTES: usize = STATE_BYTES + TRACE_RESULT_BYTES + <usize>(TRACE_MAX * TRACE_RECORD_BYTES);
export const TRACE_SCRATCH: usize = memory.data(<i32>TRACE_SCRATCH_BYTES, 16);
export const TRACE_RESULT: usize = TRACE_SCRATCH + STATE_BYTES;
export const TRACE_RECORDS: usize = TRACE_RESULT + TRACE_RESULT_BYTES;

/** Which walk a reference belongs to (docs/walk-trace.md). */
export const STAGE_SINGLE: u32 = 0; // the table the hart walks: native, shadow (TE, hvm-shadow), pv
export const STAGE_VS: u32 = 1;     // the guest's VS-stage table (hvm-nested)
export const STAGE_G: u32 = 2;      // the hypervisor's G-stage table (hvm-nested)
export const STAGE_GUEST: u32 = 3;  // the guest's own table, walked as a shadow fill walks it
export const STAGE_RMAP: u32 = 4;   // a reverse-map entry of the final guest frame (shadow)

/** What the walk made of one reference. */
export const REF_NEXT: u32 = 0;       // a pointer to the next level's table
export const REF_LEAF: u32 = 1;       // a leaf that allows the access
export const REF_INVALID: u32 = 2;    // V = 0: page fault (privileged spec 4.3.2 step 3)
export const REF_RESERVED: u32 = 3;   // W without R, or reserved bits set: page fault (step 3)
export const REF_NO_PTE: u32 = 4;     // the PTE's address is not memory, or its G-stage failed
export const REF_TOO_DEEP: u32 = 5;   // a pointer at level 0: page fault (step 4)
export const REF_PERM: u32 = 6;       // a leaf that forbids the access: page fault (step 5)
export const REF_MISALIGNED: u32 = 7; // a superpage whose low PPN bits are not 0 (step 6)
export const REF_NPWC_HIT: u32 = 8;   // the G-stage translation came from the nested PWC
export const REF_RMAP: u32 = 9;       // a shadow PTE that maps the frame writable (rmap slot)

@unmanaged export class WalkTraceState {
  on: u32 = 0;
  n: u32 = 0;
}
export const traceState = changetype<WalkTraceState>(TRACE_SCRATCH);

/** The trace stage of a walk counted in `refs` (each stage's walks count in their own counter). */
function stageOf(refs: Counter): u32 {
  if (refs == Counter.WALK_REFS_VS) return STAGE_VS;
  if (refs == Counter.WALK_REFS_G) return STAGE_G;
  if (refs == Counter.WALK_REFS_SHADOW) return STAGE_GUEST;
  return STAGE_SINGLE;
}

export function traceRecord(stage: u32, level: i32, input: u64, ptePa: u64, pte: u64, outcome: u32): void {
  if (traceState.n >= TRACE_MAX) return;
  const r = TRACE_RECORDS + <usize>(traceState.n * TRACE_RECORD_BYTES);
  store<u32>(r, stage);
  store<u32>(r, <u32>level, 4);
  store<u32>(r, outcome, 8);
  store<u32>(r, 0, 12);
  store<u64>(r, input, 16);
  store<u64>(r, ptePa, 24);
  store<u64>(r, pte, 32);
  traceState.n++;
}

/** Called by walk() for each reference while tracing. */
export function traceRef(refs: Counter, level: i32, input: u64, ptePa: u64, pte: u64, outcome: u32): void {
  traceRecord(stageOf(refs), level, input, ptePa, pte, outcome);
}
