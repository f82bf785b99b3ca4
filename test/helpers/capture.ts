/** What `main` prints, captured per test when the command runs in-process: console.log lines and stderr writes. */
import { afterEach, beforeEach, vi } from 'vitest';

export interface Captured {
  out: string[];
  err: string[];
}

/** Installs the capture around every test of the calling file; the arrays are fresh for each test. */
export function captureOutput(): Captured {
  const io: Captured = { out: [], err: [] };
  beforeEach(() => {
    io.out = [];
    io.err = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void io.out.push(a.join(' ')));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      io.err.push(String(s));
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());
  return io;
}
