/**
 * The kernel objects behind a trace's page tables, as plain tables read from a world: who is
 * registered for notifications (mmu_interval_notifier, mmu_notifier, v5.3 hmm_mirror), the HMM
 * ranges in flight, the sequence numbers the retry protocols compare, and every lock with its
 * holder. The trace (trace.ts) reads them after every step; the HTML report shows those of the
 * selected step, `vmamirror replay --tables` those after one step (text.ts `stateTablesText`).
 *
 * Only structs the layout has give a table, and only objects in use give a row (a notifier with an
 * mm, an HMM range with a field set); a table without rows is left out. Every value is read from
 * the state array (`w.v`), so reading a table is no access of the model's.
 */
import { HMM_MIRROR, HMM_RANGE, MIN, MIN_DEFERRED_INSERT, MIN_DEFERRED_REMOVE, MIN_INSERTED, MIN_UNUSED, MM, MN, PAGE } from '../kernel/structs.js';
import { HMM_PFN_ERROR, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, HMM_PFN_SPECIAL, hmmPfnToPfn, hmmPfnValid, hmmPfnWritable } from '../kernel/hmm/hmm-pfn.js';
import { HMM_PFN_FIELDS, HMM_RANGE_NOW } from '../kernel/hmm/hmm-range.js';
import { KVM } from '../kvm/structs.js';
import type { Protection, Region, StructDef } from '../world/layout.js';
import type { World } from '../world/world.js';

/** One table: a title, its columns, and its rows of cells (the first cell names the row's object). */
export interface StateTable {
  /** Stable id, used in `data-testid`s: `state-ID`. */
  readonly id: string;
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const NONE = '-';

const MIN_STATES: Record<number, string> = {
  [MIN_UNUSED]: 'unused',
  [MIN_INSERTED]: 'inserted (in the interval tree)',
  [MIN_DEFERRED_INSERT]: 'deferred insert (on deferred_list until the epoch ends)',
  [MIN_DEFERRED_REMOVE]: 'deferred remove (in the tree, on deferred_list)',
};

/** The ops pointers of a classic subscription and of a v5.3 mirror, by the kernel's names. */
const MN_OPS = [
  ['invalidateRangeStart', 'invalidate_range_start'],
  ['invalidateRangeEnd', 'invalidate_range_end'],
  ['release', 'release'],
] as const;
const MIRROR_OPS = [
  ['sync', 'sync_cpu_device_pagetables'],
  ['release', 'release'],
] as const;

/** Reads fields of one region's objects straight from the state. */
class Reader {
  constructor(private readonly w: World) {}

  has(def: StructDef): boolean {
    return this.w.layout.has(def);
  }

  count(def: StructDef): number {
    return this.w.layout.region(def).count;
  }

  get(def: StructDef, i: number, field: string): number {
    return this.w.v[this.w.layout.slot(def, i, field)];
  }

  /** `struct[name]`, as the trace's changes write the object. */
  name(def: StructDef, i: number): string {
    const L = this.w.layout;
    return `${def.name}[${L.objectName(L.region(def), i)}]`;
  }

  /** What reference field `field` of object `i` points at (`mm[source]`), or `-`. */
  target(def: StructDef, i: number, field: string, to: StructDef): string {
    const r = this.get(def, i, field);
    return r > 0 && this.has(to) && r <= this.count(to) ? this.name(to, r - 1) : r === 0 ? NONE : `?${r}`;
  }

  /** The routine an ops pointer holds (`routineRef`: id + 1), or undefined for none. */
  routine(ref: number): string | undefined {
    return ref > 0 ? (this.w.model.routines[ref - 1]?.name ?? `#${ref}`) : undefined;
  }

