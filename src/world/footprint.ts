/**
 * Declared footprints: for every label of a library's routines, the struct fields the step reads
 * and writes (`pte.present`, or `pte.*` for every field of a struct), the routines it may call
 * (`ops` for a call through an ops pointer stored in the state), whether it may block, and whether
 * it starts other actors. A library registers its table with `Library.declare`; the runner checks
 * every step it runs while auditing (`w.audit`: traces, replays and tests audit; the explorer's
 * hot path does not unless asked): an access, call or block the step did not declare is a
 * `ModelError` naming the routine, the label and what is missing. `explain` prints the tables
 * beside each step with each field's protection (layout.ts `Protection`), and the lock-discipline
 * and reduction work builds on the same declarations.
 *
 * Tables are written by hand or regenerated from what the test suite observes
 * (`npm run footprints`, scripts/footprints.ts), then reviewed like code.
 */
import { ModelError } from './errors.js';
import { structById, type Layout } from './layout.js';

export interface Footprint {
  readonly reads?: readonly string[];
  readonly writes?: readonly string[];
  /** Routine names, or `ops` for a call through an ops pointer. */
  readonly calls?: readonly string[];
  readonly blocks?: boolean;
  /** Starts another actor (`w.spawn` from a step). */
  readonly spawns?: boolean;
}

/** `routine:label` -> its footprint. */
export type FootprintTable = Readonly<Record<string, Footprint>>;

/** A footprint compiled against one layout: field keys (see `fieldKeyOf`) instead of names. */
export interface CompiledFootprint {
  readonly where: string;
  readonly declared: Footprint;
  readonly reads: ReadonlySet<number>;
  readonly writes: ReadonlySet<number>;
  readonly calls: ReadonlySet<string>;
}

/** Per slot of a layout: the key of the struct field it holds (struct id * 256 + field + 1), 0 for stacks and actor slots. */
export function slotFieldKeys(layout: Layout): Int32Array {
  const keys = new Int32Array(layout.size);
  for (const r of layout.regions) {
    for (let i = 0; i < r.count; i++) for (let k = 0; k < r.stride; k++) keys[r.base + i * r.stride + k] = r.def.id * 256 + k + 1;
  }
  return keys;
}

/**
 * The struct fields of a layout numbered densely (0, 1, … over its regions' fields): per slot its
 * field's number (-1 for stacks and actor slots), and per field key its number. The audit checks an
 * access against a step's footprint with one byte load (`accessMask`), not a Set lookup per access.
 */
export interface FieldIndex {
  readonly ofSlot: Int32Array;
  readonly ofKey: ReadonlyMap<number, number>;
  readonly count: number;
}

export function fieldIndex(layout: Layout): FieldIndex {
  const ofSlot = new Int32Array(layout.size).fill(-1);
  const ofKey = new Map<number, number>();
  let count = 0;
  for (const r of layout.regions) {
    for (let k = 0; k < r.stride; k++) {
      ofKey.set(r.def.id * 256 + k + 1, count);
      for (let i = 0; i < r.count; i++) ofSlot[r.base + i * r.stride + k] = count;
      count++;
    }
  }
  return { ofSlot, ofKey, count };
}

/** Bits of an `accessMask` entry. */
export const MAY_READ = 1;
export const MAY_WRITE = 2;

/** Per field number (`fieldIndex`): MAY_READ | MAY_WRITE as `fp` allows. */
export function accessMask(fp: CompiledFootprint, index: FieldIndex): Uint8Array {
  const mask = new Uint8Array(index.count);
  for (const key of fp.reads) {
    const f = index.ofKey.get(key);
    if (f !== undefined) mask[f] |= MAY_READ;
  }
  for (const key of fp.writes) {
    const f = index.ofKey.get(key);
    if (f !== undefined) mask[f] |= MAY_WRITE;
  }
  return mask;
}

/** `struct.field` of a field key. */
export function fieldName(key: number): string {
  const def = structById(Math.floor((key - 1) / 256));
  return def ? `${def.name}.${def.fields[(key - 1) % 256]}` : `?${key}`;
}

/** Compiles `fp` for `layout`; names of structs the layout lacks are ignored (a step may declare fields of optional layers). */
export function compileFootprint(layout: Layout, where: string, fp: Footprint): CompiledFootprint {
  const keysOf = (names: readonly string[] | undefined): Set<number> => {
    const out = new Set<number>();
    for (const n of names ?? []) {
      const [struct, field] = n.split('.');
      if (!struct || !field) throw new ModelError(`${where}: footprint entry "${n}" is not struct.field or struct.*`);
      const r = layout.regions.find((x) => x.def.name === struct);
      if (!r) continue;
      if (field === '*') for (let k = 0; k < r.def.fields.length; k++) out.add(r.def.id * 256 + k + 1);
      else {
        const k = r.def.fields.indexOf(field);
        if (k < 0) throw new ModelError(`${where}: footprint entry "${n}": struct ${struct} has no field ${field}`);
        out.add(r.def.id * 256 + k + 1);
      }
    }
    return out;
  };
  const writes = keysOf(fp.writes);
  const reads = keysOf(fp.reads);
  for (const k of writes) reads.add(k); // writing a field implies being allowed to read it
  // A field reached through others (StructDef.via) allows reading those.
  for (const k of [...reads]) {
    const def = structById(Math.floor(k / 256));
    const through = def?.via[def.fields[(k - 1) % 256]];
    for (const t of through ?? []) reads.add(def!.id * 256 + def!.fields.indexOf(t) + 1);
  }
  return { where, declared: fp, reads, writes, calls: new Set(fp.calls ?? []) };
}

/** What one step was seen to do (the recorder's unit); fields as field keys (`fieldNameOfKey` names them). */
export interface Observed {
  readonly reads: Set<number>;
  readonly writes: Set<number>;
  readonly calls: Set<string>;
  blocks: boolean;
  spawns: boolean;
}

/** Observed footprints by library name, then `routine:label`; filled while `w.recorder` is set. */
export type FootprintRecord = Map<string, Map<string, Observed>>;

export function observedOf(record: FootprintRecord, library: string, where: string): Observed {
  let lib = record.get(library);
  if (!lib) {
    lib = new Map();
    record.set(library, lib);
  }
  let o = lib.get(where);
  if (!o) {
    o = { reads: new Set(), writes: new Set(), calls: new Set(), blocks: false, spawns: false };
    lib.set(where, o);
  }
  return o;
}
