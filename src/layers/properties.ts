/**
 * The generic properties of device tables (src/layers/table.ts): every table of every driver, by
 * its kind's rule (src/layers/rules.ts), with no code of the driver's. Registered in PROPERTIES
 * (src/check/properties.ts); a world without tables has nothing for them to check.
 */
import type { Property } from '../engine/verdict.js';
import type { World } from '../world/world.js';
import { tablesIn, type DeviceTable } from './table.js';
import { describeProblem, entryName, ruleProblem } from './rules.js';
import { quiescent } from '../check/balance.js';

/** Calls `f` for every entry of every table of `w`; the first message it returns. */
function forEachEntry(w: World, f: (t: DeviceTable, index: number) => string | undefined): string | undefined {
  for (const t of tablesIn(w.layout)) {
    const n = w.count(t.struct);
    for (let i = 0; i < n; i++) {
      const msg = f(t, i);
      if (msg) return msg;
    }
  }
  return undefined;
}

export const deviceTable: Property = {
  name: 'device-table',
  description:
    "every entry of a driver's device table keeps its kind's rule (include/linux/mmu_notifier.h): no-page-refs and strict entries are sub-mappings of the parent pte at every step, of the frame generation they were made with; page-refs entries never map a freed frame and match the parent outside open invalidation windows; cache entries are checked when used",
  check(w) {
    return forEachEntry(w, (t, i) => {
      const e = w.obj(t.struct, i);
      if (e.pfn === 0) return undefined;
      const p = ruleProblem(w, t, i, e.pfn, e.gen, e.writable, false);
      return p && describeProblem(w, t, i, `device table ${entryName(t, i)} maps`, e.pfn, p);
    });
  },
};

export const deviceAccess: Property = {
  name: 'device-access',
  description:
    "every device access through a table (a DMA, a GPU job, an RDMA operation) hits a live frame under its table's rule at the step it happens and, while in flight, at every step until it completes, which it does before every actor has finished: the invalidate callback must wait for it (a fence) before the parent's pte changes",
  check(w) {
    if (tablesIn(w.layout).length === 0) return undefined;
    const done = quiescent(w);
    return forEachEntry(w, (t, i) => {
      const e = w.obj(t.struct, i);
      if (e.inflight && done) return `an access through ${entryName(t, i)} is still in flight once every actor has finished: its job never completed (accessComplete)`;
      if (e.violation) return describeProblem(w, t, i, `a device access through ${entryName(t, i)} used`, e.vpfn, { code: e.violation, arg: e.varg });
      if (!e.inflight) return undefined;
      const p = ruleProblem(w, t, i, e.ipfn, e.igen, e.iwrite, true);
      if (!p) return undefined;
      const cleared = e.pfn === 0 ? ' (its entry was cleared while it was in flight: the job still runs)' : '';
      return `${describeProblem(w, t, i, `an access in flight through ${entryName(t, i)} uses`, e.ipfn, p)}${cleared}`;
    });
  },
};
