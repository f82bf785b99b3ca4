/**
 * Device accesses as events (issue 10, item 1): a DMA, a GPU job, an RDMA operation goes through a
 * device table (src/layers/table.ts) and is checked against its kind's rule (src/layers/rules.ts).
 *
 *   - `deviceAccess(w, t, i, write)` is an access at one step, checked at that step: a broken rule
 *     is left in the entry's ghost fields and reported by the `device-access` property.
 *   - `accessStart` → in flight → `accessComplete` is an access that spans steps (the device latched
 *     the translation; the job runs): while it is in flight, the translation it latched is checked
 *     after every step as a use, so "the table was cleared but the job still runs" is caught once
 *     the parent stops mapping its page (or the page is freed).
 *   - `fenceWait(w, t, start, end)` is the driver's wait for the jobs in flight through a range (a
 *     dma_fence_wait, amdgpu_vm's wait on the page-table update, dmirror's device lock held across
 *     the copy): an invalidate callback calls it before it clears the range and returns.
 *
 * The model keeps no device data: an access is checked, not performed.
 */
import type { World } from '../world/world.js';
import { BLOCK_SLEEP } from '../world/routine.js';
import { ModelError } from '../world/errors.js';
import { entryOf, tableRead, type DeviceTable } from './table.js';
import { ruleProblem } from './rules.js';

/**
 * A device access through entry `index`, checked at this step against the table's rule. Returns
 * false when the entry is invalid (or read-only for a write): the device faults, nothing is
 * accessed, and the driver's fault path runs (as dmirror_do_read → dmirror_fault).
 */
export function deviceAccess(w: World, t: DeviceTable, index: number, write: boolean): boolean {
  const { pfn, writable } = tableRead(w, t, index);
  if (pfn === 0 || (write && !writable)) return false;
  const e = entryOf(w, t, index, 'deviceAccess');
  const p = w.instrument(() => ruleProblem(w, t, index, pfn, e.gen, write ? 1 : 0, true));
  // The first violation is the one reported; the search stops at it.
  if (p && e.violation === 0) {
    e.violation = p.code;
    e.vpfn = pfn;
    e.varg = p.arg;
  }
  return true;
}

/**
 * Starts an access through entry `index` that stays in flight until `accessComplete`: the device
 * latches the translation now. False when the entry is invalid (or read-only for a write): the
 * device faults and nothing starts. One access in flight per entry (the model's bound: a
 * second start before the first completes is a model error).
 */
export function accessStart(w: World, t: DeviceTable, index: number, write: boolean): boolean {
  // One action of the device: it reads the entry and its job starts on what it read (the driver's
  // lock, if it holds one, is not what makes them one; a driver that forgets it still races with
  // the callback on the entry, not inside this action).
  return w.single(() => {
    const { pfn, writable } = tableRead(w, t, index);
    if (pfn === 0 || (write && !writable)) return false;
    const e = entryOf(w, t, index, 'accessStart');
    if (e.inflight) throw new ModelError(`${w.site}: accessStart: an access is already in flight through ${t.name}[${index}]; the model bounds in-flight accesses to one per entry`);
    e.inflight = 1;
    e.ipfn = pfn;
    e.igen = e.gen;
    e.iwrite = write ? 1 : 0;
    return true;
  });
}

/** The access in flight through entry `index` completes (the job's fence signals). */
export function accessComplete(w: World, t: DeviceTable, index: number): void {
  const e = entryOf(w, t, index, 'accessComplete');
  if (!e.inflight) throw new ModelError(`${w.site}: accessComplete: no access is in flight through ${t.name}[${index}]`);
  e.inflight = 0;
  // What it latched is forgotten: equal tables after equal jobs are equal states.
  e.ipfn = 0;
  e.igen = 0;
  e.iwrite = 0;
}

/**
 * The driver's wait for the accesses in flight through entries [start, end): BLOCK_SLEEP while any
 * is (return it as is, before writing anything), else 0. One access: the jobs' fences are read as
 * one (dma_resv / the device's fence list).
 */
export function fenceWait(w: World, t: DeviceTable, start: number, end: number): number {
  if (start < end) entryOf(w, t, end - 1, 'fenceWait');
  return w.single(() => {
    for (let i = start; i < end; i++) if (entryOf(w, t, i, 'fenceWait').inflight) return BLOCK_SLEEP;
    return 0;
  });
}
