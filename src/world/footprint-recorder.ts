/**
 * The footprint recorder of `npm run footprints` (scripts/footprints.ts): when the environment
 * variable VMAMIRROR_RECORD_FOOTPRINTS names a directory, every world built in this process records
 * what each step reads, writes, calls and whether it blocks, and `flushRecorder` (called after each
 * test file by test/helpers/record-footprints.ts) writes the record there as JSON. Off (and free)
 * otherwise.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fieldName, type FootprintRecord } from './footprint.js';

const dir = process.env.VMAMIRROR_RECORD_FOOTPRINTS;

/** The process-wide record, or null when not recording. */
export const processRecorder: FootprintRecord | null = dir ? new Map() : null;

/** Writes what was recorded so far to a new file in the directory, and forgets it. */
export function flushRecorder(): void {
  if (!dir || !processRecorder || processRecorder.size === 0) return;
  const out: Record<string, Record<string, { reads: string[]; writes: string[]; calls: string[]; blocks: boolean; spawns: boolean }>> = {};
  for (const [lib, steps] of processRecorder) {
    out[lib] = {};
    for (const [where, o] of steps)
      out[lib][where] = { reads: [...o.reads].map(fieldName).sort(), writes: [...o.writes].map(fieldName).sort(), calls: [...o.calls].sort(), blocks: o.blocks, spawns: o.spawns };
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `footprints-${randomUUID()}.json`), JSON.stringify(out));
}