  /** The actor a lock word names (actor + 1), `-` when free. */
  actor(tag: number): string {
    return tag === 0 ? NONE : (this.w.layout.actorNames[tag - 1] ?? `?${tag}`);
  }
}

/** An HMM pfn entry (hmm-pfn.ts) in words: `pfn 1, valid, write`, `none`, `error`. */
export function hmmPfnText(e: number): string {
  if (e === 0) return 'none';
  const flags = [hmmPfnValid(e) && 'valid', hmmPfnWritable(e) && 'write', e & HMM_PFN_ERROR && 'error', e & HMM_PFN_SPECIAL && 'special'].filter(Boolean);
  return [hmmPfnValid(e) ? `pfn ${hmmPfnToPfn(e)}` : '', ...flags].filter(Boolean).join(', ');
}

function notifierTables(r: Reader): StateTable[] {
  const tables: StateTable[] = [];
  if (r.has(MIN)) {
    const rows: string[][] = [];
    for (let i = 0; i < r.count(MIN); i++) {
      const state = r.get(MIN, i, 'state');
      if (state === MIN_UNUSED && r.get(MIN, i, 'mm') === 0) continue;
      const ops = r.routine(r.get(MIN, i, 'invalidate'));
      rows.push([r.name(MIN, i), r.target(MIN, i, 'mm', MM), `${r.get(MIN, i, 'start')}..${r.get(MIN, i, 'last')}`, MIN_STATES[state] ?? `?${state}`, String(r.get(MIN, i, 'seq')), ops ?? NONE]);
    }
    tables.push({
      id: 'interval-notifiers',
      title: 'Interval notifiers (struct mmu_interval_notifier)',
      columns: ['notifier', 'mm', 'vpn start..last', 'state', 'seq', 'ops->invalidate'],
      rows: byMm(rows),
    });
  }
  const rows: string[][] = [];
  const classic = (def: StructDef, ops: readonly (readonly [string, string])[]) => {
    if (!r.has(def)) return;
    for (let i = 0; i < r.count(def); i++) {
      if (r.get(def, i, 'mm') === 0) continue; // not registered
      const set = ops.flatMap(([field, name]) => {
        const fn = r.routine(r.get(def, i, field));
        return fn ? [`${name}=${fn}`] : [];
      });
      rows.push([r.name(def, i), r.target(def, i, 'mm', MM), set.join(', ') || NONE, String(r.get(def, i, 'priv') || NONE)]);
    }
  };
  classic(MN, MN_OPS);
  classic(HMM_MIRROR, MIRROR_OPS);
  tables.push({ id: 'notifiers', title: 'Classic notifiers (struct mmu_notifier; v5.3 struct hmm_mirror)', columns: ['notifier', 'mm', 'ops set', 'priv (ref)'], rows: byMm(rows) });
  return tables;
}

/** Rows grouped by their mm (column 1), in the order the mms first appear; stable within one mm. */
function byMm(rows: string[][]): string[][] {
  const mms = [...new Set(rows.map((row) => row[1]))];
  return mms.flatMap((mm) => rows.filter((row) => row[1] === mm));
}

function hmmRangeTable(r: Reader): StateTable[] {
  if (!r.has(HMM_RANGE)) return [];
  const rows: string[][] = [];
  for (let i = 0; i < r.count(HMM_RANGE); i++) {
    const f = (field: string) => r.get(HMM_RANGE, i, field);
    if (HMM_RANGE.fields.every((field) => f(field) === 0)) continue; // never used
    rows.push([r.name(HMM_RANGE, i), r.target(HMM_RANGE, i, 'mm', MM), `${f('start')}..${f('end')}`, String(f('valid')), String(f('pfn')), hmmPfnText(f('pfn'))]);
  }
  return [{ id: 'hmm-ranges', title: 'HMM ranges (v5.3 struct hmm_range; mm set while on hmm->ranges)', columns: ['range', 'mm', 'vpn start..end', 'valid', 'pfns[0]', 'decoded'], rows }];
}

/** Today's `struct hmm_range`, one per actor (on its stack: hmm-range.ts), those a driver filled in. */
function hmmRangeNowTable(r: Reader): StateTable[] {
  if (!r.has(HMM_RANGE_NOW)) return [];
  const rows: string[][] = [];
  for (let i = 0; i < r.count(HMM_RANGE_NOW); i++) {
    const f = (field: string) => r.get(HMM_RANGE_NOW, i, field);
    if (HMM_RANGE_NOW.fields.every((field) => f(field) === 0)) continue; // never used
    const request = (x: number) => [x & HMM_PFN_REQ_FAULT && 'REQ_FAULT', x & HMM_PFN_REQ_WRITE && 'REQ_WRITE'].filter(Boolean).join(' | ') || '0';
    const pfns = HMM_PFN_FIELDS.slice(0, Math.max(0, f('end') - f('start'))).map((field) => hmmPfnText(f(field)) || 'none');
    rows.push([
      r.name(HMM_RANGE_NOW, i),
      r.target(HMM_RANGE_NOW, i, 'notifier', MIN),
      String(f('notifierSeq')),
      `${f('start')}..${f('end')}`,
      request(f('defaultFlags')),
      request(f('pfnFlagsMask')),
      pfns.join('; '),
    ]);
  }
  return [
    {
      id: 'hmm-ranges-now',
      title: "HMM ranges (today's struct hmm_range, on each task's stack)",
      columns: ['range', 'notifier', 'notifier_seq', 'vpn start..end', 'default_flags', 'pfn_flags_mask', 'hmm_pfns'],
      rows,
    },
  ];
}

function sequenceTable(r: Reader): StateTable[] {
  const rows: string[][] = [];
  if (r.has(MM)) {
    for (let i = 0; i < r.count(MM); i++) {
      const f = (field: string) => r.get(MM, i, field);
      if (!f('hasNotifiers') && !f('invalidateSeq') && !f('activeInvalidateRanges') && !f('hmm')) continue; // no subscriptions
      const seq = f('invalidateSeq');
      rows.push([r.name(MM, i), 'notifier_subscriptions->invalidate_seq', String(seq), seq % 2 ? 'odd: an invalidation epoch is open' : 'even: idle']);
      const active = f('activeInvalidateRanges');
      rows.push([r.name(MM, i), 'notifier_subscriptions->active_invalidate_ranges', String(active), active ? 'invalidate_range_start calls not yet ended' : 'no invalidation running']);
      const hmm = f('hmmNotifiers');
      if (f('hmm') || hmm) rows.push([r.name(MM, i), 'hmm->notifiers (v5.3)', String(hmm), hmm ? 'invalidations in progress: hmm_range_register marks new ranges invalid' : 'no invalidation running']);
    }
  }
  if (r.has(MIN)) {
    for (let i = 0; i < r.count(MIN); i++) {
      if (r.get(MIN, i, 'state') === MIN_UNUSED && r.get(MIN, i, 'mm') === 0) continue;
      rows.push([r.name(MIN, i), 'invalidate_seq', String(r.get(MIN, i, 'seq')), 'set by mmu_interval_set_seq; mmu_interval_read_retry compares it with what read_begin returned']);
    }
  }
  if (r.has(KVM)) {
    for (let i = 0; i < r.count(KVM); i++) {
      const f = (field: string) => r.get(KVM, i, field);
      const n = f('invalidateInProgress');
      rows.push([r.name(KVM, i), 'mmu_invalidate_seq', String(f('invalidateSeq')), 'bumped at the end of each invalidation (mmu_invalidate_retry compares it)']);
      rows.push([r.name(KVM, i), 'mmu_invalidate_in_progress', String(n), n ? `invalidating gfn ${f('rangeStart')}..${f('rangeEnd')} (end exclusive): faults retry` : 'no invalidation in progress']);
    }
  }
  return [{ id: 'sequences', title: 'Sequence numbers', columns: ['object', 'counter', 'value', 'meaning'], rows }];
}

/** The lock class of a protection `lock-word:CLASS` / `lock-readers:CLASS` (`-` for a bare `lock-word`). */
function lockClass(p: Protection | undefined): { kind: 'owner' | 'readers'; cls: string } | undefined {
  if (p === 'lock-word') return { kind: 'owner', cls: NONE };
  if (p?.startsWith('lock-word:')) return { kind: 'owner', cls: p.slice('lock-word:'.length) };
  if (p?.startsWith('lock-readers:')) return { kind: 'readers', cls: p.slice('lock-readers:'.length) };
  return undefined;
}

/**
 * Every lock of the layout — each object's lock words of one class are one lock (an rwsem's writer
 * and reader count) — with its holder. Readers are counted, not named: the read holders shown are
 * the actors that count a read hold of the class (`read-holds:CLASS`, lockdep's held-lock list).
 */
function lockTable(w: World, r: Reader): StateTable[] {
  const L = w.layout;
  const rows: string[][] = [];
  const readHolders = (cls: string) => {
    const prot = w.protections;
    const h = prot.readHolds[prot.classes.indexOf(cls)];
    if (!h) return [];
    return L.actorNames.filter((_, a) => a < h.count && w.v[h.base + a * h.stride] > 0);
  };
  const lockRegion = (reg: Region) => {
    const fields = reg.def.fields.flatMap((field, k) => {
      const lock = lockClass((reg.def.protect as Record<string, Protection | undefined>)[field]);
      return lock ? [{ k, ...lock }] : [];
    });
    for (const cls of new Set(fields.map((f) => f.cls))) {
      const owner = fields.find((f) => f.cls === cls && f.kind === 'owner');
      const readers = fields.find((f) => f.cls === cls && f.kind === 'readers');
      for (let i = 0; i < reg.count; i++) {
        if (reg.def === PAGE && i === 0) continue; // pfn 0 means "no page": never allocated, never locked
        const base = reg.base + i * reg.stride;
        const n = readers ? w.v[base + readers.k] : 0;
        const who = n > 0 ? readHolders(cls) : [];
        const readText = !readers ? NONE : n > 0 && who.length ? `${n} (read holders of the class: ${who.join(', ')})` : String(n);
        rows.push([r.name(reg.def, i), cls, owner ? r.actor(w.v[base + owner.k]) : NONE, readText]);
      }
    }
  };
  L.regions.forEach(lockRegion);
  return [{ id: 'locks', title: 'Locks and holders (a writer or owner by actor; readers counted)', columns: ['object', 'lock class', 'held by', 'readers'], rows }];
}

/** Every table of the state `w` holds, those without rows left out. */
export function stateTables(w: World): StateTable[] {
  const r = new Reader(w);
  return [...notifierTables(r), ...hmmRangeTable(r), ...hmmRangeNowTable(r), ...sequenceTable(r), ...lockTable(w, r)].filter((t) => t.rows.length > 0);
}
