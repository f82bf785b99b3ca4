/**
 * Device translation tables as typed secondary layers (issue 10, item 1): the table a real
 * secondary MMU keeps of its own — a GPU VM, an RDMA MTT, dmirror's device table
 * (lib/test_hmm.c: dmirror->pt), an IOMMU's — declared by a driver with `defineTable` and listed in
 * `DriverSpec.tables`. Its entries are plain data in the state (one `struct` object per entry: the
 * pfn, the write bit, the page's allocation generation at install, and what the device's accesses
 * through it are doing, src/layers/access.ts), and its *kind* says which rule the kernel imposes on
 * it (include/linux/mmu_notifier.h, the comment above `invalidate_range_start`):
 *
 *   - `no-page-refs` — the table holds no page reference (dmirror, the seed's mirror, KVM's EPT):
 *     "the VM will remove the page table entries and potentially the page between
 *     invalidate_range_start() and invalidate_range_end()", so its entries for a range are gone by
 *     the time start (or the interval callback) returns. Observable in the model as: every entry
 *     is a sub-mapping of its parent pte at every step, of the page generation it was made with.
 *   - `page-refs` — the table holds a reference on each page it maps (GUP-pinned): "if the
 *     refcount is only dropped on invalidate_range_end() then the driver itself will drop the last
 *     refcount", so an entry may lag its parent while an invalidation window covering it is open,
 *     must never map a freed (or freed and reused) page, and matches its parent outside windows.
 *   - `cache` — a translation cache gated by a valid bit or a generation (KVM's gfn→pfn cache,
 *     vhost's map): a stale entry is not checked; a *use* is (an access must hit a live page its
 *     parent maps now).
 *   - `strict` — the opt-in "matches the parent now" for every entry. In this model it is the same
 *     check as `no-page-refs`: the kernel's deadline for a table without references (gone before
 *     start returns) cannot be observed before the first step that changes the parent pte, which
 *     is where "a sub-mapping of the parent now" first fails, and a frame freed and reused at the
 *     same address is told apart by its generation in both. It is the name to give a table whose
 *     real kind is laxer when the driver wants the strongest rule.
 *
 * The rules are checked by the generic properties `device-table` and `device-access`
 * (src/layers/properties.ts), for every table of every driver, with no code of the driver's.
 */
import { defineStruct, type Layout, type Protection, type StructDef } from '../world/layout.js';
import type { World } from '../world/world.js';
import { MM, PAGE, PAGE_GEN } from '../kernel/structs.js';
import { deref } from '../kernel/ref.js';
import { MIRROR } from '../mirror/device.js';
import { DriverError, type DriverState } from '../driver/define.js';
import { ModelError } from '../world/errors.js';

/** The kinds of table, each the rule the kernel imposes on it (see the file comment). */
export const TABLE_KINDS = ['no-page-refs', 'page-refs', 'cache', 'strict'] as const;
export type TableKind = (typeof TABLE_KINDS)[number];

/** Kinds the issue names that need a layer the model does not have yet, with what is missing. */
const NOT_YET: Readonly<Record<string, string>> = {
  'cpu-tlb':
    'a TLB that shares the CPU page tables (IOMMU SVA) has the CPU TLB flush as its deadline, and the model has no CPU TLB layer yet; declare the table no-page-refs (its entries gone before invalidate_range_start returns) meanwhile',
};

/** The fields of one entry (one object of the table's struct per entry). */
const ENTRY_FIELDS = [
  'pfn', // the frame the entry translates to; 0 = invalid (the device faults)
  'writable', // the device may write through it
  'gen', // ghost: the page's allocation generation at install (a freed-and-reused frame differs)
  'inflight', // accesses in flight through the entry (0 or 1): the device's job, what a fence waits on
  'ipfn', // ghost: the translation the in-flight access latched when it started…
  'igen', // …the generation of its page…
  'iwrite', // …and whether it writes
  'violation', // ghost: a point access that broke the kind's rule (a Problem code, src/layers/rules.ts), 0 = none
  'vpfn', // ghost: the pfn that access used
  'varg', // ghost: what the parent mapped instead (the problem's argument)
] as const;
export type EntryField = (typeof ENTRY_FIELDS)[number];

