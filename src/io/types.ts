/** The I/O backends' interface, as the Vm (src/vm.ts) drives it. */
export interface IoBackend {
  readonly kind: 'host' | 'offload';
  /** host: serve that queue now (synchronously, the core stopped). offload: nothing to do. */
  notify(slot: number, queue: number): void;
  /** Input was put in the core's RX ring: host delivers it to console receive buffers now;
   * offload's worker polls the ring and needs nothing. */
  serviceInput(): void;
  /** Before the Vm rewrites guest memory or the core's records (VM reset, snapshot restore):
   * offload waits until its worker is between passes and keeps it there (host: nothing). */
  pause(): void;
  /** VM reset: the generator reseeded; queue cursors live in the core's records, which it
   * clears. Ends a pause. */
  reset(): void;
  /** A snapshot was restored: end a pause, guest memory reread, the generator goes on. */
  resume(): void;
  /** offload: requests made available and not yet used (host: never). */
  busy(): boolean;
  /** A number that changes whenever the backend has served something on its own (offload: its
   * worker's passes that found work; host: always 0, it serves only inside run()). */
  progress(): number;
  /** offload: wait (Atomics.wait) until !busy(); false on timeout (host: true at once). */
  waitIdle(timeoutMs: number): boolean;
  /** Console output not in the core's TX ring: offload's whole output since the last call;
   * host's overflow when a transmit buffer did not fit the TX ring. null when there is none. */
  drainOutput(): Uint8Array | null;
  /** The entropy generator's state, which lives in the backend, not in core memory: a snapshot
   * carries it (Vm.snapshot) so that a restored VM draws the bytes the original would have.
   * offload: call with the worker idle (waitIdle). */
  rngState(): bigint;
  /** Set the generator's state (Vm.restore); offload: the worker takes it before its next pass. */
  setRngState(x: bigint): void;
  /** Run `fn` with no backend activity beside it (offload: the worker held between two
   * passes); a snapshot is copied and restored inside. */
  quiesce<T>(fn: () => T): T;
  /** Stop the worker (offload). */
  close(): Promise<void>;
}

/** IoBackend.quiesce for a backend with pause and resume: `fn` between the two. */
export function quiesceWith<T>(backend: Pick<IoBackend, 'pause' | 'resume'>, fn: () => T): T {
  backend.pause();
  try {
    return fn();
  } finally {
    backend.resume();
  }
}
