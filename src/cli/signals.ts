/**
 * Ctrl-C and SIGTERM. The search runs in a worker thread (worker.ts), so the main thread's event
 * loop stays free to receive signals; it raises a stop flag in shared memory that the worker's
 * search polls (`Atomics.load`, a few nanoseconds) at every state and between runs, and the worker
 * prints what was covered and exits 3. A second signal ends the process at once, without results.
 */

/** The stop flag: one shared Int32 holding the signal number that raised it, 0 while running. */
export class StopFlag {
  readonly cells: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.cells = new Int32Array(buffer);
  }

  get buffer(): SharedArrayBuffer {
    return this.cells.buffer as SharedArrayBuffer;
  }

  raise(signo: number): void {
    Atomics.compareExchange(this.cells, 0, 0, signo);
  }

  get raised(): boolean {
    return Atomics.load(this.cells, 0) !== 0;
  }
}

export const STOP_SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/** Where signals arrive: the process (tests pass an emitter of their own). */
interface SignalSource {
  on(s: StopSignal, f: (s: StopSignal) => void): unknown;
  off(s: StopSignal, f: (s: StopSignal) => void): unknown;
}

/**
 * Installs the handlers: the first SIGINT or SIGTERM calls `first`, any later one `again`.
 * Returns a function that removes them.
 */
export function onStopSignals(first: (s: StopSignal) => void, again: (s: StopSignal) => void, source: SignalSource = process): () => void {
  let seen = false;
  const handler = (s: StopSignal) => {
    if (seen) again(s);
    else {
      seen = true;
      first(s);
    }
  };
  const names = Object.keys(STOP_SIGNALS) as StopSignal[];
  for (const s of names) source.on(s, handler);
  return () => {
    for (const s of names) source.off(s, handler);
  };
}
