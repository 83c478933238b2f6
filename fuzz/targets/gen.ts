/**
 * Structured code for the targets that aim at one mechanism (page tables, MMIO, hypercalls,
 * virtio): constants come from the harness pool through s9, successes are counted in s11.
 */
import { Code, X, add, ld, sltu } from '../asm.js';
import { CODE_BYTES, POOL_USABLE } from '../harness.js';

export class Gen {
  readonly code = new Code();
  readonly consts: bigint[] = [];
  /** Room left for `words` more instructions and `consts` more constants. */
  fits(words: number, consts = 0): boolean {
    return this.code.here + words * 4 + 4 <= CODE_BYTES && this.consts.length + consts <= POOL_USABLE;
  }
  /** rd = v, loaded from the pool. */
  li(rd: number, v: bigint): void {
    let i = this.consts.indexOf(v);
    if (i < 0) { i = this.consts.length; this.consts.push(v); }
    this.code.emit(ld(rd, X.s9, i * 8));
  }
  /** s11 += (rs != 0), using t6. */
  countNonzero(rs: number): void {
    this.code.emit(sltu(X.t6, X.zero, rs), add(X.s11, X.s11, X.t6));
  }
  emit(...w: number[]): void { this.code.emit(...w); }
  bytes(): Uint8Array { return this.code.bytes(); }
}