/** What a driver declares for a table (`defineTable`). */
export interface TableSpec {
  /** Lower-case letters, digits and dashes; names the table's entries in traces (`gpu-vm[1].pfn`). */
  readonly name: string;
  readonly kind: TableKind;
  /** Entries per device: entry i translates page i of the parent (the device's source range). */
  readonly entries: number;
  /** The layer the table translates: the mirrored process (the device's source mm). */
  readonly parent: 'source';
  /** What protects an entry's pfn and write bit (default `lock:driver`: the driver's update lock). */
  readonly protect?: Protection;
  /**
   * The subscriber's own count of invalidations in progress (KVM's mmu_invalidate_in_progress, an
   * ODP notifier count) for a driver with a classic mmu_notifier, whose windows the kernel does not
   * count: a `page-refs` table may lag while it is nonzero. Object `dev` of `struct` (one per
   * device), raised by the driver's invalidate_range_start and lowered by its end (declare it
   * `balanced` too). Without it, a window is open while the parent mm has an invalidation active
   * (`active_invalidate_ranges`, kept for every mm with an interval tree).
   */
  readonly window?: { readonly struct: StructDef; readonly field: string };
}

/** A table as `defineTable` checked it: its spec and the struct of its entries. */
export interface DeviceTable extends Required<Omit<TableSpec, 'window'>> {
  readonly struct: StructDef<EntryField>;
  readonly window?: TableSpec['window'];
}

const NAME = /^[a-z][a-z0-9-]*$/;
/** Every table defined in this process, by the struct of its entries. */
const tables = new Map<StructDef, DeviceTable>();

/** Declares a device translation table; a mistake is a `DriverError` naming the table. */
export function defineTable(spec: TableSpec): DeviceTable {
  const bad = (what: string): never => {
    throw new DriverError(`defineTable: ${what}`);
  };
  if (typeof spec !== 'object' || spec === null) bad('expected { name, kind, entries, parent }');
  if (typeof spec.name !== 'string' || !NAME.test(spec.name)) bad(`name: expected lower-case letters, digits and dashes, got ${JSON.stringify(spec.name)}`);
  const at = `table "${spec.name}"`;
  if (typeof spec.kind === 'string' && Object.hasOwn(NOT_YET, spec.kind)) bad(`${at}: kind ${spec.kind} is not modelled yet: ${NOT_YET[spec.kind]}`);
  if (!TABLE_KINDS.includes(spec.kind)) bad(`${at}: kind: expected one of ${TABLE_KINDS.join(', ')}, got ${JSON.stringify(spec.kind)}`);
  if (!Number.isSafeInteger(spec.entries) || spec.entries < 1) bad(`${at}: entries: expected the number of entries per device (at least 1)`);
  if (spec.parent !== 'source') bad(`${at}: parent: expected 'source' (the mirrored process), got ${JSON.stringify(spec.parent)}`);
  const protect = spec.protect ?? 'lock:driver';
  if (typeof protect !== 'string' || !/^lock:.+$|^(atomic|lockless|rcu)$/.test(protect)) bad(`${at}: protect: expected 'lock:CLASS' (default 'lock:driver'), 'atomic', 'lockless' or 'rcu'`);
  const win = spec.window;
  if (win !== undefined && (typeof win !== 'object' || win === null || !win.struct?.fields?.includes(win.field))) {
    bad(`${at}: window: expected { struct, field }, a counter field of one of the driver's state structs`);
  }
  if ([...tables.values()].some((t) => t.name === spec.name)) bad(`${at}: the name is another table's; choose another`);
  const struct = defineStruct(
    spec.name,
    ENTRY_FIELDS,
    {
      pfn: protect,
      writable: protect,
      gen: 'ghost',
      inflight: 'atomic', // the job's fence: signalled by the device, waited on by the driver
      ipfn: 'ghost',
      igen: 'ghost',
      iwrite: 'ghost',
      violation: 'ghost',
      vpfn: 'ghost',
      varg: 'ghost',
    },
    { counters: { gen: PAGE_GEN, igen: PAGE_GEN } },
  );
  const table: DeviceTable = Object.freeze({ name: spec.name, kind: spec.kind, entries: spec.entries, parent: spec.parent, protect, struct, ...(win && { window: win }) });
  tables.set(struct, table);
  return table;
}

/**
 * A driver's `tables` as regions of its state (`count` entries per device, all invalid at start);
 * `bad` throws the DriverError. A window counter must be of the driver's own state (`own`).
 */
export function tableState(at: string, list: unknown, own: readonly DriverState[], bad: (what: string) => never): DriverState[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) bad(`${at}: tables: expected a list of tables made with defineTable`);
  const seen = new Set<DeviceTable>();
  return (list as unknown[]).map((t, i) => {
    const table = t as DeviceTable;
    if (typeof t !== 'object' || t === null || tableOf(table.struct) !== table) bad(`${at}: tables[${i}]: expected a table made with defineTable of this vmamirror`);
    if (seen.has(table)) bad(`${at}: tables[${i}]: table ${table.name} is listed twice`);
    seen.add(table);
    if (table.window && !own.some((st) => st.struct === table.window!.struct)) {
      bad(`${at}: table ${table.name}: window: struct ${table.window.struct.name} is not one of the driver's state structs; list it in state`);
    }
    return Object.freeze({ struct: table.struct, count: table.entries });
  });
}

/** The table whose entries `def` holds, if it is one. */
export function tableOf(def: StructDef): DeviceTable | undefined {
  return tables.get(def);
}

const inLayout = new WeakMap<Layout, readonly DeviceTable[]>();

/** The tables a world's layout holds (regions of driver state: src/driver/define.ts). */
export function tablesIn(layout: Layout): readonly DeviceTable[] {
  let found = inLayout.get(layout);
  if (!found) {
    found = layout.regions.flatMap((r) => tableOf(r.def) ?? []);
    inLayout.set(layout, found);
  }
  return found;
}

/** Entry `index` of `t` in this world; another index is a model error naming the driver's step. */
export function entryOf(w: World, t: DeviceTable, index: number, who: string) {
  const n = w.count(t.struct);
  if (!Number.isInteger(index) || index < 0 || index >= n) throw new ModelError(`${w.site || 'set-up'}: ${who}: table ${t.name} has entries 0..${n - 1}; got ${index}`);
  return w.obj(t.struct, index);
}

/** Entry `i` of device `dev`'s table: its index (devices' entries lie back to back). */
export function tableIndex(t: DeviceTable, dev: number, i: number): number {
  return dev * t.entries + i;
}

/** Reads an entry (one access: an entry is one word of the device's table). */
export function tableRead(w: World, t: DeviceTable, index: number): { readonly pfn: number; readonly writable: boolean } {
  const e = entryOf(w, t, index, 'tableRead');
  return w.single(() => ({ pfn: e.pfn, writable: e.writable !== 0 }));
}

/** Installs `pfn` at `index` (the device's page-table write), remembering the page's generation. */
export function tableInstall(w: World, t: DeviceTable, index: number, pfn: number, writable: boolean): void {
  const e = entryOf(w, t, index, 'tableInstall');
  if (!Number.isInteger(pfn) || pfn < 1 || pfn >= w.count(PAGE))
    throw new ModelError(`${w.site || 'set-up'}: tableInstall: table ${t.name}[${index}]: pfn ${pfn} is no page frame (1..${w.count(PAGE) - 1})`);
  w.single(() => {
    e.pfn = pfn;
    e.writable = writable ? 1 : 0;
  });
  e.gen = w.instrument(() => w.obj(PAGE, pfn).gen);
}

/** Clears entry `index` (the device stops translating it; the driver flushes its TLB in the same step). */
export function tableClear(w: World, t: DeviceTable, index: number): void {
  const e = entryOf(w, t, index, 'tableClear');
  w.single(() => {
    e.pfn = 0;
    e.writable = 0;
  });
  e.gen = 0;
}

/** Clears entries [start, end) of the table, as one update of the device's table under its lock. */
export function tableClearRange(w: World, t: DeviceTable, start: number, end: number): void {
  for (let i = start; i < end; i++) tableClear(w, t, i);
}

/** The entries [a, b) of device `dev`'s table that translate source pages [start, end); empty if none. */
export function sourceRangeToTable(w: World, t: DeviceTable, dev: number, start: number, end: number): [number, number] {
  const d = w.obj(MIRROR, dev);
  const a = Math.max(start, d.srcStart);
  const b = Math.min(end, d.srcStart + Math.min(d.npages, t.entries));
  return a >= b ? [0, 0] : [tableIndex(t, dev, a - d.srcStart), tableIndex(t, dev, b - d.srcStart)];
}

/** The parent of entry `index`: the device's source mm and the vpn the entry translates. */
export function parentOf(w: World, t: DeviceTable, index: number): { readonly mm: number; readonly vpn: number; readonly dev: number } {
  const dev = Math.floor(index / t.entries);
  const d = w.obj(MIRROR, dev);
  return { mm: deref(d.srcMm, 'mirror.srcMm'), vpn: d.srcStart + (index % t.entries), dev };
}

/**
 * Whether an invalidation window that may cover entries of device `dev` is open: the parent mm has
 * an invalidation between start and end (`active_invalidate_ranges`, counted for every mm with an
 * interval tree, mm/mmu_notifier.c:mn_itree_inv_start_range), or the table's declared subscriber
 * count is nonzero. The model keeps no range for an open window, so any window on the parent counts
 * as covering (the rule is laxer, never stricter, than the kernel's).
 */
export function windowOpen(w: World, t: DeviceTable, dev: number): boolean {
  const { mm } = parentOf(w, t, tableIndex(t, dev, 0));
  if (w.obj(MM, mm).activeInvalidateRanges > 0) return true;
  if (!t.window) return false;
  const per = w.count(t.window.struct) / w.count(MIRROR);
  return (w.obj(t.window.struct, dev * per) as Record<string, number>)[t.window.field] > 0;
}
